# Run by `manage.py shell -c` in a one-off container of the release image: upload the release's
# static files unless they are the ones in the storage already. A marker object names the release
# uploaded last by its image and the image's ID (the sha256 of its content): any other release (a
# new one, or an older one on a rollback), or the same tag with other content (a tag pushed again),
# uploads its files. Of those, only the files that differ are sent: a second object records the
# sha256 of every file the last complete upload left in the storage, and a file whose content has
# that digest and that the storage still lists is not sent again (most releases change a few static
# files; each upload is a request to the storage).
import hashlib
import json
import os
import posixpath
import re
import sys

from django.contrib.staticfiles.management.commands import collectstatic
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.files.base import ContentFile
from django.core.management import call_command

release = os.environ["DJANGOOPS_RELEASE"]
image_id = os.environ.get("DJANGOOPS_RELEASE_ID", "")
if not re.fullmatch(r"sha256:[0-9a-f]{64}", image_id):
    sys.exit("djangoops: DJANGOOPS_RELEASE_ID must be the ID of the image of %s (sha256:<64 hex digits>), got %r"
             % (release, image_id))
marker = ".djangoops/static-release"
digests_name = ".djangoops/static-files.json"
uploading = "%s %s" % (release, image_id)


def _read(name):
    """An object of the storage as text, or '' when there is none."""
    if not staticfiles_storage.exists(name):
        return ""
    with staticfiles_storage.open(name) as handle:
        return handle.read().decode()


class ReplaceEveryFile(collectstatic.Command):
    """collectstatic that replaces every stored file that differs from the release's. The stock
    command keeps a stored file that is newer than the release's, and a stored file's time is its
    upload time: after a rollback the newer release's files would stay, as would an older upload
    over an image built earlier. Here the content decides: the digest the last complete upload
    recorded for the file (``stored_digests``) against the release's."""

    def __init__(self, *args, stored_digests=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.stored_digests = stored_digests or {}
        self.digests = {}
        self.listings = {}

    def listed(self, directory):
        """The file names the storage lists in a directory, asked once per directory; None when the
        storage cannot list (then every file is sent)."""
        if directory not in self.listings:
            try:
                self.listings[directory] = set(self.storage.listdir(directory)[1])
            except (NotImplementedError, OSError):
                self.listings[directory] = None
        return self.listings[directory]

    def delete_file(self, path, prefixed_path, source_storage):
        digest = hashlib.sha256()
        with source_storage.open(path) as source:
            for chunk in iter(lambda: source.read(1 << 16), b""):
                digest.update(chunk)
        self.digests[prefixed_path] = digest.hexdigest()
        if self.stored_digests.get(prefixed_path) == self.digests[prefixed_path]:
            directory, name = posixpath.split(prefixed_path)
            listed = self.listed(directory)
            if listed is not None and name in listed:
                self.unmodified_files.append(prefixed_path)
                self.log("Skipping '%s' (the storage holds this content)" % path)
                return False
        # A storage that overwrites on save (S3's default) needs no request per file to ask first.
        if not getattr(self.storage, "file_overwrite", False) and self.storage.exists(prefixed_path):
            self.storage.delete(prefixed_path)
        return True


uploaded = _read(marker).strip()
if uploaded == uploading:
    print("djangoops: static files of %s are already uploaded" % uploading)
else:
    recorded = _read(digests_name)
    try:
        stored = json.loads(recorded or "{}")
    except ValueError:
        stored = {}
    # Until this upload is complete the storage holds a mix: a run stopped half-way leaves no
    # record of digests, and the next one sends every file.
    if recorded:
        staticfiles_storage.delete(digests_name)
    command = ReplaceEveryFile(stored_digests=stored if isinstance(stored, dict) else {})
    call_command(command, interactive=False, verbosity=1)
    staticfiles_storage.save(digests_name, ContentFile(json.dumps(command.digests, sort_keys=True).encode()))
    if staticfiles_storage.exists(marker):
        staticfiles_storage.delete(marker)
    staticfiles_storage.save(marker, ContentFile(("%s\n" % uploading).encode()))
    print("djangoops: static files of %s uploaded (%d sent, %d unchanged), replacing those of %s"
          % (uploading, len(command.digests) - len(command.unmodified_files), len(command.unmodified_files),
             uploaded or "no release"))
