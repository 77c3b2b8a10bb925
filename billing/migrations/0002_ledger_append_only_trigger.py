"""On PostgreSQL the database itself refuses to change or delete a ledger entry, whatever the client.

(TRUNCATE stays possible: it is what the test runner's flush uses, and it needs owner rights.)
SQLite relies on the Python guards in ``billing.models``.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION billing_ledger_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION USING
        MESSAGE = 'billing_ledgerentry is append-only: ' || TG_OP || ' of entry ' || OLD.id || ' refused',
        ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER billing_ledgerentry_append_only
    BEFORE UPDATE OR DELETE ON billing_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION billing_ledger_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS billing_ledgerentry_append_only ON billing_ledgerentry;
DROP FUNCTION IF EXISTS billing_ledger_append_only();
"""


def _on_postgres(sql: str):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]
    operations = [migrations.RunPython(_on_postgres(CREATE), _on_postgres(DROP))]
