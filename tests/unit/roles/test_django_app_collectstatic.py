# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""roles/django_app/files/collectstatic.py: when the release's static files are uploaded.

The script runs as ``manage.py shell -c`` runs it (the file's code executed as a module), with the
four Django names it imports replaced by an in-memory storage and a collectstatic that records its
upload there. What is checked is the script's own decision: the marker object names the release by
image and image ID, and only that exact pair skips the upload.
"""

from __future__ import annotations

import io
import pathlib
import sys
import types
import typing as t

import pytest

SCRIPT = pathlib.Path(__file__).resolve().parents[3] / "roles" / "django_app" / "files" / "collectstatic.py"
MARKER = ".djangoops/static-release"
IMAGE = "registry.example.com/polls:1.1.0"
ID_A = "sha256:" + "a" * 64
ID_B = "sha256:" + "b" * 64


class MemoryStorage:
    """The part of a Django storage the script uses."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = dict(files)

    def exists(self, name: str) -> bool:
        return name in self.files

    def open(self, name: str) -> io.BytesIO:
        return io.BytesIO(self.files[name])

    def delete(self, name: str) -> None:
        del self.files[name]

    def save(self, name: str, content: t.Any) -> str:
        self.files[name] = content.read()
        return name


class ContentFile(io.BytesIO):
    pass


def run(monkeypatch: pytest.MonkeyPatch, stored: dict[str, bytes], *, release_id: str | None,
        namespace: dict | None = None) -> tuple[MemoryStorage, list]:
    """Run the script against a storage holding ``stored``; its storage afterwards and the
    collectstatic runs (each one uploads the release's stylesheet). ``namespace`` receives the
    script's names."""
    storage = MemoryStorage(stored)
    uploads: list = []

    def call_command(command: t.Any, **options: t.Any) -> None:
        uploads.append((type(command).__mro__[1].__name__, options))
        storage.files["polls/style.css"] = b"release 1.1.0"

    names = {
        "django.contrib.staticfiles.management.commands.collectstatic": {"Command": type("Command", (), {})},
        "django.contrib.staticfiles.storage": {"staticfiles_storage": storage},
        "django.core.files.base": {"ContentFile": ContentFile},
        "django.core.management": {"call_command": call_command},
    }
    for module in names:
        parts = module.split(".")
        for depth in range(1, len(parts) + 1):
            monkeypatch.setitem(sys.modules, ".".join(parts[:depth]), types.ModuleType(".".join(parts[:depth])))
    for module, attributes in names.items():
        for name, value in attributes.items():
            setattr(sys.modules[module], name, value)
        parent, _dot, child = module.rpartition(".")
        setattr(sys.modules[parent], child, sys.modules[module])
    monkeypatch.setenv("DJANGOOPS_RELEASE", IMAGE)
    if release_id is None:
        monkeypatch.delenv("DJANGOOPS_RELEASE_ID", raising=False)
    else:
        monkeypatch.setenv("DJANGOOPS_RELEASE_ID", release_id)
    # exec, not runpy.run_path: under ansible-test units the collection loader's path hook claims the
    # file's path, and run_path then looks for a __main__ module inside it.
    names_of_script = {"__name__": "<run_path>"} if namespace is None else namespace
    names_of_script["__name__"] = "<run_path>"
    exec(compile(SCRIPT.read_text(encoding="utf-8"), str(SCRIPT), "exec"), names_of_script)  # pylint: disable=exec-used
    return storage, uploads


def test_an_empty_storage_gets_the_files_and_a_marker_naming_image_and_id(monkeypatch, capsys) -> None:
    storage, uploads = run(monkeypatch, {}, release_id=ID_A)
    assert uploads == [("Command", {"interactive": False, "verbosity": 1})]
    assert storage.files == {"polls/style.css": b"release 1.1.0", MARKER: f"{IMAGE} {ID_A}\n".encode()}
    assert capsys.readouterr().out == f"djangoops: static files of {IMAGE} {ID_A} uploaded, replacing those of no release\n"


def test_the_same_image_and_id_are_not_uploaded_again(monkeypatch, capsys) -> None:
    stored = {"polls/style.css": b"release 1.1.0 (uploaded before)", MARKER: f"{IMAGE} {ID_A}\n".encode()}
    storage, uploads = run(monkeypatch, stored, release_id=ID_A)
    assert uploads == []
    assert storage.files == stored
    # The role's one-off task reports no change on this line (tasks/release_tasks.yml).
    assert capsys.readouterr().out == f"djangoops: static files of {IMAGE} {ID_A} are already uploaded\n"


@pytest.mark.parametrize("marker", [
    f"{IMAGE} {ID_B}\n",                                   # the tag pushed again with other content
    f"{IMAGE}\n",                                          # written by a role that recorded the tag only
    f"registry.example.com/polls:1.0.0 {ID_A}\n",          # another release (a rollback's, say)
], ids=["same-tag-other-id", "tag-only-marker", "other-tag"])
def test_anything_but_the_same_image_and_id_uploads(monkeypatch, capsys, marker: str) -> None:
    storage, uploads = run(monkeypatch, {MARKER: marker.encode()}, release_id=ID_A)
    assert len(uploads) == 1
    assert storage.files[MARKER] == f"{IMAGE} {ID_A}\n".encode()
    assert capsys.readouterr().out == (
        f"djangoops: static files of {IMAGE} {ID_A} uploaded, replacing those of {marker.strip()}\n")


@pytest.mark.parametrize("release_id", [None, "", IMAGE, "sha256:" + "a" * 63, ID_A.upper()])
def test_no_image_id_stops_before_any_upload(monkeypatch, release_id: str | None) -> None:
    with pytest.raises(SystemExit) as stopped:
        run(monkeypatch, {MARKER: f"{IMAGE} {ID_A}\n".encode()}, release_id=release_id)
    assert str(stopped.value) == (
        f"djangoops: DJANGOOPS_RELEASE_ID must be the ID of the image of {IMAGE} (sha256:<64 hex digits>),"
        f" got {release_id or ''!r}")


class CountingStorage(MemoryStorage):
    """A storage that counts the requests a remote one would make, and may overwrite on save."""

    def __init__(self, files: dict[str, bytes], *, file_overwrite: bool | None) -> None:
        super().__init__(files)
        if file_overwrite is not None:
            self.file_overwrite = file_overwrite
        self.requests: list[str] = []

    def exists(self, name: str) -> bool:
        self.requests.append("exists " + name)
        return super().exists(name)

    def delete(self, name: str) -> None:
        self.requests.append("delete " + name)
        super().delete(name)


@pytest.mark.parametrize("file_overwrite, requests, left", [
    # S3Storage's default: saving replaces the object, so nothing is asked or deleted first.
    (True, [], {"polls/style.css": b"older"}),
    # A storage that would save under another name: the stored file goes first.
    (False, ["exists polls/style.css", "delete polls/style.css"], {}),
    (None, ["exists polls/style.css", "delete polls/style.css"], {}),
], ids=["overwriting-storage", "renaming-storage", "storage-without-the-setting"])
def test_every_stored_file_is_replaced_asking_the_storage_only_when_it_would_not_overwrite(
        monkeypatch, file_overwrite: bool | None, requests: list[str], left: dict) -> None:
    namespace: dict = {}
    run(monkeypatch, {MARKER: f"{IMAGE} {ID_A}\n".encode()}, release_id=ID_A, namespace=namespace)
    command = namespace["ReplaceEveryFile"]()
    command.storage = CountingStorage({"polls/style.css": b"older"}, file_overwrite=file_overwrite)
    # True: collectstatic copies the release's file, whatever the stored one's time.
    assert command.delete_file("polls/style.css", "polls/style.css", None) is True
    assert command.storage.requests == requests
    assert command.storage.files == left
