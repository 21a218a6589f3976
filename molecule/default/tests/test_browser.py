"""The site as a person uses it, in a real browser (issue: app releases done right): headless
Chromium from Debian's packages on the lab client logs in to the admin, whose pages are styled by
the stylesheets and scripts the S3 server serves over HTTPS, adds a poll there and votes in it on
the public pages. The screenshots are kept as test artefacts in $DJANGOOPS_ARTIFACTS_DIR/browser
(default .cache/artifacts/browser)."""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import time

import pytest

from conftest import PROJECT, psql


pytestmark = pytest.mark.changes_lab

ARTIFACTS = pathlib.Path(os.environ.get("DJANGOOPS_ARTIFACTS_DIR", PROJECT / ".cache" / "artifacts")) / "browser"
CLIENT = "djangoops-lab-client"
OUT = "/tmp/djangoops-browser"
# Django's admin stylesheet (base.css) sets this custom property; without the sheet it is empty.
ADMIN_PRIMARY = "#79aec8"
# examples/polls/polls/static/polls/style.css: body { background: #f6f8f5 }
POLLS_BACKGROUND = "rgb(246, 248, 245)"


QUESTION_PREFIX = "Browser check "


@pytest.fixture()
def browser_polls_removed():
    """Afterwards the polls this check created through the admin, and their votes, are gone."""
    yield
    questions = f"SELECT id FROM polls_question WHERE question_text LIKE '{QUESTION_PREFIX}%'"
    psql(f"DELETE FROM polls_choice WHERE question_id IN ({questions}); DELETE FROM polls_question WHERE id IN ({questions})")


def test_admin_login_styles_from_s3_and_a_vote_in_chromium(lab, browser_polls_removed):
    question = f"{QUESTION_PREFIX}{time.strftime('%Y-%m-%d %H:%M:%S')}"
    script = PROJECT / "tests" / "lab" / "files" / "browser.py"
    subprocess.run(["docker", "cp", str(script), f"{CLIENT}:/tmp/djangoops-browser.py"], check=True)
    run = subprocess.run(
        ["docker", "exec", "-i", CLIENT, "python3", "/tmp/djangoops-browser.py", "--name", lab.domain,
         "--proxy", lab.proxy_public, "--trust", "/lab/pki/pebble-production-root.pem", "--trust", "/lab/pki/lab-ca.pem",
         "--allow", lab.all_vars["lab_s3_public_address"], "--username", lab.all_vars.get("django_app_admin_username", "admin"),
         "--question", question, "--out", OUT],
        input=lab.secret("admin_password") + "\n", capture_output=True, text=True, timeout=300, check=False,
    )
    # Keep the screenshots whatever happened: a failure's last screenshot shows the page it stopped on.
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    subprocess.run(["docker", "cp", f"{CLIENT}:{OUT}/.", str(ARTIFACTS)], check=False)
    assert run.stdout.strip(), run.stderr[-3000:]
    report = json.loads(run.stdout.strip().splitlines()[-1])
    print(f"Chromium {report.get('browser')} in {report.get('seconds')} s; screenshots in {ARTIFACTS}: {report['screenshots']}")
    assert run.returncode == 0, f"{report.get('error')}\n{run.stderr[-3000:]}"

    static = f"{lab.s3_endpoint}/polls-static/static/"
    assert static.startswith("https://")
    assert report["admin_stylesheet"] == static + "admin/css/base.css", report
    assert report["admin_primary_color"] == ADMIN_PRIMARY, report
    assert report["polls_stylesheet"] == static + "polls/style.css", report
    assert report["polls_background"] == POLLS_BACKGROUND, report
    assert report["logged_in_at"] == f"https://{lab.domain}/admin/", report
    assert "was added successfully" in report["admin_message"], report
    assert report["results"][:2] == ["Yes -- 1 vote", "No -- 0 votes"], report

    # The vote reached the database.
    votes = psql("SELECT c.choice_text, c.votes FROM polls_choice c JOIN polls_question q ON q.id = c.question_id"
                 f" WHERE q.question_text = '{question}' ORDER BY c.id")
    assert votes.splitlines() == ["Yes|1", "No|0"], votes
    # The browser went to this poll's own pages, by their exact URLs.
    poll_id = psql(f"SELECT id FROM polls_question WHERE question_text = '{question}'")
    assert report["poll_url"] == f"https://{lab.domain}/polls/{poll_id}/", report
    assert report["results_url"] == f"https://{lab.domain}/polls/{poll_id}/results/", report
    # The secret the browser typed is in no screenshot name, report or output.
    assert lab.secret("admin_password") not in run.stdout + run.stderr

    screenshots = sorted(ARTIFACTS.glob("*.png"))
    assert [path.name for path in screenshots] == report["screenshots"] and len(screenshots) == 6, screenshots
    for path in screenshots:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000, path
