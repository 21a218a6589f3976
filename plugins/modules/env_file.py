#!/usr/bin/python
# Copyright (c) 2026, djangoops.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


DOCUMENTATION = r"""
module: env_file
short_description: Write a Docker env file that holds secrets, with diffs that mask them
version_added: 0.2.0
description:
  - Writes O(values) and then O(secrets) as a Docker C(--env-file) (C(KEY=value) per line, taken literally) to
    O(path), atomically, with the given owner, group and mode (C(0600) by default).
  - O(secrets) are never logged and never returned. Diff mode shows every key and the values of O(values) in clear,
    and masks every secret; a secret that changed is marked C((changed)).
  - Refuses names Docker would not accept and values with a line break, naming the variable.
author:
  - djangoops.fleet developers (@djangoops)
extends_documentation_fragment:
  - djangoops.fleet._attributes
  - djangoops.fleet._attributes.ACTIONGROUP_FLEET
  - ansible.builtin.files
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - Keys, public values, and masks for the other values; never a secret.
  idempotent:
    support: full
options:
  path:
    description: The env file to write.
    type: path
    required: true
  values:
    description:
      - Variables that may be shown in diffs, in the order they are written. Booleans are written as C(True)/C(False).
    type: dict
    default: {}
  secrets:
    description:
      - Variables whose values are secret, written after O(values). Masked in diffs, never logged.
      - A key may not be in both O(values) and O(secrets).
    type: dict
    default: {}
  header:
    description: Comment lines written at the top of the file (each prefixed with C(#)).
    type: str
    default: ""
notes:
  - Without O(mode), the file is created with mode C(0600); a new file exists with that mode before any value is
    written, and the temporary file the values go through has it too.
"""

EXAMPLES = r"""
- name: Write the app's environment
  djangoops.fleet.env_file:
    path: /etc/djangoops/polls/env
    owner: root
    group: root
    values:
      DEBUG: false
      DJANGO_ALLOWED_HOSTS: www.example.com
    secrets:
      DJANGO_SECRET_KEY: "{{ vault_django_secret_key }}"
  become: true
"""

RETURN = r"""
written_keys:
  description: The variable names written, in order.
  returned: always
  type: list
  elements: str
  sample: [DEBUG, DJANGO_ALLOWED_HOSTS, DJANGO_SECRET_KEY]
changed_keys:
  description: Variables added, removed or changed by this run (names only).
  returned: always
  type: list
  elements: str
  sample: [DJANGO_SECRET_KEY]
fingerprint:
  description:
    - An HMAC-SHA256 of the file's content after the run (in check mode, of what it would hold), keyed with the
      values of O(secrets). It changes whenever the file does, so a task can tell whether the environment differs from
      the one something was last done with; unlike a plain checksum, it gives nothing to check a guessed secret
      against while one secret is strong.
  returned: always
  type: str
  sample: 9f2c4e0b7d1a...
"""

import hashlib
import hmac
import os
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_text

from ansible_collections.djangoops.fleet.plugins.module_utils._env_file import (
    EnvFileError,
    changed_keys,
    masked,
    normalize,
    parse,
    render,
)


def run_module(module: AnsibleModule) -> dict:
    path = module.params["path"]
    public, secret = module.params["values"], module.params["secrets"]
    both = sorted(set(public) & set(secret))
    if both:
        module.fail_json(msg="%s: %s in both values and secrets; each key belongs in one" % (path, ", ".join(both)))
    public_keys = set(public)
    try:
        values = normalize(dict(public, **secret))
    except EnvFileError as error:
        module.fail_json(msg="%s: %s" % (path, error))
    content = render(values, module.params["header"])

    before_text = None
    if os.path.exists(path):
        with open(path, "rb") as handle:
            before_text = to_text(handle.read(), errors="surrogate_or_strict")
    before = parse(before_text) if before_text is not None else {}
    changed_names = changed_keys(before, values)
    content_changed = before_text != content

    key = to_bytes("\n".join("%s=%s" % (name, values[name]) for name in sorted(secret)))
    fingerprint = hmac.new(key, to_bytes(content), hashlib.sha256).hexdigest()
    result = {"changed": False, "written_keys": list(values), "changed_keys": changed_names, "fingerprint": fingerprint}
    if module._diff:
        result["diff"] = {
            "before_header": path,
            "after_header": path,
            "before": masked(before, public_keys) if before_text is not None else "",
            "after": masked(values, public_keys, changed_names),
        }

    if content_changed:
        result["changed"] = True
        if not module.check_mode:
            directory = os.path.dirname(path) or "."
            if before_text is None:
                # atomic_move gives a new file the umask's mode (0644) until the mode is set below;
                # an empty 0600 file first makes it copy 0600 instead, before any secret is in it.
                os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
            descriptor, temporary = tempfile.mkstemp(dir=directory, prefix=".env-")  # mode 0600
            try:
                with os.fdopen(descriptor, "wb") as handle:
                    handle.write(to_bytes(content))
                module.atomic_move(temporary, path)
            finally:
                if os.path.exists(temporary):
                    os.unlink(temporary)

    file_args = module.load_file_common_arguments(module.params, path=path)
    if not module.check_mode or os.path.exists(path):
        result["changed"] = module.set_fs_attributes_if_different(file_args, result["changed"])
    return result


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "values": {"type": "dict", "default": {}},
            "secrets": {"type": "dict", "default": {}, "no_log": True},
            "header": {"type": "str", "default": ""},
        },
        add_file_common_args=True,
        supports_check_mode=True,
    )
    if module.params["mode"] is None:
        module.params["mode"] = "0600"
    module.exit_json(**run_module(module))


if __name__ == "__main__":
    main()
