# Run by `manage.py shell -c` in a one-off container of the *new* release image, before any app
# container changes. On PostgreSQL the migrations run under a session advisory lock, so two runs
# at once (two operators, a retried job) wait for each other instead of racing; the second finds
# nothing left to do. DJANGOOPS_MIGRATE_PLAN=1 only prints the plan (check mode).
import os
import sys
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

LOCK_KEY = 0x646A616E676F6F70  # "djangoop": one key for every djangoops.fleet migration run


def pending():
    executor = MigrationExecutor(connection)
    return executor.migration_plan(executor.loader.graph.leaf_nodes())


if os.environ.get("DJANGOOPS_MIGRATE_PLAN") == "1":
    plan = pending()
    print("djangoops: %d migration(s) to apply" % len(plan))
    for migration, backwards in plan:
        print("  %s %s.%s" % ("unapply" if backwards else "apply", migration.app_label, migration.name))
    sys.exit(0)

locked = connection.vendor == "postgresql"
if locked:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [LOCK_KEY])
        if not cursor.fetchone()[0]:
            print("djangoops: waiting for the migration lock (another run is migrating)", flush=True)
            cursor.execute("SELECT pg_advisory_lock(%s)", [LOCK_KEY])
    print("djangoops: holding the migration lock")
try:
    # Read the plan only once the lock is held: a run that waited sees what the other one did.
    if not pending():
        print("djangoops: no migrations to apply")
    else:
        call_command("migrate", interactive=False, verbosity=1)
finally:
    if locked:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])
