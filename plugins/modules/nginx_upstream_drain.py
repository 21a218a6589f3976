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
  - Runs on a proxy. Marks the C(server) lines of O(hosts) C(down) in an upstream file written by
    M(djangoops.fleet.nginx_upstream) (O(state=drained)), or removes the mark (O(state=active)), and leaves every
    other line as it is. Reload Nginx afterwards; its old workers finish the requests in flight.
  - Lines are found by the inventory host name M(djangoops.fleet.nginx_upstream) writes after each one, so the
    proxies' own address variable and port decide which line is whose, not the app servers' idea of their address.
  - Used by rolling deploys, once per batch of app servers, on every proxy. The next full run of the nginx_proxy
    role renders the same file from the inventory again.
  - A missing file (no proxy configured yet) or a host with no line in it (a new app server, which this proxy sends
    no traffic) is not an error; they are reported in RV(missing). A file whose lines name no host (written by
    something else) is an error.
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
  hosts:
    description: Inventory names of the app servers, as in the comments of the upstream's C(server) lines.
    type: list
    elements: str
    required: true
  state:
    description: V(drained) marks the servers C(down); V(active) lets them take traffic again.
    type: str
    choices: [drained, active]
    default: drained
  port:
    description:
      - Also point the lines of O(hosts) at this port of the same address. A rollout whose servers no other
        server can stand in for (one app server) sends them to a standby container on a second port while the
        main container is replaced, then back (both with O(state=active)).
      - Unset, the port of each line is kept.
    type: int
    version_added: 0.4.0
  if_none_left:
    description:
      - What to do when draining O(hosts) would leave no server (but backups) taking traffic.
      - V(fail) refuses with an error; V(skip) changes nothing and returns RV(none_left=true), for callers that
        then replace a lone server in place.
    type: str
    choices: [fail, skip]
    default: fail
  reload_container:
    description:
      - The Docker container of the Nginx that reads O(path). When set, and the file changed, Nginx there is told to
        reload (C(docker exec <container> nginx -c <reload_config> -s reload)) in the same module run, so a rolling
        deploy's batch costs one round trip per proxy instead of two. Needs the C(docker) command on the proxy.
      - A reload that fails fails the module, with the file already changed, and says so.
    type: str
    version_added: 0.1.0
  reload_config:
    description: The main configuration file, inside the container, that Nginx is reloaded with.
    type: str
    default: /etc/nginx/nginx.conf
"""

EXAMPLES = r"""
- name: Take this batch out of every proxy's upstream
  djangoops.fleet.nginx_upstream_drain:
    path: /etc/djangoops/nginx/conf.d/upstream.conf
    hosts: [app1]
    state: drained
  delegate_to: "{{ item }}"
  loop: "{{ groups['nginx_proxy'] }}"
  become: true
"""

RETURN = r"""
changed_hosts:
  description: Hosts whose line changed.
  returned: always
  type: list
  elements: str
  sample: [app1]
missing:
  description: Requested hosts with no line in the file (all of them when the file does not exist).
  returned: always
  type: list
  elements: str
  sample: []
none_left:
  description: True when O(if_none_left=skip) left the file as it was because no server would have been left.
  returned: always
  type: bool
  sample: false
reloaded:
  description: True when O(reload_container) was reloaded because the file changed.
  returned: always
  type: bool
  sample: true
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.djangoops.fleet.plugins.module_utils._upstream import UpstreamError, reload_argv, set_down


def run_module(module: AnsibleModule) -> dict:
    path, hosts = module.params["path"], module.params["hosts"]
    if not os.path.exists(path):
        return {"changed": False, "changed_hosts": [], "missing": list(hosts), "none_left": False, "reloaded": False,
                "msg": "%s does not exist: nothing to drain" % path}
    with open(path, encoding="utf-8") as handle:
        before = handle.read()
    try:
        drain = set_down(before, hosts, down=module.params["state"] == "drained", if_none_left=module.params["if_none_left"],
                         port=module.params["port"])
    except UpstreamError as error:
        module.fail_json(msg="%s: %s" % (path, error))
    result = {"changed": bool(drain.changed), "changed_hosts": drain.changed, "missing": drain.missing,
              "none_left": drain.none_left}
    if module._diff:
        result["diff"] = {"before_header": path, "after_header": path, "before": before, "after": drain.text}
    result["reloaded"] = False
    if drain.changed and not module.check_mode:
        directory = os.path.dirname(path) or "."
        temporary = os.path.join(directory, ".%s.djangoops-drain" % os.path.basename(path))
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(drain.text)
        module.atomic_move(temporary, path)
        container = module.params["reload_container"]
        if container:
            try:
                argv = reload_argv(module.get_bin_path("docker", required=True), container, module.params["reload_config"])
            except ValueError as error:
                module.fail_json(msg="reload_container: %s" % error, **result)
            rc, out, err = module.run_command(argv)
            if rc != 0:
                module.fail_json(msg="%s changed (%s), but reloading Nginx in container %s failed (exit %d): %s"
                                 % (path, ", ".join(drain.changed), container, rc, (err or out).strip()), **result)
            result["reloaded"] = True
    return result


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "hosts": {"type": "list", "elements": "str", "required": True},
            "state": {"type": "str", "choices": ["drained", "active"], "default": "drained"},
            "if_none_left": {"type": "str", "choices": ["fail", "skip"], "default": "fail"},
            "port": {"type": "int"},
            "reload_container": {"type": "str"},
            "reload_config": {"type": "str", "default": "/etc/nginx/nginx.conf"},
        },
        supports_check_mode=True,
    )
    module.exit_json(**run_module(module))


if __name__ == "__main__":
    main()
