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

import hashlib
import io
import json
import pathlib
import sys
import types
import typing as t

import pytest

SCRIPT = pathlib.Path(__file__).resolve().parents[3] / "roles" / "django_app" / "files" / "collectstatic.py"
MARKER = ".djangoops/static-release"
DIGESTS = ".djangoops/static-files.json"
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

    def listdir(self, directory: str) -> tuple[list[str], list[str]]:
        prefix = directory + "/" if directory else ""
        return [], [name[len(prefix):] for name in self.files if name.startswith(prefix) and "/" not in name[len(prefix):]]


class ContentFile(io.BytesIO):
    pass


# The release's static files, as the finders give them to collectstatic.
RELEASE_FILES = {"polls/style.css": b"release 1.1.0", "admin/base.css": b"admin"}


class FakeCollectstatic:
    """Django's collectstatic, as far as the script relies on it: each file found goes through
    delete_file, which says whether to save it."""

    def __init__(self) -> None:
        self.unmodified_files: list[str] = []
        self.logged: list[str] = []

    def log(self, message: str) -> None:
        self.logged.append(message)

    def collect(self) -> list[str]:
        source = MemoryStorage(RELEASE_FILES)
        sent = []
        for path in RELEASE_FILES:
            if self.delete_file(path, path, source):
                with source.open(path) as handle:
                    self.storage.save(path, handle)
                sent.append(path)
        return sent


def run(monkeypatch: pytest.MonkeyPatch, stored: dict[str, bytes], *, release_id: str | None,
        namespace: dict | None = None) -> tuple[MemoryStorage, list]:
    """Run the script against a storage holding ``stored``; its storage afterwards and the
    collectstatic runs (each: its options and the files it sent). ``namespace`` receives the
    script's names."""
    storage = MemoryStorage(stored)
    uploads: list = []

    def call_command(command: t.Any, **options: t.Any) -> None:
        command.storage = storage
        uploads.append((type(command).__mro__[1].__name__, options, command.collect()))

    names = {
        "django.contrib.staticfiles.management.commands.collectstatic": {"Command": FakeCollectstatic},
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


def digests(files: dict[str, bytes]) -> bytes:
    return json.dumps({name: hashlib.sha256(content).hexdigest() for name, content in files.items()}, sort_keys=True).encode()


def test_an_empty_storage_gets_the_files_their_digests_and_a_marker_naming_image_and_id(monkeypatch, capsys) -> None:
    storage, uploads = run(monkeypatch, {}, release_id=ID_A)
    assert uploads == [("FakeCollectstatic", {"interactive": False, "verbosity": 1}, list(RELEASE_FILES))]
    assert storage.files == {**RELEASE_FILES, DIGESTS: digests(RELEASE_FILES), MARKER: f"{IMAGE} {ID_A}\n".encode()}
    assert capsys.readouterr().out == (
        f"djangoops: static files of {IMAGE} {ID_A} uploaded (2 sent, 0 unchanged), replacing those of no release\n")


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
        f"djangoops: static files of {IMAGE} {ID_A} uploaded (2 sent, 0 unchanged), replacing those of {marker.strip()}\n")


def test_only_the_files_that_differ_from_the_recorded_digests_are_sent(monkeypatch, capsys) -> None:
    """The previous release left the admin's file as this release has it, and another stylesheet."""
    previous = {"polls/style.css": b"release 1.0.0", "admin/base.css": b"admin"}
    stored = {**previous, DIGESTS: digests(previous), MARKER: f"registry.example.com/polls:1.0.0 {ID_B}\n".encode()}
    storage, uploads = run(monkeypatch, stored, release_id=ID_A)
    assert [sent for _command, _options, sent in uploads] == [["polls/style.css"]]
    assert storage.files == {**RELEASE_FILES, DIGESTS: digests(RELEASE_FILES), MARKER: f"{IMAGE} {ID_A}\n".encode()}
    assert "(1 sent, 1 unchanged)" in capsys.readouterr().out


@pytest.mark.parametrize("stored, sent", [
    # Deleted from the bucket since (by hand, a lifecycle rule): its digest alone does not keep it.
    ({DIGESTS: digests(RELEASE_FILES), "polls/style.css": b"release 1.1.0"}, ["admin/base.css"]),
    # No record: a first upload, or one stopped half-way (the record goes before any file is sent).
    ({"polls/style.css": b"release 1.1.0", "admin/base.css": b"admin"}, list(RELEASE_FILES)),
    ({DIGESTS: b"{not json", "polls/style.css": b"release 1.1.0", "admin/base.css": b"admin"}, list(RELEASE_FILES)),
    # A digest recorded for other content.
    ({DIGESTS: digests({**RELEASE_FILES, "admin/base.css": b"older"}), "polls/style.css": b"release 1.1.0",
      "admin/base.css": b"older"}, ["admin/base.css"]),
], ids=["file-gone", "no-record", "bad-record", "other-content"])
def test_a_file_is_sent_unless_its_digest_is_recorded_and_the_storage_lists_it(monkeypatch, stored: dict, sent: list) -> None:
    storage, uploads = run(monkeypatch, {**stored, MARKER: f"{IMAGE} {ID_B}\n".encode()}, release_id=ID_A)
    assert uploads[0][2] == sent
    assert storage.files[DIGESTS] == digests(RELEASE_FILES)


class UnlistableStorage(MemoryStorage):
    def listdir(self, directory: str) -> tuple[list[str], list[str]]:
        raise NotImplementedError("subclasses of Storage must provide a listdir() method")


def test_a_storage_that_cannot_list_gets_every_file(monkeypatch) -> None:
    namespace: dict = {}
    run(monkeypatch, {MARKER: f"{IMAGE} {ID_A}\n".encode()}, release_id=ID_A, namespace=namespace)
    command = namespace["ReplaceEveryFile"](stored_digests=json.loads(digests(RELEASE_FILES)))
    command.storage = UnlistableStorage(RELEASE_FILES)
    assert command.collect() == list(RELEASE_FILES)


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
    assert command.delete_file("polls/style.css", "polls/style.css", MemoryStorage(RELEASE_FILES)) is True
    assert command.storage.requests == requests
    assert command.storage.files == left
