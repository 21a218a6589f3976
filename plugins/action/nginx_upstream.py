# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Action plugin for djangoops.fleet.nginx_upstream.

The input is the inventory (``groups`` and the ``hostvars`` of other hosts), which only exists on
the controller, so the block is rendered here. The file is then written by running the
``copy`` action with ``content=``, as ``ansible.builtin.template`` does with its rendered file:
check mode, diff mode, backups and file attributes all come from copy.
"""

from __future__ import annotations

import typing as t

from ansible.plugins.action import ActionBase

from ansible_collections.djangoops.fleet.plugins.module_utils._upstream import (
    UpstreamError,
    argument_spec,
    build_servers,
    render_upstream,
)

# Options of this action that are options of the copy action under the same name.
_COPY_OPTIONS = ("dest", "mode", "owner", "group")


class ActionModule(ActionBase):

    TRANSFERS_FILES = True

    def run(self, tmp: t.Any = None, task_vars: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
        if task_vars is None:
            task_vars = {}
        super().run(tmp, task_vars)
        del tmp  # tmp no longer has any effect

        try:
            # Raises AnsibleActionFail on a bad option, in check mode too.
            dummy, args = self.validate_argument_spec(argument_spec=argument_spec())
            try:
                text, servers = self._render(args, task_vars)
            except UpstreamError as exc:
                return {"failed": True, "msg": str(exc)}
            result = self._write(text, args, task_vars)
            result["upstream"] = text
            result["servers"] = servers
            return result
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)

    def _render(self, args: dict[str, t.Any], task_vars: dict[str, t.Any]) -> tuple[str, list[dict[str, t.Any]]]:
        # task_vars["hostvars"] is ansible-core's HostVars: each hostvars[host] is a HostVarsVars
        # that templates a value in that host's context when it is read, so an inventory value
        # such as "{{ ansible_host }}" arrives rendered. Only read it with [] / get, never copy it raw.
        servers = build_servers(
            task_vars.get("groups", {}),
            task_vars.get("hostvars", {}),
            group_names=args["groups"],
            port=args["port"],
            address_var=args["address_var"],
            weight_var=args["weight_var"],
            drain=args["drain"],
            backup=args["backup"],
            max_fails=args["max_fails"],
            fail_timeout=args["fail_timeout"],
        )
        text = render_upstream(args["name"], servers, keepalive=args["keepalive"])
        return text, [server.to_dict() for server in servers]

    def _write(self, text: str, args: dict[str, t.Any], task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        copy_args = {key: args[key] for key in _COPY_OPTIONS if args[key] is not None}
        copy_args["content"] = text
        # Our "backup" is the list of backup servers; copy's "backup" keeps the old file.
        copy_args["backup"] = args["backup_file"]

        # Same approach as ansible.builtin.template: a copy of this task whose args are those of copy.
        new_task = self._task.copy()
        new_task.args = copy_args
        # ansible.legacy avoids collisions with collections while still allowing a local override.
        copy_action = self._shared_loader_obj.action_loader.get(
            "ansible.legacy.copy",
            task=new_task,
            connection=self._connection,
            play_context=self._play_context,
            loader=self._loader,
            templar=self._templar,
            shared_loader_obj=self._shared_loader_obj,
        )
        return copy_action.run(task_vars=task_vars)
