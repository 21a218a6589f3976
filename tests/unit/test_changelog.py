# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The changelog: fragments antsibull-changelog accepts, and a CHANGELOG.md for galaxy.yml's version.

``antsibull-changelog lint`` runs when the tool is on PATH (it is not a requirement of the
project venv). Without it, the fragments under ``changelogs/fragments`` are checked here against
the sections of ``changelogs/config.yaml``, as the linter does: a YAML mapping of known sections,
each a list of strings (the release summary a string; ``add plugin.<type>`` and
``add object.<type>`` lists of name/description entries).
"""

from __future__ import annotations

import pathlib
import re
import shutil
import subprocess
import typing as t

import pytest
import yaml

CHECKOUT = pathlib.Path(__file__).resolve().parents[2]
CHANGELOGS = CHECKOUT / "changelogs"
FRAGMENTS = CHANGELOGS / "fragments"
ANTSIBULL_CHANGELOG = shutil.which("antsibull-changelog")
ADD_SECTION = re.compile(r"^add (plugin|object)\.([a-z_]+)$")
OBJECT_TYPES = ("playbook", "role")


def _load(path: pathlib.Path) -> t.Any:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _config() -> dict[str, t.Any]:
    return _load(CHANGELOGS / "config.yaml")


def _fragments() -> list[pathlib.Path]:
    # antsibull-changelog skips dot files (fragments/.keep keeps the directory in git).
    return sorted(path for path in FRAGMENTS.iterdir() if not path.name.startswith("."))


def _add_entry_problems(section: str, entries: t.Any) -> list[str]:
    """Problems of an ``add plugin.<type>`` / ``add object.<type>`` section."""
    match = ADD_SECTION.match(section)
    assert match is not None
    problems = []
    if match[1] == "object" and match[2] not in OBJECT_TYPES:
        problems.append("%s: objects are one of %s" % (section, ", ".join(OBJECT_TYPES)))
    if not isinstance(entries, list) or not entries:
        return problems + ["%s must be a non-empty list" % section]
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or set(entry) - {"name", "description", "namespace"}:
            problems.append("%s #%d must be a mapping of name and description" % (section, index))
            continue
        for key in ("name", "description"):
            if not isinstance(entry.get(key), str) or not entry[key].strip():
                problems.append("%s #%d has no %s string" % (section, index, key))
    return problems


def fragment_problems(path: pathlib.Path, config: dict[str, t.Any]) -> list[str]:
    """Everything antsibull-changelog would reject in the fragment at ``path``."""
    if path.suffix not in (".yml", ".yaml"):
        return ["the extension must be .yml or .yaml"]
    try:
        content = _load(path)
    except yaml.YAMLError as error:
        return ["not YAML: %s" % error]
    if not isinstance(content, dict) or not content:
        return ["must be a mapping of sections"]
    prelude = config["prelude_section_name"]
    sections = {name for name, _title in config["sections"]} | {config["trivial_section_name"]}
    problems = []
    for section, entries in content.items():
        if section == prelude:
            if not isinstance(entries, str) or not entries.strip():
                problems.append("%s must be a string" % section)
        elif isinstance(section, str) and ADD_SECTION.match(section):
            problems.extend(_add_entry_problems(section, entries))
        elif section not in sections:
            problems.append("unknown section %r; config.yaml knows %s" % (section, ", ".join(sorted(sections))))
        elif not isinstance(entries, list) or not entries:
            problems.append("%s must be a non-empty list" % section)
        else:
            problems.extend(
                "%s #%d must be a non-empty string" % (section, index)
                for index, entry in enumerate(entries) if not isinstance(entry, str) or not entry.strip()
            )
    return problems


def _released() -> dict[str, t.Any]:
    return _load(CHANGELOGS / "changelog.yaml").get("releases") or {}


def _galaxy_version() -> str:
    return str(_load(CHECKOUT / "galaxy.yml")["version"])


# --- With antsibull-changelog -----------------------------------------------------------------------

@pytest.mark.skipif(ANTSIBULL_CHANGELOG is None, reason="antsibull-changelog is not on PATH (pip install antsibull-changelog)")
@pytest.mark.parametrize("command", [["lint"], ["lint-changelog-yaml", "changelogs/changelog.yaml"]])
def test_antsibull_changelog_lint(command: list[str]) -> None:
    process = subprocess.run(
        [str(ANTSIBULL_CHANGELOG), *command], cwd=CHECKOUT, capture_output=True, text=True, timeout=120, check=False,
    )
    assert (process.returncode, process.stdout) == (0, ""), process.stdout + process.stderr


# --- Without it ---------------------------------------------------------------------------------------

def test_config_sections() -> None:
    config = _config()
    assert config["changes_file"] == "changelog.yaml"
    assert config["notesdir"] == "fragments"
    sections = config["sections"]
    assert sections and all(isinstance(name, str) and isinstance(title, str) for name, title in sections)
    assert {"minor_changes", "bugfixes", "breaking_changes", "security_fixes"} <= {name for name, _title in sections}


def test_fragments_are_valid() -> None:
    # Empty right after a release (keep_fragments: false); each change adds one until the next.
    assert FRAGMENTS.is_dir()
    config = _config()
    problems = {path.name: fragment_problems(path, config) for path in _fragments()}
    assert {name: found for name, found in problems.items() if found} == {}


def test_no_fragment_was_released_already() -> None:
    # With keep_fragments: false a released fragment left in fragments/ goes into the next release again.
    released = {name for release in _released().values() for name in release.get("fragments") or []}
    assert sorted(path.name for path in _fragments() if path.name in released) == []


def test_galaxy_version_is_released() -> None:
    version = _galaxy_version()
    assert version in _released(), "run `antsibull-changelog release` for %s" % version


def test_changelog_md_mentions_galaxy_version() -> None:
    text = (CHECKOUT / "CHANGELOG.md").read_text(encoding="utf-8")
    # antsibull-changelog escapes Markdown punctuation: "## v0\.1\.0".
    plain = re.sub(r"\\(.)", r"\1", text)
    assert "\n## v%s\n" % _galaxy_version() in plain


# --- The fragment check, on fragments written here -------------------------------------------------

CONFIG = {
    "prelude_section_name": "release_summary",
    "trivial_section_name": "trivial",
    "sections": [["minor_changes", "Minor Changes"], ["bugfixes", "Bugfixes"]],
}


@pytest.mark.parametrize(
    "name, text, expected",
    [
        ("good.yml", "minor_changes:\n  - nginx_proxy - x (https://example.com/1).\ntrivial:\n  - y\n", []),
        ("summary.yml", "release_summary: A release.\n", []),
        ("added.yaml", "add object.role:\n  - name: demo\n    description: Do it.\n", []),
        ("notes.txt", "bugfixes:\n  - x\n", ["the extension must be .yml or .yaml"]),
        ("broken.yml", "bugfixes: [x\n", ["not YAML"]),
        ("list.yml", "- bugfixes\n", ["must be a mapping of sections"]),
        ("typo.yml", "bugfix:\n  - x\n", ["unknown section 'bugfix'"]),
        ("string.yml", "bugfixes: x\n", ["bugfixes must be a non-empty list"]),
        ("mapping.yml", "bugfixes:\n  - {nginx_proxy: x}\n", ["bugfixes #0 must be a non-empty string"]),
        ("prelude.yml", "release_summary:\n  - x\n", ["release_summary must be a string"]),
        ("object.yml", "add object.module:\n  - name: x\n    description: y\n", ["add object.module: objects are one of"]),
        ("entry.yml", "add plugin.filter:\n  - name: x\n", ["add plugin.filter #0 has no description string"]),
    ],
)
def test_fragment_problems(tmp_path: pathlib.Path, name: str, text: str, expected: list[str]) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    problems = fragment_problems(path, CONFIG)
    assert len(problems) == len(expected), problems
    for problem, start in zip(problems, expected):
        assert problem.startswith(start), problems
