# Run by `manage.py shell -c` in a one-off container of the new release image, with the real env
# file, before anything of the release goes live: Django's deployment checks (what
# `manage.py check --deploy` runs), one JSON line per finding that the app's SILENCED_SYSTEM_CHECKS
# leaves, read by the filter djangoops.fleet.deploy_check_findings.
import json
from django.core import checks

for message in checks.run_checks(include_deployment_checks=True):
    if message.is_silenced():
        continue
    print("djangoops-check: " + json.dumps({
        "id": message.id or "", "level": message.level, "msg": str(message.msg),
        "hint": str(message.hint or ""), "obj": "" if message.obj is None else str(message.obj),
    }))
print("djangoops: deploy checks done")
