#!/usr/bin/python
# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# The work is done by the action plugin of the same name on the controller, because the input
# (groups and hostvars of other hosts) only exists there. This file carries the documentation
# and a main() that refuses to run on a target.

from __future__ import annotations


DOCUMENTATION = r"""
---
module: nginx_upstream
short_description: Write an nginx upstream block listing the app servers of inventory groups
version_added: 0.1.0
description:
  - Renders an nginx C(upstream NAME { ... }) block on the controller from the hosts of one or more
    inventory groups and writes it to O(dest) on the target, like M(ansible.builtin.template).
  - Each host becomes one C(server ADDRESS:PORT ...;) line. The address comes from the host variable
    named by O(address_var), falling back to C(ansible_host). IPv6 addresses are bracketed.
  - Hosts are sorted by inventory name and a host in several of the groups appears once, so the
    file only changes when the fleet does.
  - The hosts of the groups are not contacted; only their inventory variables are read.
  - The file is written by M(ansible.builtin.copy), which provides check mode, diff mode and the
    file attributes options.
author:
  - djangoops.fleet developers (@djangoops)
extends_documentation_fragment:
  - djangoops.fleet._attributes
  - djangoops.fleet._attributes.CONTROLLER_RENDERED_FILE
  - djangoops.fleet._attributes.ACTIONGROUP_FLEET
attributes:
  diff_mode:
    details:
      - The diff shows the old and the new upstream block.
options:
  name:
    description:
      - Name of the upstream, as used by C(proxy_pass http://NAME;).
      - Letters, digits, V(_), V(.) and V(-) only.
    type: str
    default: django
  groups:
    description:
      - Inventory groups whose hosts are the app servers.
      - Every group must exist and have at least one host.
    type: list
    elements: str
    default: [django_app]
  port:
    description:
      - Port the app servers listen on (1 to 65535), the same for every host.
    type: int
    default: 8000
  address_var:
    description:
      - Host variable holding the address nginx connects to, for example a private network address.
      - When a host does not set it, C(ansible_host) is used; a host with neither fails the task.
      - The value must be an IPv4 address, an IPv6 address (written without brackets) or a host name.
    type: str
    default: private_address
  weight_var:
    description:
      - Host variable holding the nginx C(weight) of the host, a positive integer.
      - Hosts that do not set it get weight 1, which is left out of the C(server) line.
    type: str
    default: nginx_upstream_weight
  drain:
    description:
      - Hosts to mark C(down), so nginx sends them no new requests (for maintenance or a rolling deploy).
      - Each must be a host of O(groups). At least one host must stay a primary server.
    type: list
    elements: str
    default: []
  backup:
    description:
      - Hosts to mark C(backup), so nginx only uses them when every primary server is unavailable.
      - Each must be a host of O(groups) and not also in O(drain).
    type: list
    elements: str
    default: []
  max_fails:
    description:
      - The C(max_fails) of every server; V(0) disables failure accounting.
    type: int
    default: 3
  fail_timeout:
    description:
      - The C(fail_timeout) of every server, in seconds.
    type: int
    default: 10
  keepalive:
    description:
      - Idle keep-alive connections to the app servers kept open by each nginx worker.
      - V(0) leaves the C(keepalive) directive out.
    type: int
    default: 32
  dest:
    description:
      - Path of the file to write on the target, for example C(/etc/nginx/conf.d/upstream.conf).
    type: path
    required: true
  mode:
    description:
      - Permissions of O(dest), as for M(ansible.builtin.copy).
    type: raw
    default: '0644'
  owner:
    description:
      - Owner of O(dest), as for M(ansible.builtin.copy).
    type: str
  group:
    description:
      - Group of O(dest), as for M(ansible.builtin.copy).
      - Not to be confused with O(groups), the inventory groups.
    type: str
  backup_file:
    description:
      - Keep a timestamped copy of O(dest) before replacing it (the C(backup) option of M(ansible.builtin.copy)).
      - Named so to keep it apart from O(backup), the backup servers.
    type: bool
    default: false
notes:
  - Test the new configuration (C(nginx -t)) in a handler before reloading nginx.
seealso:
  - module: ansible.builtin.copy
  - name: nginx upstream module
    description: The directives this module writes.
    link: https://nginx.org/en/docs/http/ngx_http_upstream_module.html
"""

EXAMPLES = r"""
- name: Ensure nginx balances over every app server of django_app
  djangoops.fleet.nginx_upstream:
    dest: /etc/nginx/conf.d/upstream.conf
  notify: Test and reload nginx

- name: Ensure app2 is drained before it is redeployed
  djangoops.fleet.nginx_upstream:
    name: django
    groups:
      - django_app
      - django_app_canary
    port: 8000
    address_var: private_address
    drain:
      - app2.example.com
    backup:
      - app9.example.com
    keepalive: 16
    dest: /etc/nginx/conf.d/upstream.conf
    owner: root
    group: root
    mode: '0644'
    backup_file: true
  notify: Test and reload nginx
"""

RETURN = r"""
upstream:
  description: The rendered upstream block, as written to O(dest).
  returned: success
  type: str
  sample: |
    # Managed by Ansible (djangoops.fleet.nginx_upstream): do not edit.
    upstream django {
        zone upstream_django 64k;
        server 10.0.0.11:8000 max_fails=3 fail_timeout=10s;
        server [2001:db8::12]:8000 weight=2 max_fails=3 fail_timeout=10s;
        keepalive 32;
    }
servers:
  description: The servers of the block, sorted by host name.
  returned: success
  type: list
  elements: dict
  contains:
    host:
      description: Inventory name of the host.
      type: str
      returned: success
      sample: app1.example.com
    address:
      description: Address nginx connects to, IPv6 without brackets.
      type: str
      returned: success
      sample: 10.0.0.11
    port:
      description: Port nginx connects to.
      type: int
      returned: success
      sample: 8000
    weight:
      description: Weight of the server.
      type: int
      returned: success
      sample: 1
    down:
      description: Whether the server is drained (in O(drain)).
      type: bool
      returned: success
      sample: false
    backup:
      description: Whether the server is a backup server (in O(backup)).
      type: bool
      returned: success
      sample: false
    max_fails:
      description: The C(max_fails) of the server.
      type: int
      returned: success
      sample: 3
    fail_timeout:
      description: The C(fail_timeout) of the server, in seconds.
      type: int
      returned: success
      sample: 10
dest:
  description: Path of the written file.
  returned: success
  type: str
  sample: /etc/nginx/conf.d/upstream.conf
backup_file:
  description: Path of the copy of the old file, when O(backup_file=true) and the file changed.
  returned: changed and O(backup_file=true)
  type: str
  sample: /etc/nginx/conf.d/upstream.conf.12345.2025-01-01@00:00:00~
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.djangoops.fleet.plugins.module_utils._upstream import argument_spec


def main() -> None:
    # Reached only when the action plugin is bypassed (e.g. the module file is run by hand).
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    module.fail_json(
        msg="djangoops.fleet.nginx_upstream must run as an action plugin on the controller: "
        "call it as a task with its fully qualified name"
    )


if __name__ == "__main__":
    main()
