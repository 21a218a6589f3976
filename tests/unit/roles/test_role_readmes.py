# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Each role's README.md lists every variable (STYLE.md section 2), generated from its sources.

``scripts/role-readme.py`` renders the part between the GENERATED markers from
``meta/argument_specs.yml`` (entry point ``main``) and ``defaults/main.yml``. These tests check
that every committed README matches what the script renders now, that it names every option
and keeps its hand-written sections, and that ``--check`` catches a README left behind by a
spec change.
"""

from __future__ import annotations

import importlib.util
import pathlib
import shutil
import subprocess
import sys
import types

import pytest
import yaml

CHECKOUT = pathlib.Path(__file__).resolve().parents[3]
ROLES_DIR = CHECKOUT / "roles"
SCRIPT = CHECKOUT / "scripts" / "role-readme.py"
ROLES = sorted(path.name for path in ROLES_DIR.iterdir() if path.is_dir())
BEGIN = "<!-- BEGIN GENERATED: argument_specs -->"
END = "<!-- END GENERATED: argument_specs -->"


def _load_script() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("role_readme", SCRIPT)
    assert spec is not None and spec.loader is not None, "cannot load %s" % SCRIPT
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


role_readme = _load_script()


def _readme(role: str) -> str:
    path = ROLES_DIR / role / "README.md"
    assert path.is_file(), "%s: README.md is missing; run `make readmes`" % role
    return path.read_text(encoding="utf-8")


def _main_options(role: str) -> dict:
    with (ROLES_DIR / role / "meta" / "argument_specs.yml").open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)["argument_specs"]["main"]["options"]


def _outside_block(text: str) -> str:
    return text[:text.index(BEGIN)] + text[text.index(END) + len(END):]


def _section(text: str, heading: str) -> str:
    """The body of a ``## heading`` section, up to the next ``## `` heading."""
    start = text.index("\n## %s\n" % heading) + len(heading) + 5
    following = text.find("\n## ", start)
    return text[start:] if following == -1 else text[start:following]


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=60, check=False,
    )


def test_roles_are_discovered() -> None:
    assert {"django_app", "nginx_proxy", "certbot", "ufw_docker"} <= set(ROLES)
    assert [path.name for path in role_readme.roles(ROLES_DIR)] == ROLES


# --- The committed READMEs ------------------------------------------------------------------------

@pytest.mark.parametrize("role", ROLES)
def test_generated_block_is_current(role: str) -> None:
    block = role_readme.generated_block(_readme(role))
    assert block is not None, "%s: README.md has no single %s ... %s block" % (role, BEGIN, END)
    assert block == role_readme.render(ROLES_DIR / role), (
        "%s: README.md is out of date with meta/argument_specs.yml or defaults/main.yml; run `make readmes`" % role)


@pytest.mark.parametrize("role", ROLES)
def test_every_option_of_main_is_listed(role: str) -> None:
    block = role_readme.generated_block(_readme(role)) or ""
    rows = {line.split("|")[1].strip() for line in block.splitlines() if line.startswith("| `")}
    missing = sorted(name for name in _main_options(role) if "`%s`" % name not in rows)
    assert missing == [], "%s: README.md does not list %s" % (role, missing)


@pytest.mark.parametrize("role", ROLES)
def test_readme_has_hand_written_sections(role: str) -> None:
    text = _readme(role)
    assert text.startswith(BEGIN)
    assert "\n# djangoops.fleet.%s\n" % role in text
    hand_written = _outside_block(text)
    example = _section(hand_written, "Example")
    notes = _section(hand_written, "Notes")
    assert "```yaml\n" in example and "djangoops.fleet.%s" % role in example, "%s: no playbook in Example" % role
    required = sorted(name for name, option in _main_options(role).items() if option.get("required"))
    unset = [name for name in required if "%s:" % name not in example]
    assert unset == [], "%s: the Example does not set the required %s" % (role, unset)
    bullets = [line for line in notes.splitlines() if line.startswith("- ")]
    assert 3 <= len(bullets) <= 5, "%s: Notes should have 3-5 bullets, has %d" % (role, len(bullets))
    assert "<!-- Hand-written" not in hand_written, "%s: a hand-written section is still a placeholder" % role


def test_check_passes_on_the_checkout() -> None:
    run = _run("--check")
    assert (run.returncode, run.stdout) == (0, ""), run.stdout + run.stderr


# --- Rendering, on a role written here ------------------------------------------------------------

SPEC = """\
argument_specs:
  main:
    short_description: Do one thing
    description:
      - First paragraph with C(code) and I(emphasis).
      - Second paragraph.
    options:
      demo_names:
        type: list
        elements: str
        required: true
        description: Names to serve.
      demo_mode:
        type: str
        default: fast
        choices: [fast, safe]
        description: How to run.
      demo_hours:
        type: str
        default: "3,15"
        description: Cron hours.
      demo_label:
        type: str
        description: Label; defaults to the first of C(demo_names).
      demo_token:
        type: str
        no_log: true
        description: Token, needed when C(demo_mode) is C(safe).
      demo_filter:
        type: str
        default: a|b
        description: A regex like C(x|y) or a|b.
"""

DEFAULTS = """\
---
# demo_names: [www.example.com]   # required
demo_mode: fast
demo_hours: "3,15"
demo_label: "{{ demo_names | first }}"
demo_filter: a|b
"""


@pytest.fixture
def demo_role(tmp_path: pathlib.Path) -> pathlib.Path:
    role_dir = tmp_path / "roles" / "demo"
    (role_dir / "meta").mkdir(parents=True)
    (role_dir / "defaults").mkdir()
    (role_dir / "meta" / "argument_specs.yml").write_text(SPEC)
    (role_dir / "defaults" / "main.yml").write_text(DEFAULTS)
    return role_dir


def _rows(block: str) -> dict[str, list[str]]:
    """Table rows by variable name, split on the unescaped ``|``."""
    rows = {}
    for line in block.splitlines():
        if line.startswith("| `"):
            cells = [cell.strip() for cell in line.replace("\\|", "\0").split("|")[1:-1]]
            rows[cells[0]] = [cell.replace("\0", "\\|") for cell in cells]
    return rows


def test_render_of_a_known_role(demo_role: pathlib.Path) -> None:
    block = role_readme.render(demo_role)
    lines = block.splitlines()
    assert lines[0] == BEGIN and lines[-1] == END
    assert "# djangoops.fleet.demo" in lines
    assert "Do one thing." in lines
    assert "First paragraph with `code` and *emphasis*." in lines
    assert "Second paragraph." in lines
    assert _rows(block) == {
        "`demo_names`": ["`demo_names`", "list of str", "required", "Names to serve."],
        "`demo_mode`": ["`demo_mode`", "str, one of `fast`, `safe`", "`fast`", "How to run."],
        # As written in defaults/main.yml: quotes kept, so a string stays recognisable.
        "`demo_hours`": ["`demo_hours`", "str", '`"3,15"`', "Cron hours."],
        "`demo_label`": [
            "`demo_label`", "str", '`"{{ demo_names \\| first }}"`', "Label; defaults to the first of `demo_names`."],
        "`demo_token`": ["`demo_token`", "str", "\u2014", "Token, needed when `demo_mode` is `safe`."],
        "`demo_filter`": ["`demo_filter`", "str", "`a\\|b`", "A regex like `x\\|y` or a\\|b."],
    }


def test_markup_conversion() -> None:
    assert role_readme.markdown("Use C(nginx -t) on I(every) host.") == "Use `nginx -t` on *every* host."
    assert role_readme.markdown("C(a|b)", in_table=True) == "`a\\|b`"
    assert role_readme.markdown("C(a|b)") == "`a|b`"
    assert role_readme.markdown("See <name> and 0 < x.") == "See &lt;name> and 0 < x."


def test_check_detects_a_stale_block(demo_role: pathlib.Path) -> None:
    roles_dir = demo_role.parent
    assert _run("--check", "--roles-dir", str(roles_dir)).returncode == 1  # no README yet
    assert _run("--write", "--roles-dir", str(roles_dir)).returncode == 0
    readme = demo_role / "README.md"
    hand_written = "\n## Example\n\nA playbook.\n\n## Notes\n\n- A note.\n"
    readme.write_text(role_readme.render(demo_role) + "\n" + hand_written)
    current = _run("--check", "--roles-dir", str(roles_dir))
    assert (current.returncode, current.stdout) == (0, ""), current.stdout + current.stderr

    spec = demo_role / "meta" / "argument_specs.yml"
    spec.write_text(spec.read_text().replace("description: How to run.", "description: How to run it."))
    stale = _run("--check", "--roles-dir", str(roles_dir))
    assert stale.returncode == 1, stale.stdout + stale.stderr
    assert "demo" in stale.stdout

    assert _run("--write", "--roles-dir", str(roles_dir)).returncode == 0
    text = readme.read_text()
    assert "| How to run it. |" in text
    assert text.endswith(END + "\n" + hand_written)  # the hand-written part is kept as it was
    assert _run("--check", "--roles-dir", str(roles_dir)).returncode == 0


def test_check_detects_a_stale_copy_of_a_real_role(tmp_path: pathlib.Path) -> None:
    role = "certbot"
    copy = tmp_path / "roles" / role
    for part in ("meta", "defaults"):
        shutil.copytree(ROLES_DIR / role / part, copy / part)
    shutil.copy(ROLES_DIR / role / "README.md", copy / "README.md")
    assert _run("--check", "--roles-dir", str(tmp_path / "roles")).returncode == 0

    specs = yaml.safe_load((copy / "meta" / "argument_specs.yml").read_text())
    specs["argument_specs"]["main"]["options"]["certbot_new_option"] = {"type": "bool", "description": "New."}
    (copy / "meta" / "argument_specs.yml").write_text(yaml.safe_dump(specs))
    assert role_readme.stale_roles(tmp_path / "roles") == [role]
    run = _run("--check", "--roles-dir", str(tmp_path / "roles"))
    assert run.returncode == 1 and role in run.stdout, run.stdout + run.stderr
