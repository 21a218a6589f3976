#!/usr/bin/python
# Copyright (c) 2026, djangoops.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


DOCUMENTATION = r"""
module: nginx_upstream_drain
short_description: Take app servers out of a live Nginx upstream, and put them back
version_added: 0.2.0
description:
  - Runs on a proxy. Marks the C(server) lines of O(endpoints) C(down) in an upstream file written by
    M(djangoops.fleet.nginx_upstream) (O(state=drained)), or removes the mark (O(state=active)), and leaves every
    other line as it is. Reload Nginx afterwards; its old workers finish the requests in flight.
  - Used by rolling deploys, once per batch of app servers, on every proxy. The next full run of the nginx_proxy
    role renders the same file from the inventory again.
  - Refuses to drain when no server would be left to take traffic.
  - A missing file (no proxy configured yet) or an endpoint that is not in the file (a new app server) is not an
    error; they are reported in RV(missing).
author:
  - djangoops.fleet developers (@djangoops)
extends_documentation_fragment:
  - djangoops.fleet._attributes
  - djangoops.fleet._attributes.ACTIONGROUP_FLEET
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  idempotent:
    support: full
options:
  path:
    description: The upstream file Nginx reads (the nginx_proxy role's C(conf.d/upstream.conf) in its live directory).
    type: path
    required: true
  endpoints:
    description: The C(address:port) of each server, as in the upstream's C(server) lines.
    type: list
    elements: str
    required: true
  state:
    description: V(drained) marks the servers C(down); V(active) lets them take traffic again.
    type: str
    choices: [drained, active]
    default: drained
"""

EXAMPLES = r"""
- name: Take this batch out of every proxy's upstream
  djangoops.fleet.nginx_upstream_drain:
    path: /etc/djangoops/nginx/conf.d/upstream.conf
    endpoints: ["10.0.0.11:8000"]
    state: drained
  delegate_to: "{{ item }}"
  loop: "{{ groups['nginx_proxy'] }}"
  become: true
"""

RETURN = r"""
changed_endpoints:
  description: Endpoints whose line changed.
  returned: always
  type: list
  elements: str
  sample: ["10.0.0.11:8000"]
missing:
  description: Requested endpoints not found in the file (all of them when the file does not exist).
  returned: always
  type: list
  elements: str
  sample: []
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.djangoops.fleet.plugins.module_utils._upstream import UpstreamError, set_down


def run_module(module: AnsibleModule) -> dict:
    path, endpoints = module.params["path"], module.params["endpoints"]
    if not os.path.exists(path):
        return {"changed": False, "changed_endpoints": [], "missing": list(endpoints),
                "msg": "%s does not exist: nothing to drain" % path}
    with open(path, encoding="utf-8") as handle:
        before = handle.read()
    try:
        after, changed, missing = set_down(before, endpoints, down=module.params["state"] == "drained")
    except UpstreamError as error:
        module.fail_json(msg="%s: %s" % (path, error))
    result = {"changed": bool(changed), "changed_endpoints": changed, "missing": missing}
    if module._diff:
        result["diff"] = {"before_header": path, "after_header": path, "before": before, "after": after}
    if changed and not module.check_mode:
        directory = os.path.dirname(path) or "."
        temporary = os.path.join(directory, ".%s.djangoops-drain" % os.path.basename(path))
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(after)
        module.atomic_move(temporary, path)
    return result


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "endpoints": {"type": "list", "elements": "str", "required": True},
            "state": {"type": "str", "choices": ["drained", "active"], "default": "drained"},
        },
        supports_check_mode=True,
    )
    module.exit_json(**run_module(module))


if __name__ == "__main__":
    main()
