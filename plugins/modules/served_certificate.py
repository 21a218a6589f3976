#!/usr/bin/python
# Copyright (c) 2026, djangoops.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: served_certificate
short_description: Read the certificate a TLS server presents and warn when little of its lifetime is left
version_added: 0.4.0
author:
  - djangoops.fleet developers (@djangoops)
description:
  - Connects from the managed host to O(address) and O(port) with O(server_name) as SNI, reads the leaf certificate the
    server presents (without verifying it, so a staging, self-signed or expired certificate is read too) and returns its
    serial, issuer, validity and names, with the fraction of its lifetime left.
  - Warns when less than O(warn_below) of the lifetime is left, so a renewal that failed shows in every run of the
    playbooks long before the certificate expires.
  - With O(certificate), also tells whether the server presents the certificate of that file (after a reload, say).
options:
  server_name:
    description: The name sent as SNI, one of the certificate's names.
    type: str
    required: true
  address:
    description: Where the managed host reaches the TLS server.
    type: str
    default: 127.0.0.1
  port:
    description: The TLS port.
    type: int
    default: 443
  certificate:
    description: A PEM file on the managed host (a C(fullchain.pem)) whose first certificate is compared with the served one.
    type: path
  warn_below:
    description: Warn when less than this fraction of the served certificate's lifetime is left (0 to 1; V(0) never warns).
    type: float
    default: 0.2
  timeout:
    description: Seconds to wait for the connection and the handshake.
    type: float
    default: 10
extends_documentation_fragment:
  - djangoops.fleet._attributes
  - djangoops.fleet._attributes.ACTIONGROUP_FLEET
attributes:
  check_mode:
    support: full
    details: Only reads; the same connection is made in check mode.
  diff_mode:
    support: none
  idempotent:
    support: full
requirements:
  - The Python C(cryptography) library on the managed host.
"""

EXAMPLES = r"""
- name: Warn when a proxy serves a certificate close to expiry
  djangoops.fleet.served_certificate:
    server_name: www.example.com
    certificate: /etc/letsencrypt/live/www.example.com/fullchain.pem
    warn_below: 0.2
  register: served
"""

RETURN = r"""
serial:
  description: Serial number (hexadecimal) of the served certificate.
  returned: success
  type: str
  sample: 4a3f0c2d9e1b
issuer:
  description: Its issuer (RFC 4514).
  returned: success
  type: str
  sample: CN=R11,O=Let's Encrypt,C=US
not_before:
  description: Start of its validity, ISO 8601 in UTC.
  returned: success
  type: str
  sample: "2026-12-01T08:00:00+00:00"
not_after:
  description: Its expiry, ISO 8601 in UTC.
  returned: success
  type: str
  sample: "2027-01-15T07:59:59+00:00"
domains:
  description: Its DNS names, sorted.
  returned: success
  type: list
  elements: str
  sample: [www.example.com]
lifetime_left:
  description: Fraction of its lifetime left now (negative once expired).
  returned: success
  type: float
  sample: 0.7312
matches_certificate:
  description: Whether it is the first certificate of O(certificate); null without O(certificate).
  returned: success
  type: bool
  sample: true
"""

import datetime

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.djangoops.fleet.plugins.module_utils._certbot.lineage import (
    CRYPTOGRAPHY_IMPORT_ERROR,
    HAS_CRYPTOGRAPHY,
    read_certificate,
)
from ansible_collections.djangoops.fleet.plugins.module_utils._certbot.errors import CertificateReadError
from ansible_collections.djangoops.fleet.plugins.module_utils._certbot.served import (
    expiry_warning,
    presented_certificate,
    served_state,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            server_name=dict(type="str", required=True),
            address=dict(type="str", default="127.0.0.1"),
            port=dict(type="int", default=443),
            certificate=dict(type="path"),
            warn_below=dict(type="float", default=0.2),
            timeout=dict(type="float", default=10),
        ),
        supports_check_mode=True,
    )
    if not HAS_CRYPTOGRAPHY:
        module.fail_json(msg=missing_required_lib("cryptography"), exception=CRYPTOGRAPHY_IMPORT_ERROR)
    params = module.params
    if not 0 <= params["warn_below"] < 1:
        module.fail_json(msg="warn_below must be a fraction from 0 to 1, got %s" % params["warn_below"])
    where = "%s:%d (%s)" % (params["address"], params["port"], params["server_name"])
    try:
        der = presented_certificate(params["address"], params["port"], params["server_name"], timeout=params["timeout"])
    except (OSError, ValueError) as error:
        module.fail_json(msg="%s presented no certificate: %s" % (where, error))
    now = datetime.datetime.now(datetime.timezone.utc)
    state = served_state(der, now)
    result = dict(changed=False, matches_certificate=None, **state.view())
    if params["certificate"]:
        try:
            on_disk = read_certificate(params["certificate"])
        except CertificateReadError as error:
            module.fail_json(msg=str(error), **result)
        result["matches_certificate"] = on_disk.serial == state.certificate.serial and (
            on_disk.public_key_fingerprint == state.certificate.public_key_fingerprint)
    if params["warn_below"] > 0:
        warning = expiry_warning(state, where=where, warn_below=params["warn_below"], now=now)
        if warning:
            module.warn(warning)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
