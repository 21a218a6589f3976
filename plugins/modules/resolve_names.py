#!/usr/bin/python
# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: resolve_names
short_description: Resolve host names to addresses the way the managed host does
version_added: 0.3.0
author:
  - djangoops.fleet developers (@djangoops)
description:
  - Looks each name up with the managed host's own resolver (C(/etc/hosts), then its DNS servers), so names of a
    private zone that only the servers see resolve as the programs on the server would resolve them.
  - IP addresses and networks are returned as they are (normalized); nothing is looked up for them.
  - The roles use it where a name cannot stay a name (firewall rules, a published port, Gunicorn's
    C(FORWARDED_ALLOW_IPS)).
options:
  names:
    description: Host names, IP addresses or networks.
    type: list
    elements: str
    required: true
  family:
    description: Keep only the IPv4 or the IPv6 answers of a name (addresses given literally are kept).
    type: str
    choices: [any, ipv4, ipv6]
    default: any
  routable:
    description:
      - Drop loopback and link-local answers of a name (other hosts cannot reach them; Debian and cloud-init map a
        server's own name to C(127.0.1.1) in C(/etc/hosts)). A name left with no address does not resolve.
    type: bool
    default: false
  strict:
    description:
      - Fail when a name does not resolve. With V(false) the module succeeds and returns the names that did not
        resolve in RV(unresolved), for a caller that explains them in its own words.
    type: bool
    default: true
extends_documentation_fragment:
  - djangoops.fleet._attributes
  - djangoops.fleet._attributes.ACTIONGROUP_FLEET
attributes:
  check_mode:
    support: full
    details: Only reads; the same lookups run in check mode.
  diff_mode:
    support: none
  idempotent:
    support: full
notes:
  - A name resolves to what the host's resolver answers at the time of the run; a later DNS change needs a new run
    where its address was written into a rule.
"""

EXAMPLES = r"""
- name: Resolve the proxies' private names on the app server
  djangoops.fleet.resolve_names:
    names: [proxy1.internal, proxy2.internal, 10.0.0.7]
  register: proxy_addresses

- name: Allow each of their addresses
  community.general.ufw:
    rule: allow
    from_ip: "{{ item }}"
  loop: "{{ proxy_addresses.all_addresses }}"
"""

RETURN = r"""
addresses:
  description: Each name (as given, trimmed) mapped to its addresses, in the resolver's order.
  returned: always
  type: dict
  sample: {"proxy1.internal": ["10.0.0.10"], "10.0.0.7": ["10.0.0.7"]}
all_addresses:
  description: Every address of every name, each once, in the order of O(names).
  returned: always
  type: list
  elements: str
  sample: ["10.0.0.10", "10.0.0.7"]
unresolved:
  description: Each name that did not resolve mapped to the resolver's reason.
  returned: always
  type: dict
  sample: {"proxy3.internal": "Name or service not known"}
"""

import platform

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.djangoops.fleet.plugins.module_utils import _resolve


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            names=dict(type="list", elements="str", required=True),
            family=dict(type="str", choices=list(_resolve.FAMILIES), default="any"),
            routable=dict(type="bool", default=False),
            strict=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    addresses, unresolved = _resolve.resolve(module.params["names"], family=module.params["family"],
                                             routable=module.params["routable"])
    flat: list[str] = []
    for found in addresses.values():
        flat.extend(address for address in found if address not in flat)
    result = dict(changed=False, addresses=addresses, all_addresses=flat, unresolved=unresolved)
    if unresolved and module.params["strict"]:
        module.fail_json(msg=_resolve.describe_unresolved(unresolved, platform.node() or "this host"), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
