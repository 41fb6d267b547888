"""A membership's role must fit its organization's kind, in the database too.

A CHECK constraint cannot look across a foreign key, so triggers do it:
- inserting or updating a membership whose role does not fit the kind of its
  organization fails;
- changing the kind of an organization that has memberships fails.

Both raise an integrity error (SQLSTATE 23514 on PostgreSQL, a constraint
error on SQLite). Platform roles are frozen here as they were when written; a
new role needs a migration that replaces the functions.

SQLite drops a table's triggers when Django rebuilds the table (some ALTERs
do): a later migration that alters accounts_membership or
accounts_organization on SQLite must create the triggers again. The tests in
accounts/tests/test_memberships.py fail if it forgets.
"""

from django.db import migrations

PLATFORM_ROLES = "'agent', 'technician', 'mediator', 'finance', 'admin'"
FITS = (
    "(SELECT kind FROM accounts_organization WHERE id = NEW.organization_id) = "
    f"CASE WHEN NEW.role IN ({PLATFORM_ROLES}) THEN 'platform' ELSE 'merchant' END"
)
HAS_MEMBERS = (
    "EXISTS (SELECT 1 FROM accounts_membership WHERE organization_id = NEW.id)"
)
MISFIT = "membership role does not fit the organization kind"
KIND_FIXED = "the kind of an organization with memberships cannot change"

POSTGRESQL = [
    f"""
    CREATE FUNCTION accounts_membership_role_fits() RETURNS trigger AS $$
    BEGIN
        IF NOT COALESCE({FITS}, FALSE) THEN
            RAISE EXCEPTION '{MISFIT}: %', NEW.role USING ERRCODE = '23514';
        END IF;
        RETURN NEW;
    END
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER accounts_membership_role_fits
    BEFORE INSERT OR UPDATE ON accounts_membership
    FOR EACH ROW EXECUTE FUNCTION accounts_membership_role_fits()
    """,
    f"""
    CREATE FUNCTION accounts_organization_kind_fixed() RETURNS trigger AS $$
    BEGIN
        IF NEW.kind <> OLD.kind AND {HAS_MEMBERS} THEN
            RAISE EXCEPTION '{KIND_FIXED}' USING ERRCODE = '23514';
        END IF;
        RETURN NEW;
    END
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER accounts_organization_kind_fixed
    BEFORE UPDATE ON accounts_organization
    FOR EACH ROW EXECUTE FUNCTION accounts_organization_kind_fixed()
    """,
]
POSTGRESQL_REVERSE = [
    "DROP TRIGGER accounts_organization_kind_fixed ON accounts_organization",
    "DROP FUNCTION accounts_organization_kind_fixed()",
    "DROP TRIGGER accounts_membership_role_fits ON accounts_membership",
    "DROP FUNCTION accounts_membership_role_fits()",
]

SQLITE = [
    *(
        f"""
        CREATE TRIGGER accounts_membership_role_fits_{event.lower()}
        BEFORE {event} ON accounts_membership
        WHEN NOT COALESCE({FITS}, 0)
        BEGIN SELECT RAISE(ABORT, '{MISFIT}'); END
        """
        for event in ("INSERT", "UPDATE")
    ),
    f"""
    CREATE TRIGGER accounts_organization_kind_fixed
    BEFORE UPDATE OF kind ON accounts_organization
    WHEN NEW.kind <> OLD.kind AND {HAS_MEMBERS}
    BEGIN SELECT RAISE(ABORT, '{KIND_FIXED}'); END
    """,
]
SQLITE_REVERSE = [
    "DROP TRIGGER accounts_organization_kind_fixed",
    "DROP TRIGGER accounts_membership_role_fits_update",
    "DROP TRIGGER accounts_membership_role_fits_insert",
]


def statements(vendor: str, forward: bool) -> list[str]:
    if vendor == "postgresql":
        return POSTGRESQL if forward else POSTGRESQL_REVERSE
    if vendor == "sqlite":
        return SQLITE if forward else SQLITE_REVERSE
    raise RuntimeError(f"no membership triggers written for {vendor}")


def create_triggers(apps, schema_editor) -> None:
    for sql in statements(schema_editor.connection.vendor, forward=True):
        schema_editor.execute(sql, None)  # "%" in the SQL is no placeholder


def drop_triggers(apps, schema_editor) -> None:
    for sql in statements(schema_editor.connection.vendor, forward=False):
        schema_editor.execute(sql, None)  # "%" in the SQL is no placeholder


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]

    operations = [migrations.RunPython(create_triggers, drop_triggers)]
