"""On a converged lab: a check-mode diff run predicts no change, and no run, even at -vvvv, prints
a secret."""

from __future__ import annotations

import re

import pytest

from conftest import run_playbook


pytestmark = pytest.mark.readonly

SECRETS = ("django_secret_key", "database_password", "admin_password", "s3_secret_key")


def _changed_per_host(output: str) -> dict[str, int]:
    return {host: int(changed) for host, changed in re.findall(r"^(\S+)\s+: ok=\d+\s+changed=(\d+)", output, re.M)}


@pytest.mark.parametrize("mode", [["--check", "--diff"], ["-vvvv"]], ids=["check-diff", "vvvv"])
def test_converged_run_changes_nothing_and_prints_no_secret(lab, mode):
    run = run_playbook("playbooks/site.yml", *mode)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-5000:]
    changed = _changed_per_host(run.stdout)
    assert set(changed) >= {"app1", "app2", "proxy1"}, changed
    assert all(count == 0 for count in changed.values()), changed
    leaked = [name for name in SECRETS if lab.secret(name) in output]
    assert leaked == [], f"secrets in the output: {leaked}"
