# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this doc fragment is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use it from other collections or standalone plugins.

from __future__ import annotations


class ModuleDocFragment:
    # Describes the attributes every module of the collection declares; each module then states
    # its own support level, e.g. with the fragments below or in its own attributes section.
    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description: Can run in check mode and predict whether it would change the target, without changing it.
  diff_mode:
    description: Returns what changed (or would change in check mode) when run with C(--diff).
  idempotent:
    description:
      - Run twice in a row with the same arguments, outside check mode, the second run reports no change.
      - This assumes nothing relevant changed on the target or in the inventory between the runs.
"""

    # Use together with DOCUMENTATION for an action plugin that renders on the controller and
    # writes the file through ansible.builtin.copy, which supplies check and diff mode.
    CONTROLLER_RENDERED_FILE = r"""
options: {}
attributes:
  action:
    description: Has an action plugin, so part of the work runs on the controller.
    support: full
  check_mode:
    support: full
  diff_mode:
    support: full
  idempotent:
    support: full
  async:
    description: Supports the C(async) keyword.
    support: none
"""

    # Use for modules that belong to the fleet action group.
    ACTIONGROUP_FLEET = r"""
options: {}
attributes:
  action_group:
    description: Use C(group/djangoops.fleet.fleet) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - djangoops.fleet.fleet
"""
