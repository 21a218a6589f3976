#!/usr/bin/python
# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: acme_dns_preflight
short_description: Prove that DNS-01 challenges can be published by RFC 2136 and are seen, before any ACME order
version_added: 0.4.0
author:
  - djangoops.fleet developers (@djangoops)
description:
  - For each ACME challenge name of O(domains) (C(_acme-challenge.<name>); a wildcard shares its base name's), finds
    the zone the O(server) is authoritative for, adds one random TXT value there by a TSIG-signed RFC 2136 update
    (as Certbot's C(dns-rfc2136) plugin will), waits until O(nameservers) answer it, and deletes that value again.
  - Only that value is ever deleted, so a challenge being answered at the same name meanwhile is left alone.
  - The certbot role runs it on the controller before a DNS-01 order, so a wrong key, a zone that refuses the
    update or secondaries that lag cost no ACME request and no rate limit.
  - Requires C(dnspython) where it runs.
options:
  domains:
    description: The names the certificate will hold; wildcards (C(*.example.com)) included.
    type: list
    elements: str
    required: true
  server:
    description: The IP address of the DNS server that takes the updates (the zone's primary).
    type: str
    required: true
  port:
    description: Its port.
    type: int
    default: 53
  key_name:
    description: The TSIG key's name, as the server knows it (for example C(certbot.)).
    type: str
    required: true
  key_secret:
    description: The TSIG key's secret, base64.
    type: str
    required: true
  key_algorithm:
    description: The TSIG key's algorithm.
    type: str
    choices: [HMAC-SHA1, HMAC-SHA224, HMAC-SHA256, HMAC-SHA384, HMAC-SHA512]
    default: HMAC-SHA512
  nameservers:
    description:
      - Addresses of the DNS servers asked whether the record is seen, as the CA's resolver will ask; empty for the
        resolver of the host the module runs on.
    type: list
    elements: str
    default: []
  nameserver_port:
    description: The port of O(nameservers).
    type: int
    default: 53
  wait:
    description: Seconds the record may take to be seen (Certbot waits its propagation seconds before the CA asks).
    type: float
    default: 60
extends_documentation_fragment:
  - djangoops.fleet._attributes
  - djangoops.fleet._attributes.ACTIONGROUP_FLEET
attributes:
  check_mode:
    support: full
    details: Only the zones are looked up; no update is sent.
  diff_mode:
    support: none
  idempotent:
    support: full
    details: Each run adds and removes its own value; the zone is left as it was.
requirements:
  - dnspython
seealso:
  - name: Certbot's RFC 2136 plugin
    description: The credentials this module is given the same values of.
    link: https://certbot-dns-rfc2136.readthedocs.io/
  - module: community.general.nsupdate
"""

EXAMPLES = r"""
- name: Prove the challenge records can be published before ordering a wildcard certificate
  djangoops.fleet.acme_dns_preflight:
    domains: [shop.example.com, "*.shop.example.com"]
    server: 192.0.2.53
    key_name: certbot.
    key_secret: "{{ vault_tsig_secret }}"
    key_algorithm: HMAC-SHA512
  delegate_to: localhost
"""

RETURN = r"""
names:
  description: Each challenge name, its zone, and (unless in check mode) after how many seconds the record was seen.
  returned: success
  type: list
  elements: dict
  sample:
    - name: _acme-challenge.shop.example.com.
      zone: example.com.
      seen_after: 0.0
      removed: true
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.djangoops.fleet.plugins.module_utils._certbot import dns_preflight


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            domains=dict(type="list", elements="str", required=True),
            server=dict(type="str", required=True),
            port=dict(type="int", default=53),
            key_name=dict(type="str", required=True, no_log=False),
            key_secret=dict(type="str", required=True, no_log=True),
            key_algorithm=dict(type="str", choices=list(dns_preflight.ALGORITHMS), default="HMAC-SHA512"),
            nameservers=dict(type="list", elements="str", default=[]),
            nameserver_port=dict(type="int", default=53),
            wait=dict(type="float", default=60),
        ),
        supports_check_mode=True,
    )
    if not dns_preflight.HAS_DNSPYTHON:
        module.fail_json(msg=missing_required_lib("dnspython"))
    params = module.params
    server = dns_preflight.Server(params["server"], params["port"], params["key_name"], params["key_secret"],
                                  params["key_algorithm"])
    try:
        outcome = dns_preflight.run_preflight(
            params["domains"], server,
            lookup=dns_preflight.resolver_lookup(params["nameservers"], params["nameserver_port"]),
            wait=params["wait"], check_mode=module.check_mode,
        )
    except dns_preflight.PreflightError as error:
        module.fail_json(msg=str(error))
    module.exit_json(changed=False, names=[vars(name) for name in outcome.names])


if __name__ == "__main__":
    main()
