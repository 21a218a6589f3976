# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What a run of config_files must create and write, from what is on disk."""

from __future__ import annotations

import pytest

from ansible_collections.djangoops.fleet.plugins.module_utils._config_files import (
    ConfigFilesError,
    changed_files,
    check_names,
    directories,
    missing_parents,
)


@pytest.mark.parametrize("name", ["", "/etc/nginx/nginx.conf", "../nginx.conf", "conf.d/../../x", "./nginx.conf",
                                  "conf.d//site.conf", "conf.d/", ".."])
def test_names_outside_or_not_normal_are_refused(name: str) -> None:
    with pytest.raises(ConfigFilesError, match="is not a file name inside the directory"):
        check_names(["nginx.conf", name])


def test_every_bad_name_is_named() -> None:
    with pytest.raises(ConfigFilesError) as error:
        check_names(["/a", "../b"])
    assert "'/a'" in str(error.value) and "'../b'" in str(error.value)


def test_names_are_sorted() -> None:
    assert check_names(["tls.conf", "conf.d/10-site.conf", "nginx.conf"]) == ["conf.d/10-site.conf", "nginx.conf", "tls.conf"]


def test_directories_are_the_root_the_nested_ones_and_the_extra_ones_parents_first() -> None:
    names = ["nginx.conf", "conf.d/10-site.conf", "conf.d/a/b.conf"]
    assert directories("/etc/n.candidate", names, ["/var/www/certbot", "/etc/n/conf.d/"]) == [
        "/etc/n.candidate", "/etc/n.candidate/conf.d", "/etc/n/conf.d", "/var/www/certbot", "/etc/n.candidate/conf.d/a"]


def test_missing_parents_are_what_mkdir_p_creates_outermost_first() -> None:
    present = {"/", "/etc"}
    assert missing_parents("/etc/djangoops/nginx/conf.d", present.__contains__) == [
        "/etc/djangoops", "/etc/djangoops/nginx", "/etc/djangoops/nginx/conf.d"]
    assert missing_parents("/etc", present.__contains__) == []


def test_changed_files_are_the_missing_and_the_different_ones() -> None:
    disk = {"/d/nginx.conf": "same\n", "/d/tls.conf": "old\n"}
    files = {"nginx.conf": "same\n", "tls.conf": "new\n", "conf.d/site.conf": "x\n"}
    assert changed_files("/d", files, disk.get) == ["conf.d/site.conf", "tls.conf"]
    assert changed_files("/d", {"nginx.conf": "same\n"}, disk.get) == []
