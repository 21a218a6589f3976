# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The release's scripts run through manage.py shell -c the same way on old and new Django."""

from __future__ import annotations

import pytest

from ansible_collections.djangoops.fleet.plugins.module_utils import _manage

# A script shaped like roles/django_app/files/migrate.py: a function that reads a top-level import.
SCRIPT = """import json
LIMIT = 2


def plan():
    return json.dumps(list(range(LIMIT)))


print("plan " + plan())
"""


def shell_like_django_3_1(command: str) -> None:
    """What django.core.management.commands.shell does with -c up to Django 3.1: exec() inside a method,
    so the code's top-level names go into the method's locals."""
    exec(command)  # noqa: S102  # pylint: disable=exec-used


def shell_like_django_5(command: str) -> None:
    """What later versions do: exec() with the shell module's globals."""
    exec(command, {"__name__": "django.core.management.commands.shell"})  # noqa: S102  # pylint: disable=exec-used


def run_as_shell_would(shell, argv: list[str]) -> None:
    assert argv[-3:-1] == ["shell", "-c"]
    shell(argv[-1])


def test_the_bare_script_fails_on_django_3_1_as_the_tutorial_app_showed():
    with pytest.raises(NameError):
        shell_like_django_3_1(SCRIPT)


@pytest.mark.parametrize("shell", [shell_like_django_3_1, shell_like_django_5])
def test_the_wrapped_script_runs_on_old_and_new_django(shell, capsys):
    run_as_shell_would(shell, _manage.shell_command(["python", "manage.py"], SCRIPT, "release"))
    assert capsys.readouterr().out == "plan [0, 1]\n"


def test_the_command_is_the_manage_command_then_shell():
    argv = _manage.shell_command(["python3", "src/manage.py"], "print(1)")
    assert argv[:4] == ["python3", "src/manage.py", "shell", "-c"]
    assert len(argv) == 5


@pytest.mark.parametrize("text", ['quote " and \' and """', "back\\slash \\n not a newline", "unicode: é ✓", "tab\tend"])
def test_any_text_in_the_script_survives(text, capsys):
    script = "print(%r)" % text
    run_as_shell_would(shell_like_django_3_1, _manage.shell_command(["python"], script))
    assert capsys.readouterr().out == text + "\n"


def test_an_exit_of_the_script_is_the_exit_of_the_command():
    argv = _manage.shell_command(["python", "manage.py"], "import sys\nsys.exit(3)")
    with pytest.raises(SystemExit) as exit_info:
        run_as_shell_would(shell_like_django_3_1, argv)
    assert exit_info.value.code == 3


def test_a_traceback_names_the_script():
    argv = _manage.shell_command(["python", "manage.py"], "x = 1\nraise RuntimeError('boom')", "admin-create")
    with pytest.raises(RuntimeError) as error:
        run_as_shell_would(shell_like_django_5, argv)
    assert error.traceback[-1].frame.code.raw.co_filename == "<djangoops admin-create>"


@pytest.mark.parametrize("manage", [[], "python manage.py", ["python", ""], ["python", None], None])
def test_a_manage_command_that_is_not_a_list_of_words_is_refused(manage):
    with pytest.raises(ValueError, match="manage command"):
        _manage.shell_command(manage, "print(1)")


def test_a_script_that_is_not_text_is_refused():
    with pytest.raises(TypeError):
        _manage.shell_command(["python", "manage.py"], b"print(1)")


def test_several_scripts_run_one_after_the_other_in_one_namespace(capsys):
    argv = _manage.shell_command(["python"], ["import json\nSEEN = 1", "print(json.dumps(SEEN + 1))"])
    run_as_shell_would(shell_like_django_3_1, argv)
    assert capsys.readouterr().out == "2\n"


@pytest.mark.parametrize(("value", "words"), [
    ("clearsessions", ["clearsessions"]),
    ("createsuperuser --noinput --username 'ada lovelace'", ["createsuperuser", "--noinput", "--username", "ada lovelace"]),
    (["shell", "-c", "print(1); print(2)"], ["shell", "-c", "print(1); print(2)"]),
    ("  check --deploy  ", ["check", "--deploy"]),
    ("polls_fix-votes", ["polls_fix-votes"]),
])
def test_a_management_command_becomes_its_words(value, words):
    assert _manage.command_words(value) == words


@pytest.mark.parametrize(("value", "says"), [
    ("", "is empty"),
    ("   ", "is empty"),
    ([], "is empty"),
    ("--settings=x check", "must start with the name of a management command"),
    ("/bin/sh -c id", "must start with the name of a management command"),
    ("manage.py check", "must start with the name of a management command"),
    ("check 'unclosed", "No closing quotation"),
    ({"command": "check"}, "must be a management command"),
    (["check", 3], "must be a management command"),
    (None, "must be a management command"),
])
def test_a_bad_management_command_is_named_with_its_variable(value, says):
    with pytest.raises(ValueError, match="^command") as raised:
        _manage.command_words(value, "command")
    assert says in str(raised.value)


def test_masked_replaces_every_secret_longest_first():
    text = "db=hunter22 key=hunter2 again hunter22"
    assert _manage.masked(text, ["hunter2", "hunter22"]) == "db=******** key=******** again ********"


def test_masked_leaves_text_without_secrets_and_ignores_empty_values():
    assert _manage.masked("nothing to hide", ["", None, "absent"]) == "nothing to hide"
