# Run by `manage.py shell -c` in a one-off container of the release image: upload the static files
# once per release. A marker object per release, saved in the static files storage after a
# successful collectstatic, lets every later run of the same release skip the upload entirely.
import hashlib
import os
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.files.base import ContentFile
from django.core.management import call_command

release = os.environ["DJANGOOPS_RELEASE"]
marker = ".djangoops/releases/%s" % hashlib.sha256(release.encode()).hexdigest()[:32]
if staticfiles_storage.exists(marker):
    print("djangoops: static files of %s are already uploaded" % release)
else:
    call_command("collectstatic", interactive=False, verbosity=1)
    staticfiles_storage.save(marker, ContentFile(("%s\n" % release).encode()))
    print("djangoops: static files of %s uploaded" % release)
