# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""``ansible-doc`` shows complete documentation for every module, filter and role.

Each test runs the real ``ansible-doc --json`` with this checkout as djangoops.fleet (the
``collections_root`` fixture) and checks what a user reads: module and filter descriptions,
every option with a description and a type, examples that call the plugin, every return value
with a description and a type (and for modules when it is returned); for roles, every entry point
of ``meta/argument_specs.yml`` with its options.
"""

from __future__ import annotations

import importlib
import json
import os
import pathlib
import subprocess
import typing as t

import pytest
import yaml

CHECKOUT = pathlib.Path(__file__).resolve().parents[2]
COLLECTION = "djangoops.fleet"
MODULES = sorted(
    path.stem for path in (CHECKOUT / "plugins" / "modules").glob("*.py") if not path.name.startswith("_")
)
ROLES = sorted(path.name for path in (CHECKOUT / "roles").iterdir() if path.is_dir())


def _filters() -> list[str]:
    """Every filter the collection's filter plugins provide, from their FilterModule."""
    names = []
    for path in sorted((CHECKOUT / "plugins" / "filter").glob("*.py")):
        if path.name.startswith("_"):
            continue
        plugin = importlib.import_module("ansible_collections.djangoops.fleet.plugins.filter.%s" % path.stem)
        names.extend(plugin.FilterModule().filters())
    return sorted(names)


FILTERS = _filters()


def _entry_points(role: str) -> dict[str, t.Any]:
    with (CHECKOUT / "roles" / role / "meta" / "argument_specs.yml").open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)["argument_specs"]


@pytest.fixture
def ansible_doc_json(
    tmp_path: pathlib.Path, collections_root: pathlib.Path, ansible_doc: pathlib.Path,
) -> t.Callable[..., dict[str, t.Any]]:
    """Run ``ansible-doc --json`` on one name of this collection; return that name's entry."""
    config = tmp_path / "ansible.cfg"
    config.write_text("[defaults]\n")
    env = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")}
    env.update(
        ANSIBLE_COLLECTIONS_PATH=str(collections_root),
        # An empty configuration: no ansible.cfg of the machine, the user or the checkout applies.
        ANSIBLE_CONFIG=str(config),
        ANSIBLE_HOME=str(tmp_path / "ansible-home"),
        ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-tmp"),
        ANSIBLE_NOCOLOR="1",
    )

    def run(name: str, *options: str) -> dict[str, t.Any]:
        fqcn = "%s.%s" % (COLLECTION, name)
        process = subprocess.run(
            [str(ansible_doc), *options, "--json", fqcn],
            env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
        )
        assert process.returncode == 0, process.stdout + process.stderr
        result = json.loads(process.stdout)
        assert list(result) == [fqcn], process.stdout + process.stderr
        return result[fqcn]

    return run


def _text(value: t.Any) -> bool:
    """A non-empty string, or a non-empty list of non-empty strings (Ansible allows both)."""
    if isinstance(value, str):
        return bool(value.strip())
    return isinstance(value, list) and bool(value) and all(isinstance(item, str) and item.strip() for item in value)


def _option_problems(options: t.Any, trail: str) -> list[str]:
    """Options (and suboptions) without a description or a type."""
    if not isinstance(options, dict) or not options:
        return ["%s: no options" % trail]
    problems = []
    for name, option in options.items():
        where = "%s.%s" % (trail, name)
        if not _text(option.get("description")):
            problems.append("%s has no description" % where)
        if not option.get("type"):
            problems.append("%s has no type" % where)
        if "suboptions" in option:
            problems.extend(_option_problems(option["suboptions"], where))
    return problems


def _return_problems(values: t.Any, trail: str, *, top_level_needs: tuple[str, ...]) -> list[str]:
    """Return values without a description or a type, or at the top without ``top_level_needs``."""
    if not isinstance(values, dict) or not values:
        return ["%s: no return values" % trail]
    problems = []
    for name, value in values.items():
        where = "%s.%s" % (trail, name)
        if not _text(value.get("description")):
            problems.append("%s has no description" % where)
        for key in ("type", *top_level_needs):
            if not value.get(key):
                problems.append("%s has no %s" % (where, key))
        if "contains" in value:
            problems.extend(_return_problems(value["contains"], where, top_level_needs=()))
    return problems


def _example_problems(examples: t.Any, fqcn: str, *, as_module: bool) -> list[str]:
    """Examples that are missing, not YAML tasks, or never use ``fqcn``."""
    if not isinstance(examples, str) or not examples.strip():
        return ["no examples"]
    tasks = yaml.safe_load(examples)
    if not isinstance(tasks, list) or not all(isinstance(task, dict) and task.get("name") for task in tasks):
        return ["the examples are not a list of named tasks"]
    # A module example calls it as the task's action; a filter example uses it in a template.
    used = [task for task in tasks if fqcn in task] if as_module else [task for task in tasks if fqcn in json.dumps(task)]
    return [] if used else ["no example uses %s" % fqcn]


def _plugin_problems(entry: dict[str, t.Any], fqcn: str, *, is_module: bool) -> list[str]:
    doc = entry["doc"]
    problems = []
    for key in ("short_description", "description"):
        if not _text(doc.get(key)):
            problems.append("no %s" % key)
    problems.extend(_option_problems(doc.get("options"), "options"))
    problems.extend(_example_problems(entry.get("examples"), fqcn, as_module=is_module))
    # validate-modules requires `returned` on a module's top-level return values; a filter has
    # one value, _value, whose presence is not conditional.
    problems.extend(_return_problems(entry.get("return"), "return", top_level_needs=("returned",) if is_module else ()))
    return problems


def _from_this_checkout(filename: str) -> bool:
    return pathlib.Path(filename).resolve().is_relative_to(CHECKOUT.resolve())


def test_plugins_and_roles_are_discovered() -> None:
    # Guards the parametrization below: an empty list would make every check vacuous.
    assert {"certbot_certificate", "nginx_upstream"} <= set(MODULES)
    assert "django_password_hash" in FILTERS
    assert {"django_app", "nginx_proxy", "certbot", "ufw_docker"} <= set(ROLES)


@pytest.mark.parametrize("module", MODULES)
def test_module_doc_is_complete(ansible_doc_json: t.Callable[..., dict[str, t.Any]], module: str) -> None:
    fqcn = "%s.%s" % (COLLECTION, module)
    entry = ansible_doc_json(module)
    assert _from_this_checkout(entry["doc"]["filename"]), entry["doc"]["filename"]
    assert _plugin_problems(entry, fqcn, is_module=True) == []


@pytest.mark.parametrize("name", FILTERS)
def test_filter_doc_is_complete(ansible_doc_json: t.Callable[..., dict[str, t.Any]], name: str) -> None:
    fqcn = "%s.%s" % (COLLECTION, name)
    entry = ansible_doc_json(name, "-t", "filter")
    assert _from_this_checkout(entry["doc"]["filename"]), entry["doc"]["filename"]
    assert _plugin_problems(entry, fqcn, is_module=False) == []


@pytest.mark.parametrize("role", ROLES)
def test_role_doc_lists_every_entry_point(ansible_doc_json: t.Callable[..., dict[str, t.Any]], role: str) -> None:
    entry = ansible_doc_json(role, "-t", "role")
    assert _from_this_checkout(entry["path"]), entry["path"]
    shown = entry["entry_points"]
    assert "main" in shown
    assert sorted(shown) == sorted(_entry_points(role))
    problems = []
    for name, entry_point in shown.items():
        for key in ("short_description", "description"):
            if not _text(entry_point.get(key)):
                problems.append("%s: no %s" % (name, key))
        problems.extend(_option_problems(entry_point.get("options"), "%s.options" % name))
    assert problems == []


# --- The checks above, on documentation written here ----------------------------------------------

GOOD_MODULE = {
    "doc": {
        "short_description": "Do one thing",
        "description": ["Does one thing."],
        "options": {"path": {"description": "Where.", "type": "path", "suboptions": {
            "mode": {"description": "How.", "type": "str"}}}},
    },
    "examples": "- name: Do it\n  djangoops.fleet.demo:\n    path: /tmp/x\n",
    "return": {"info": {"description": "What.", "returned": "always", "type": "dict", "contains": {
        "size": {"description": "How big.", "type": "int"}}}},
}


def _without(path: tuple[str, ...]) -> dict[str, t.Any]:
    entry = json.loads(json.dumps(GOOD_MODULE))
    parent = entry
    for key in path[:-1]:
        parent = parent[key]
    del parent[path[-1]]
    return entry


@pytest.mark.parametrize(
    "path, problem",
    [
        (("doc", "short_description"), "no short_description"),
        (("doc", "description"), "no description"),
        (("doc", "options"), "options: no options"),
        (("doc", "options", "path", "type"), "options.path has no type"),
        (("doc", "options", "path", "suboptions", "mode", "description"), "options.path.mode has no description"),
        (("examples",), "no examples"),
        (("return",), "return: no return values"),
        (("return", "info", "returned"), "return.info has no returned"),
        (("return", "info", "contains", "size", "type"), "return.info.size has no type"),
    ],
)
def test_checks_report_what_is_missing(path: tuple[str, ...], problem: str) -> None:
    assert _plugin_problems(GOOD_MODULE, "djangoops.fleet.demo", is_module=True) == []
    assert _plugin_problems(_without(path), "djangoops.fleet.demo", is_module=True) == [problem]


def test_examples_must_use_the_plugin() -> None:
    other = "- name: Do it\n  ansible.builtin.debug:\n    msg: djangoops.fleet.demo\n"
    assert _example_problems(other, "djangoops.fleet.demo", as_module=True) == ["no example uses djangoops.fleet.demo"]
    assert _example_problems(other, "djangoops.fleet.demo", as_module=False) == []
    assert _example_problems("just words", "djangoops.fleet.demo", as_module=True) == [
        "the examples are not a list of named tasks"]
