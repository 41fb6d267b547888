# Indexes on UPPER(...) for the identifiers a report is matched by, in any case
# (commerce.lookups.same_text); without them every match was a sequential scan.

import django.db.models.functions.text
from django.db import migrations, models

# The customer number lives in accounts, but only commerce's matching searches it
# in any case; the index is created here, in plain SQL that PostgreSQL and SQLite
# both accept, so that it stays with the query it serves.
CUSTOMER_NUMBER_INDEX = (
    "CREATE INDEX customer_number_upper_idx "
    "ON accounts_customer (UPPER(customer_number))"
)


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0001_initial"),
        ("commerce", "0001_initial"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="order",
            index=models.Index(
                django.db.models.functions.text.Upper("reference"),
                name="order_reference_upper_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="order",
            index=models.Index(
                django.db.models.functions.text.Upper("invoice_reference"),
                name="order_invoice_upper_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="terminal",
            index=models.Index(
                django.db.models.functions.text.Upper("code"),
                name="terminal_code_upper_idx",
            ),
        ),
        migrations.RunSQL(
            CUSTOMER_NUMBER_INDEX, reverse_sql="DROP INDEX customer_number_upper_idx"
        ),
    ]
