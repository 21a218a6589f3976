# Copyright: djangoops.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters acme_dns_problems, acme_proxy_endpoints and acme_challenge_problems: the certbot role's ACME preflight."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.collections import is_sequence

from ansible_collections.djangoops.fleet.plugins.module_utils import _acme_preflight


def acme_dns_problems(resolved, proxies, address_var="ansible_host"):
    """Problems that keep each certificate name from resolving only to proxies."""
    if not isinstance(resolved, dict) or not isinstance(proxies, dict):
        raise AnsibleFilterError("acme_dns_problems expects a dict of names to answers and a dict of proxies to addresses")
    answers = {name: value if is_sequence(value) else [value] for name, value in resolved.items()}
    return _acme_preflight.dns_problems(answers, proxies, address_var=address_var)


def acme_proxy_endpoints(proxies):
    """Each address of each proxy as {key: proxy, value: address}: the places the preflight fetches its
    token from (a dual-stack proxy twice, over IPv4 and IPv6)."""
    if not isinstance(proxies, dict):
        raise AnsibleFilterError("acme_proxy_endpoints expects a dict of proxies to an address or a list of addresses")
    return [{"key": host, "value": address} for host, value in proxies.items() for address in _acme_preflight.proxy_address_list(value)]


def _with_proxy_and_domain(result):
    """A uri result of the role's loop over (proxy, name) pairs, with both spelled out."""
    item = result.get("item")
    if "proxy" in result or not (is_sequence(item) and len(item) == 2 and isinstance(item[0], dict)):
        return result
    return dict(result, proxy=item[0].get("key"), domain=item[1])


def acme_challenge_problems(responses, token):
    """Problems with the HTTP answers for the preflight token."""
    if not is_sequence(responses) or not all(isinstance(response, dict) for response in responses):
        raise AnsibleFilterError("acme_challenge_problems expects the list of uri results")
    return _acme_preflight.challenge_problems([_with_proxy_and_domain(r) for r in responses], str(token))


class FilterModule:
    """Ansible filter plugin entry point."""

    def filters(self) -> dict:
        return {
            "acme_dns_problems": acme_dns_problems,
            "acme_proxy_endpoints": acme_proxy_endpoints,
            "acme_challenge_problems": acme_challenge_problems,
        }
