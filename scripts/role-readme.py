# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Generate the variables part of each role's README.md from the role's own sources.

``meta/argument_specs.yml`` (entry point ``main``) is the single source of a role's inputs
(STYLE.md section 2); ``defaults/main.yml`` holds the defaults as users write them. This script
renders, from those two files, the README part between the markers below: the title, the short
description, the description paragraphs and a table of every variable. Everything outside the
markers (the hand-written "Example" and "Notes" sections) is left as it is.

    python scripts/role-readme.py --write   # rewrite the generated part of every role README
    python scripts/role-readme.py --check   # exit 1, naming the roles whose README is out of date

Python 3.11, standard library and PyYAML only.
"""

from __future__ import annotations

import argparse
import pathlib
import re
import sys
import typing as t

import yaml

COLLECTION = "djangoops.fleet"
ENTRY_POINT = "main"
BEGIN = "<!-- BEGIN GENERATED: argument_specs -->"
END = "<!-- END GENERATED: argument_specs -->"
DEFAULT_ROLES_DIR = pathlib.Path(__file__).resolve().parents[1] / "roles"

# Written once, when a role has no README yet; from then on these sections are edited by hand.
SKELETON = """
## Example

<!-- Hand-written: a playbook using the role by FQCN with its required variables. -->

## Notes

<!-- Hand-written: the role's non-obvious behaviour, as its tasks and templates implement it. -->
"""

# Ansible documentation markup: C(code), I(italic), B(bold), O(option), V(value), E(env var),
# M(module), RV(return value), U(url), L(text,url).
MARKUP = re.compile(r"\b(C|I|B|O|V|E|M|RV|U|L)\(([^)]*)\)")
CODE_MARKUP = frozenset({"C", "O", "V", "E", "M", "RV"})
# "<" that Markdown could take for the start of an HTML tag or comment.
TAG_START = re.compile(r"<(?=[A-Za-z/!?])")


class ReadmeError(Exception):
    """A role whose sources or README this script cannot work with; the message names the file."""


# --- Reading the role -----------------------------------------------------------------------------

def _load_yaml(path: pathlib.Path) -> t.Any:
    try:
        with path.open(encoding="utf-8") as handle:
            return yaml.safe_load(handle)
    except (OSError, yaml.YAMLError) as error:
        raise ReadmeError("%s: %s" % (path, error)) from error


def main_spec(role_dir: pathlib.Path) -> dict:
    """The ``main`` entry point of the role's argument spec."""
    path = role_dir / "meta" / "argument_specs.yml"
    data = _load_yaml(path) or {}
    spec = (data.get("argument_specs") or {}).get(ENTRY_POINT)
    if not isinstance(spec, dict):
        raise ReadmeError("%s: no entry point %r under argument_specs" % (path, ENTRY_POINT))
    return spec


def default_sources(role_dir: pathlib.Path) -> dict[str, str]:
    """Each variable of ``defaults/main.yml`` mapped to its value as written there.

    The value's own text is cut out of the file (quotes, brackets and Jinja included), so the
    README shows what a user would copy. A value spanning several lines cannot sit in a table
    cell; it is shown in YAML flow style instead.
    """
    path = role_dir / "defaults" / "main.yml"
    if not path.is_file():
        return {}
    text = path.read_text(encoding="utf-8")
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        values = yaml.safe_load(text) or {}
    except yaml.YAMLError as error:
        raise ReadmeError("%s: %s" % (path, error)) from error
    if root is None:
        return {}
    if not isinstance(root, yaml.MappingNode):
        raise ReadmeError("%s: expected a mapping of variables" % path)
    sources = {}
    for key_node, value_node in root.value:
        raw = text[value_node.start_mark.index:value_node.end_mark.index].strip()
        if "\n" in raw:
            value = values[key_node.value]
            # A folded string (a long template) reads best as the one line it folds into.
            raw = '"%s"' % value if isinstance(value, str) and '"' not in value else _flow(value)
        sources[key_node.value] = raw
    return sources


def _flow(value: t.Any) -> str:
    dumped = yaml.safe_dump(value, default_flow_style=True, width=10**6, sort_keys=False).strip()
    return dumped.removesuffix("...").strip()


# --- Markdown -------------------------------------------------------------------------------------

def _code(text: str, *, in_table: bool) -> str:
    fence = "``" if "`" in text else "`"
    padding = " " if text.startswith("`") or text.endswith("`") else ""
    if in_table:
        text = text.replace("|", "\\|")
    return "%s%s%s%s%s" % (fence, padding, text, padding, fence)


def _plain(text: str, *, in_table: bool) -> str:
    text = text.replace("\\", "\\\\").replace("*", "\\*")
    text = TAG_START.sub("&lt;", text)
    if in_table:
        text = text.replace("|", "\\|")
    return text


def _markup(kind: str, content: str, *, in_table: bool) -> str:
    if kind in CODE_MARKUP:
        return _code(content, in_table=in_table)
    if kind == "I":
        return "*%s*" % _plain(content, in_table=in_table)
    if kind == "B":
        return "**%s**" % _plain(content, in_table=in_table)
    if kind == "U":
        return "<%s>" % content
    label, _comma, url = content.partition(",")  # L(text,url)
    return "[%s](%s)" % (_plain(label.strip(), in_table=in_table), url.strip())


def markdown(text: str, *, in_table: bool = False) -> str:
    """Ansible doc markup to Markdown: ``C(x)`` to `` `x` ``, ``I(x)`` to ``*x*``, and so on.

    Text outside the markup is escaped where Markdown would read it as markup; in a table cell
    ``|`` is escaped too, inside code spans as well (GitHub splits cells before parsing spans).
    """
    parts = []
    position = 0
    for match in MARKUP.finditer(text):
        parts.append(_plain(text[position:match.start()], in_table=in_table))
        parts.append(_markup(match[1], match[2], in_table=in_table))
        position = match.end()
    parts.append(_plain(text[position:], in_table=in_table))
    return " ".join("".join(parts).split())


def _paragraphs(description: t.Any) -> list[str]:
    if not description:
        return []
    if isinstance(description, str):
        return [description]
    return [str(paragraph) for paragraph in description]


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


# --- The generated block --------------------------------------------------------------------------

def _type(option: dict) -> str:
    kind = str(option.get("type", "str"))
    if kind == "list" and option.get("elements"):
        kind = "list of %s" % option["elements"]
    choices = option.get("choices")
    if choices:
        kind += ", one of %s" % ", ".join(_code(str(choice), in_table=True) for choice in choices)
    return kind


def _default(name: str, option: dict, sources: dict[str, str]) -> str:
    """The value of defaults/main.yml as written, else the spec's; ``required``; or a dash.

    The dash marks an option that is neither required nor defaulted: its description says
    when it is needed.
    """
    if option.get("required"):
        return "required"
    if name in sources:
        return _code(sources[name], in_table=True)
    if "default" in option:
        return _code(_flow(option["default"]), in_table=True)
    return "\u2014"


def _row(cells: list[str]) -> str:
    return "| %s |" % " | ".join(cells)


def render(role_dir: pathlib.Path) -> str:
    """The README block of the role in ``role_dir``, markers included, without a final newline."""
    role_dir = pathlib.Path(role_dir)
    spec = main_spec(role_dir)
    sources = default_sources(role_dir)
    lines = [
        BEGIN,
        "<!-- Generated by scripts/role-readme.py from meta/argument_specs.yml (entry point main) and"
        " defaults/main.yml: edit those, then run `make readmes`. -->",
        "# %s.%s" % (COLLECTION, role_dir.name),
        "",
    ]
    if spec.get("short_description"):
        lines += [_sentence(markdown(str(spec["short_description"]))), ""]
    for paragraph in _paragraphs(spec.get("description")):
        lines += [markdown(paragraph), ""]
    lines += [
        "## Variables",
        "",
        "The inputs of the role's `main` entry point; Ansible checks them before the role's first task."
        " Defaults are shown as written in `defaults/main.yml`.",
        "",
        _row(["Variable", "Type", "Default", "Description"]),
        _row(["---"] * 4),
    ]
    for name, option in (spec.get("options") or {}).items():
        option = option or {}
        description = " ".join(markdown(p, in_table=True) for p in _paragraphs(option.get("description")))
        lines.append(_row([_code(name, in_table=True), _type(option), _default(name, option, sources), description]))
    lines.append(END)
    return "\n".join(lines)


# --- README files ---------------------------------------------------------------------------------

def _span(text: str) -> tuple[int, int] | None:
    """Start and end offsets of the one generated block in ``text``, or None."""
    if text.count(BEGIN) != 1 or text.count(END) != 1:
        return None
    start = text.index(BEGIN)
    end = text.index(END) + len(END)
    return (start, end) if start < end else None


def generated_block(text: str) -> str | None:
    """The generated block of a README, markers included, or None when it has none."""
    span = _span(text)
    return None if span is None else text[span[0]:span[1]]


def replace_block(text: str, block: str) -> str:
    span = _span(text)
    if span is None:
        raise ReadmeError("expected exactly one %s ... %s block" % (BEGIN, END))
    return text[:span[0]] + block + text[span[1]:]


def roles(roles_dir: pathlib.Path) -> list[pathlib.Path]:
    """Role directories with an argument spec, sorted by name."""
    return sorted(
        path for path in pathlib.Path(roles_dir).iterdir()
        if path.is_dir() and (path / "meta" / "argument_specs.yml").is_file()
    )


def is_current(role_dir: pathlib.Path) -> bool:
    readme = role_dir / "README.md"
    if not readme.is_file():
        return False
    return generated_block(readme.read_text(encoding="utf-8")) == render(role_dir)


def stale_roles(roles_dir: pathlib.Path) -> list[str]:
    """Names of the roles whose README is missing, lacks the block or has an outdated one."""
    return [role_dir.name for role_dir in roles(roles_dir) if not is_current(role_dir)]


def write(role_dir: pathlib.Path) -> bool:
    """Bring the role's README up to date; True when the file changed.

    A missing README is created with empty hand-written sections to fill in.
    """
    readme = role_dir / "README.md"
    block = render(role_dir)
    if not readme.is_file():
        readme.write_text(block + "\n" + SKELETON, encoding="utf-8")
        return True
    text = readme.read_text(encoding="utf-8")
    try:
        updated = replace_block(text, block)
    except ReadmeError as error:
        raise ReadmeError("%s: %s" % (readme, error)) from error
    if updated == text:
        return False
    readme.write_text(updated, encoding="utf-8")
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="rewrite the generated block of every role README")
    mode.add_argument("--check", action="store_true", help="exit 1 if a role README is out of date")
    parser.add_argument("--roles-dir", type=pathlib.Path, default=DEFAULT_ROLES_DIR, help="default: %(default)s")
    args = parser.parse_args(argv)
    try:
        if args.check:
            stale = stale_roles(args.roles_dir)
            for name in stale:
                print("%s: README.md is out of date; run `make readmes`" % (args.roles_dir / name))
            return 1 if stale else 0
        for role_dir in roles(args.roles_dir):
            if write(role_dir):
                print("%s: README.md updated" % role_dir)
        return 0
    except ReadmeError as error:
        print("role-readme: %s" % error, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
