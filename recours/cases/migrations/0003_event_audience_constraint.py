# In its own migration, so on PostgreSQL the constraint is added in another
# transaction than 0002's updates.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('cases', '0002_event_audience'),
    ]

    operations = [
        migrations.AddConstraint(
            model_name='caseevent',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('audience', 'everyone'), ('is_public', True)), models.Q(('is_public', False), models.Q(('audience', 'everyone'), _negated=True)), _connector='OR'), name='case_event_public_is_for_everyone'),
        ),
    ]
