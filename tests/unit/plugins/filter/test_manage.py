# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The django_shell_command, manage_words and masked filters as roles/django_app and playbooks/manage.yml call them."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.djangoops.fleet.plugins.filter.manage import FilterModule, django_shell_command, manage_words, masked


def test_the_filters_are_registered():
    assert FilterModule().filters() == {"django_shell_command": django_shell_command, "manage_words": manage_words, "masked": masked}


def test_manage_words_takes_a_text_or_a_list():
    assert manage_words("clearsessions") == ["clearsessions"]
    assert manage_words(["createsuperuser", "--noinput"]) == ["createsuperuser", "--noinput"]


@pytest.mark.parametrize("value", ["", "--help", None, 3])
def test_manage_words_fails_naming_the_variable(value):
    with pytest.raises(AnsibleFilterError, match="^command "):
        manage_words(value, "command")


def test_masked_masks_each_secret_and_needs_a_list():
    assert masked("key=s3cr3t", ["s3cr3t", ""]) == "key=********"
    assert masked(None, ["x"]) == ""
    with pytest.raises(AnsibleFilterError, match="must be a list"):
        masked("text", "s3cr3t")


def test_the_default_manage_command_is_python_manage_py():
    assert django_shell_command("print(1)")[:4] == ["python", "manage.py", "shell", "-c"]


def test_a_tuple_or_list_of_words_is_the_manage_command():
    assert django_shell_command("print(1)", ("python3", "manage.py"), "plan")[:2] == ["python3", "manage.py"]


@pytest.mark.parametrize("manage", [[], "python manage.py", ["python", " "]])
def test_a_bad_manage_command_is_a_filter_error_naming_the_filter(manage):
    with pytest.raises(AnsibleFilterError, match="django_shell_command: the manage command"):
        django_shell_command("print(1)", manage)


def test_a_list_of_scripts_is_one_script():
    assert django_shell_command(["a = 1", "print(a)"]) == django_shell_command("a = 1\nprint(a)")
