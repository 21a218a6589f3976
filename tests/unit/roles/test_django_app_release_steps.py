# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""roles/django_app/files/*.py run joined in one `manage.py shell -c` (tasks/release_tasks.yml): the joined
source must compile, and no script may rebind a top-level name another one defines, or a later step
would see an earlier step's value."""

from __future__ import annotations

import ast
import pathlib

import pytest

FILES = pathlib.Path(__file__).resolve().parents[3] / "roles" / "django_app" / "files"
RELEASE_STEPS = ("migrate.py", "admin_user.py", "collectstatic.py")  # the order of vars/main.yml


def _defined(source: str) -> set[str]:
    """Top-level names a script binds, leaving out imports (the same module imported twice is harmless)."""
    names: set[str] = set()
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(n.id for target in targets for n in ast.walk(target) if isinstance(n, ast.Name))
        elif isinstance(node, (ast.If, ast.Try, ast.With, ast.For)):
            names.update(n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store))
    return names


def test_the_joined_scripts_compile() -> None:
    joined = "\n".join((FILES / name).read_text().rstrip() for name in RELEASE_STEPS)
    compile(joined, "<manage.py shell -c>", "exec")


@pytest.mark.parametrize("first, second", [(a, b) for i, a in enumerate(RELEASE_STEPS) for b in RELEASE_STEPS[i + 1:]])
def test_no_two_scripts_bind_the_same_name(first: str, second: str) -> None:
    shared = _defined((FILES / first).read_text()) & _defined((FILES / second).read_text())
    assert not shared, f"{first} and {second} both bind {sorted(shared)}"


def test_the_order_is_the_roles() -> None:
    steps = (FILES.parent / "vars" / "main.yml").read_text().split("__django_app_release_steps:", 1)[1]
    assert [steps.index(name) for name in RELEASE_STEPS] == sorted(steps.index(name) for name in RELEASE_STEPS)


@pytest.mark.parametrize("name", sorted(path.name for path in FILES.glob("*.py")))
def test_every_script_is_python_3_8(name: str) -> None:
    """The scripts run in the app's image, on its Python: the oldest the role supports is 3.8."""
    source = (FILES / name).read_text()
    ast.parse(source, filename=name, feature_version=(3, 8))
    for newer in (".removeprefix(", ".removesuffix(", "zoneinfo", "graphlib", "functools.cache("):
        assert newer not in source, f"{name} uses {newer!r}, newer than Python 3.8"
