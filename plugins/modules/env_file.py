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
  - With O(secret_files), each secret goes to a file of its own instead, C(O(secret_files_dir)/KEY) (its value, no
    trailing newline; owner O(owner), group O(secret_files_group), mode C(0440), in a directory of mode C(0750)), and
    the env file holds C(KEY_FILE=O(secret_files_path)/KEY), where the containers see that directory mounted. The
    environment, which anyone allowed to inspect a container reads, then holds paths, no secret. Files of secrets
    no longer given are removed. Without O(secret_files), a O(secret_files_dir) that exists is removed, once the env
    file holds the values again.
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
  secret_files:
    description:
      - Write each of O(secrets) to a file of its own in O(secret_files_dir), and C(KEY_FILE=<path>) to the env file.
      - The app must read C(KEY_FILE) (the file's content, the value); one that reads only its environment loses the
        secrets.
    type: bool
    default: false
    version_added: 0.5.0
  secret_files_dir:
    description:
      - The directory of the secret files on the host. With O(secret_files) false, it is removed when it exists (after
        the env file is written with the values).
      - Required with O(secret_files).
    type: path
    version_added: 0.5.0
  secret_files_path:
    description:
      - Where the containers see O(secret_files_dir) (its mount point), an absolute path without spaces; the env file's
        C(KEY_FILE) values are below it. Required with O(secret_files).
    type: str
    version_added: 0.5.0
  secret_files_group:
    description:
      - The group (numeric) of the secrets directory and files, which may read them; the primary group the app's
        processes run with. Required with O(secret_files).
    type: int
    version_added: 0.5.0
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

- name: Write the app's environment, its secrets as files the app's group (10001) reads
  djangoops.fleet.env_file:
    path: /etc/djangoops/polls/env
    owner: root
    group: root
    values:
      DEBUG: false
    secrets:
      DJANGO_SECRET_KEY: "{{ vault_django_secret_key }}"
    secret_files: true
    secret_files_dir: /etc/djangoops/polls/secrets
    secret_files_path: /run/secrets/polls
    secret_files_group: 10001
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
    - Keyed with the secrets, it changes with a secret's value with O(secret_files) too, where the env file holds only
      the files' paths.
  returned: always
  type: str
  sample: 9f2c4e0b7d1a...
secret_files:
  description: The secret files written with O(secret_files) (their paths on the host); empty without.
  returned: always
  type: list
  elements: str
  sample: [/etc/djangoops/polls/secrets/DJANGO_SECRET_KEY]
"""

import hashlib
import hmac
import os
import tempfile
import typing as t

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_text

from ansible_collections.djangoops.fleet.plugins.module_utils._env_file import (
    EnvFileError,
    SecretDirectory,
    changed_keys,
    file_settings,
    masked,
    masked_files,
    normalize,
    owner_uid,
    parse,
    read_secret_directory,
    remove_secret_directory,
    render,
    secret_file_changes,
    wanted_secret_directory,
    write_secret_directory,
)


def _secret_files_plan(params: dict, secret: dict) -> tuple[SecretDirectory | None, SecretDirectory | None]:
    """The secrets directory as found and as it is to be (None: absent); both None when no directory is managed."""
    directory = params["secret_files_dir"]
    if directory is None:
        return None, None
    found = read_secret_directory(directory)
    if not params["secret_files"]:
        return found, None
    return found, wanted_secret_directory(secret, uid=owner_uid(params["owner"]), gid=params["secret_files_group"])


def run_module(module: AnsibleModule) -> dict:
    params = module.params
    path = params["path"]
    public, secret = params["values"], params["secrets"]
    both = sorted(set(public) & set(secret))
    if both:
        module.fail_json(msg="%s: %s in both values and secrets; each key belongs in one" % (path, ", ".join(both)))
    public_keys = set(public)
    try:
        values = normalize(dict(public, **secret))
        secret_values = {key: values[key] for key in secret}
        if params["secret_files"]:
            # The env file names where each secret is; the values go to the files only.
            paths = file_settings(secret_values, params["secret_files_path"], values)
            values = dict(normalize(public), **paths)
            public_keys |= set(paths)
        found, wanted = _secret_files_plan(params, secret_values)
    except EnvFileError as error:
        module.fail_json(msg="%s: %s" % (path, error))
    content = render(values, params["header"])

    before_text = None
    if os.path.exists(path):
        with open(path, "rb") as handle:
            before_text = to_text(handle.read(), errors="surrogate_or_strict")
    before = parse(before_text) if before_text is not None else {}
    changed_names = changed_keys(before, values)
    content_changed = before_text != content
    file_changes = secret_file_changes(found, wanted) if params["secret_files_dir"] else []
    changed_names += [name for name in file_changes if name in secret and name not in changed_names]

    # Keyed with the secrets: a changed secret changes it, whether the secret is in the file or in a secret file.
    key = to_bytes("\n".join("%s=%s" % (name, secret_values[name]) for name in sorted(secret)))
    fingerprint = hmac.new(key, to_bytes(content), hashlib.sha256).hexdigest()
    result = {"changed": False, "written_keys": list(values), "changed_keys": changed_names, "fingerprint": fingerprint,
              "secret_files": [os.path.join(params["secret_files_dir"], name) for name in wanted.files] if wanted else []}
    if module._diff:
        directory = params["secret_files_dir"]
        result["diff"] = {
            "before_header": path,
            "after_header": path,
            "before": (masked(before, public_keys) if before_text is not None else "") + masked_files(found, directory),
            "after": masked(values, public_keys, changed_names) + masked_files(wanted, directory, file_changes),
        }

    if content_changed:
        result["changed"] = True
        if not module.check_mode:
            _write_env_file(module, path, content, new=before_text is None)
    if wanted is not None and file_changes:
        result["changed"] = True
        if not module.check_mode:
            _apply(module, write_secret_directory, params["secret_files_dir"], wanted, found)

    file_args = module.load_file_common_arguments(params, path=path)
    if not module.check_mode or os.path.exists(path):
        result["changed"] = module.set_fs_attributes_if_different(file_args, result["changed"])

    # Last, once the env file holds the values again: the files are no longer read.
    if wanted is None and found is not None:
        result["changed"] = True
        if not module.check_mode:
            _apply(module, remove_secret_directory, params["secret_files_dir"])
    return result


def _apply(module: AnsibleModule, change: t.Callable[..., None], directory: str, *args: t.Any) -> None:
    try:
        change(directory, *args)
    except (OSError, EnvFileError) as error:
        # The error names a path, never a value.
        module.fail_json(msg="%s: cannot write the secret files: %s" % (directory, error))


def _write_env_file(module: AnsibleModule, path: str, content: str, *, new: bool) -> None:
    directory = os.path.dirname(path) or "."
    if new:
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


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "values": {"type": "dict", "default": {}},
            "secrets": {"type": "dict", "default": {}, "no_log": True},
            "header": {"type": "str", "default": ""},
            # Where the secrets go, not what they are.
            "secret_files": {"type": "bool", "default": False, "no_log": False},
            "secret_files_dir": {"type": "path", "no_log": False},
            "secret_files_path": {"type": "str", "no_log": False},
            "secret_files_group": {"type": "int", "no_log": False},
        },
        required_if=[("secret_files", True, ("secret_files_dir", "secret_files_path", "secret_files_group"))],
        add_file_common_args=True,
        supports_check_mode=True,
    )
    if module.params["mode"] is None:
        module.params["mode"] = "0600"
    module.exit_json(**run_module(module))


if __name__ == "__main__":
    main()
