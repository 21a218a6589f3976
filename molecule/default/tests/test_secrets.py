"""No secret is left on any server outside the app's 0600 env file."""

from __future__ import annotations

import pytest

from conftest import server_hosts


pytestmark = pytest.mark.readonly

testinfra_hosts = server_hosts("django_app") + server_hosts("nginx_proxy")


def test_no_secret_outside_the_env_file(host, lab):
    secrets = [lab.secret(name) for name in ("django_secret_key", "database_password", "admin_password")]
    # Search the places a careless role would leave them: configs, /tmp, home directories, cron.
    for secret in secrets:
        found = host.run(
            "grep -rlF -- %s /etc /tmp /home /root /var/spool/cron /usr/local 2>/dev/null", secret
        ).stdout.split()
        assert found in ([], ["/etc/djangoops/polls/env"]), found
