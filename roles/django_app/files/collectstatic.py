# Run by `manage.py shell -c` in a one-off container of the release image: upload the release's
# static files unless they are the ones in the storage already. A marker object names the release
# uploaded last by its image and the image's ID (the sha256 of its content): any other release (a
# new one, or an older one on a rollback), or the same tag with other content (a tag pushed again),
# uploads all its files.
import os
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
uploading = "%s %s" % (release, image_id)


class ReplaceEveryFile(collectstatic.Command):
    """collectstatic that replaces every stored file. The stock command keeps a stored file that is
    newer than the release's, and a stored file's time is its upload time: after a rollback the
    newer release's files would stay, as would an older upload over an image built earlier."""

    def delete_file(self, path, prefixed_path, source_storage):
        # A storage that overwrites on save (S3's default) needs no request per file to ask first.
        if not getattr(self.storage, "file_overwrite", False) and self.storage.exists(prefixed_path):
            self.storage.delete(prefixed_path)
        return True


uploaded = ""
if staticfiles_storage.exists(marker):
    with staticfiles_storage.open(marker) as handle:
        uploaded = handle.read().decode().strip()
if uploaded == uploading:
    print("djangoops: static files of %s are already uploaded" % uploading)
else:
    call_command(ReplaceEveryFile(), interactive=False, verbosity=1)
    if staticfiles_storage.exists(marker):
        staticfiles_storage.delete(marker)
    staticfiles_storage.save(marker, ContentFile(("%s\n" % uploading).encode()))
    print("djangoops: static files of %s uploaded, replacing those of %s" % (uploading, uploaded or "no release"))
