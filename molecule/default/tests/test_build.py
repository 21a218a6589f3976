"""A release built on the app servers from a git URL, the tutorial's way (issue: app releases done
right): the controller checks the release out of a git repository (here a file:// one made from
examples/polls), the app servers build the image from its tree with no network (their base image,
the app's dependencies alone, comes from the lab registry), and deploy.yml rolls it out. The site
ends on the release it started with.

On the grown second site (own_site.py), in the second lane (conftest.LANE_ORDER): a release built from git is the
same on any site, and there it runs beside the main sequence."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from conftest import PROJECT, changed_per_host, restore_release, run_playbook, server


pytestmark = pytest.mark.changes_lab

BUILT = "djangoops-built/polls:1.3.0"


@pytest.fixture()
def git_release(tmp_path):
    """A git repository holding the example app; its URL and the commit of branch main."""
    work = tmp_path / "polls"
    shutil.copytree(PROJECT / "examples" / "polls", work, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    git = ["git", "-C", str(work), "-c", "user.name=djangoops lab", "-c", "user.email=lab@djangoops.test"]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "Release 1.3.0"], check=True)
    commit = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    return f"file://{work}", commit


@pytest.fixture()
def back_to_the_inventory_release(site):
    yield
    restore_release(inventories=site.inventories)


def test_a_release_built_from_git_on_the_app_servers(site, site_client, git_release, back_to_the_inventory_release):
    url, commit = git_release
    build = {
        "django_app_image": BUILT,
        "django_app_build_repo": url,
        "django_app_build_args": {"BASE_IMAGE": f"{site.all_vars['lab_registry_address']}:5000/djangoops/polls-deps:1.0.0",
                                  "APP_VERSION": "1.3.0"},
        # Proves the build needs no package index: its RUN steps have no network at all.
        "django_app_build_network": "none",
    }
    for name in site.app_servers:  # a rerun of this check builds again
        server(name).run(f"docker rmi {BUILT}")
    run = run_playbook("playbooks/deploy.yml", "-e", json.dumps(build), inventories=site.inventories)
    assert run.returncode == 0, run.stdout[-5000:] + run.stderr
    assert f"{BUILT} built from {url} at {commit}" in " ".join(run.stdout.split()), run.stdout[-5000:]  # wrapped
    for name in site.app_servers:
        app = server(name)
        assert app.check_output("docker inspect --format '{{.Config.Image}}' polls") == BUILT
        labels = json.loads(app.check_output(f"docker image inspect --format '{{{{json .Config.Labels}}}}' {BUILT}"))
        assert labels["org.opencontainers.image.revision"] == commit, labels
        assert labels["org.opencontainers.image.source"] == url, labels
        # Nothing of the build is left on the server, and the build root is root's alone.
        root = app.file("/var/lib/djangoops/build")
        assert (root.is_directory, root.user, root.group, root.mode) == (True, "root", "root", 0o700), name
        assert app.check_output("find /var/lib/djangoops/build -mindepth 1 -maxdepth 1") == "", name
    # Every app server serves the built release through the proxy.
    served = {}
    for _attempt in range(6 * len(site.app_servers)):
        headers = site_client.curl(f"https://{site.domain}/polls/", "-o", "/dev/null", "-D", "-").stdout
        served[re.search(r"(?im)^x-served-by:\s*(\S+)", headers).group(1)] = re.search(r"(?im)^x-app-version:\s*(\S+)", headers).group(1)
    assert served == {name: "1.3.0" for name in site.app_servers}, served

    # The tag is there now: the next run neither checks out nor builds.
    again = run_playbook("playbooks/deploy.yml", "-e", json.dumps(build), inventories=site.inventories)
    assert again.returncode == 0, again.stdout[-5000:] + again.stderr
    assert f"{BUILT} built from" not in " ".join(again.stdout.split()), again.stdout[-5000:]
    changed = changed_per_host(again.stdout)
    assert {name: changed.get(name) for name in site.app_servers} == dict.fromkeys(site.app_servers, 0), again.stdout[-3000:]
