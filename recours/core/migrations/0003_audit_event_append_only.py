from django.db import migrations

from recours.core.append_only import triggers


class Migration(migrations.Migration):
    dependencies = [("core", "0002_worker_heartbeat")]

    operations = [triggers("core_auditevent")]
