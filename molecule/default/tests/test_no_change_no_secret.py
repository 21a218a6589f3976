"""On a converged lab: a check-mode diff run predicts no change, a second real run changes nothing, and
neither, even at -vvvv, prints a secret."""

from __future__ import annotations

import pytest

from conftest import changed_per_host, run_playbook


pytestmark = pytest.mark.readonly

SECRETS = ("django_secret_key", "database_password", "admin_password", "s3_secret_key", "registry_password", "become_password")


def _changes_nothing_and_prints_no_secret(lab, returncode: int, output: str, changed: dict[str, int]) -> None:
    assert returncode == 0, output[-5000:]
    assert set(changed) >= {"app1", "app2", "proxy1"}, changed
    assert all(count == 0 for count in changed.values()), changed
    leaked = [name for name in SECRETS if lab.secret(name) in output]
    assert leaked == [], f"secrets in the output: {leaked}"


def test_a_check_mode_diff_run_predicts_no_change_and_prints_no_secret(lab):
    run = run_playbook("playbooks/site.yml", "--check", "--diff")
    _changes_nothing_and_prints_no_secret(lab, run.returncode, run.stdout + run.stderr, changed_per_host(run.stdout))


def test_a_second_run_at_vvvv_changes_nothing_and_prints_no_secret(lab, second_run):
    _changes_nothing_and_prints_no_secret(lab, second_run.returncode, second_run.output, second_run.changed)
