# The lab's release 1.1.0 adds this migration to the example app: an index, which the previous
# release runs happily against (rolling deploys and rollbacks need backward-compatible migrations).
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("polls", "0001_initial")]

    operations = [
        migrations.RunSQL(
            "CREATE INDEX polls_question_pub_date_djangoops ON polls_question (pub_date)",
            reverse_sql="DROP INDEX polls_question_pub_date_djangoops",
        ),
    ]
