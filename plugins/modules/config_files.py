#!/usr/bin/python
# Copyright (c) 2026, djangoops.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


DOCUMENTATION = r"""
module: config_files
short_description: Write the files of a directory, and the directories they need, in one module run
version_added: 0.1.0
description:
  - Makes the directory O(path) hold O(files) (names relative to it, contents as given, typically rendered with
    the C(ansible.builtin.template) lookup), creating the directories they need and O(directories), and sets
    owner, group and modes. Files already holding the same content are left alone; each changed file is written
    through a temporary file in its directory and moved into place.
  - The roles write with it what would otherwise take a round trip per directory and per file
    (M(ansible.builtin.file) and M(ansible.builtin.template) or M(ansible.builtin.copy), which itself makes two when the
    file is current). The nginx_proxy role writes its candidate configuration with it, each role the local fact it
    publishes, and the django_app and certbot roles their directories with the CA bundles they are given.
  - Files in O(path) that O(files) does not name are left as they are.
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
    details:
      - One diff per changed file, with its old and new content (configuration and certificates, no secrets belong
        in it).
  idempotent:
    support: full
options:
  path:
    description: The directory (absolute).
    type: path
    required: true
  files:
    description:
      - File name relative to O(path) (in normal form, inside it) mapped to the file's content.
    type: dict
    required: true
  directories:
    description: Other directories (absolute) to create with the same owner, group and O(directory_mode).
    type: list
    elements: path
    default: []
  owner:
    description: Owner of the files and directories; unchanged when not set.
    type: str
  group:
    description: Group of the files and directories; unchanged when not set.
    type: str
  mode:
    description: Mode of the files.
    type: raw
    default: "0644"
  directory_mode:
    description: Mode of the directories.
    type: raw
    default: "0755"
"""

EXAMPLES = r"""
- name: Render the candidate configuration
  djangoops.fleet.config_files:
    path: /etc/djangoops/nginx.candidate
    files:
      nginx.conf: "{{ lookup('ansible.builtin.template', 'nginx.conf.j2') }}"
      conf.d/10-site.conf: "{{ lookup('ansible.builtin.template', 'conf.d/10-site.conf.j2') }}"
    directories: [/var/www/certbot]
    owner: root
    group: root
  become: true
"""

RETURN = r"""
changed_files:
  description: Names (relative to O(path)) of the files written, or that check mode would write.
  returned: always
  type: list
  elements: str
  sample: [conf.d/10-site.conf]
created_directories:
  description: Directories created, or that check mode would create.
  returned: always
  type: list
  elements: str
  sample: [/etc/djangoops/nginx.candidate, /etc/djangoops/nginx.candidate/conf.d]
"""

import os
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_text

from ansible_collections.djangoops.fleet.plugins.module_utils._config_files import (
    ConfigFilesError,
    changed_files,
    directories,
    missing_parents,
)


def _read(path: str) -> str | None:
    if not os.path.isfile(path):
        return None
    with open(path, "rb") as handle:
        return to_text(handle.read(), errors="surrogate_or_strict")


def _attributes(module: AnsibleModule, path: str, mode: object, changed: bool) -> bool:
    changed = module.set_owner_if_different(path, module.params["owner"], changed)
    changed = module.set_group_if_different(path, module.params["group"], changed)
    return module.set_mode_if_different(path, mode, changed)


def run_module(module: AnsibleModule) -> dict:
    root, files = module.params["path"], module.params["files"]
    if not os.path.isabs(root):
        module.fail_json(msg="path: %r is not an absolute path" % root)
    not_text = sorted(name for name, content in files.items() if not isinstance(content, str))
    if not_text:
        module.fail_json(msg="files: the content of %s is not text" % ", ".join(not_text))
    current: dict[str, str | None] = {}  # each file read once, for the comparison and the diff

    def read(path: str) -> str | None:
        if path not in current:
            current[path] = _read(path)
        return current[path]

    try:
        to_write = changed_files(root, files, read)
        needed = directories(root, files, module.params["directories"])
    except ConfigFilesError as error:
        module.fail_json(msg="files: %s" % error)
    created = []
    for directory in needed:
        created += [path for path in missing_parents(directory, os.path.exists) if path not in created]
    result = {"changed": bool(to_write or created), "changed_files": to_write, "created_directories": created}
    if module._diff:
        result["diff"] = [{"before_header": os.path.join(root, name), "after_header": os.path.join(root, name),
                           "before": read(os.path.join(root, name)) or "", "after": files[name]} for name in to_write]
    # Check mode writes nothing, but reports owner, group and modes that differ on what exists.
    changed = result["changed"]
    for directory in created:
        if not module.check_mode:
            os.mkdir(directory)
    for directory in dict.fromkeys(created + needed):
        if os.path.isdir(directory):
            changed = _attributes(module, directory, module.params["directory_mode"], changed)
    for name in sorted(files):
        path = os.path.join(root, name)
        if name in to_write and not module.check_mode:
            descriptor, temporary = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".djangoops-")
            try:
                with os.fdopen(descriptor, "wb") as handle:
                    handle.write(to_bytes(files[name]))
                module.atomic_move(temporary, path)
            finally:
                if os.path.exists(temporary):
                    os.unlink(temporary)
        if os.path.isfile(path):
            changed = _attributes(module, path, module.params["mode"], changed)
    result["changed"] = changed
    return result


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "files": {"type": "dict", "required": True},
            "directories": {"type": "list", "elements": "path", "default": []},
            "owner": {"type": "str"},
            "group": {"type": "str"},
            "mode": {"type": "raw", "default": "0644"},
            "directory_mode": {"type": "raw", "default": "0755"},
        },
        supports_check_mode=True,
    )
    module.exit_json(**run_module(module))


if __name__ == "__main__":
    main()
