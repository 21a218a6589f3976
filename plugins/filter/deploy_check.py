# Copyright: djangoops.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter deploy_check_findings: Django's deployment checks of a release, judged (module_utils._deploy_check)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.djangoops.fleet.plugins.module_utils import _deploy_check


def deploy_check_findings(output, accepted=()):
    """Judge the output of roles/django_app/files/deploy_check.py against the accepted check ids."""
    try:
        return _deploy_check.judge(str(output), [str(item) for item in accepted or ()])
    except ValueError as error:
        raise AnsibleFilterError(str(error)) from error


class FilterModule:
    """Ansible filter plugin entry point."""

    def filters(self) -> dict:
        return {"deploy_check_findings": deploy_check_findings}
