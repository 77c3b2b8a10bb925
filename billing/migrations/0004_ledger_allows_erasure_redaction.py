"""The append-only trigger lets one kind of UPDATE through: an erasure's redaction, which empties
the personal columns (request_ref, actor, idempotency_key) and changes nothing else. Amounts,
balances, kinds, accounts, times, reasons and purchase ids stay immutable; deletes stay refused.
"""

from django.db import migrations

REDACTION_ALLOWED = """
CREATE OR REPLACE FUNCTION billing_ledger_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND NEW.id = OLD.id AND NEW.account_id = OLD.account_id AND NEW.kind = OLD.kind
       AND NEW.amount = OLD.amount AND NEW.balance_after = OLD.balance_after
       AND NEW.created_at = OLD.created_at AND NEW.reason = OLD.reason
       AND NEW.purchase_id IS NOT DISTINCT FROM OLD.purchase_id
       AND NEW.request_ref = '' AND NEW.actor = '' AND NEW.idempotency_key IS NULL THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION USING
        MESSAGE = 'billing_ledgerentry is append-only: ' || TG_OP || ' of entry ' || OLD.id || ' refused',
        ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;
"""

APPEND_ONLY = """
CREATE OR REPLACE FUNCTION billing_ledger_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION USING
        MESSAGE = 'billing_ledgerentry is append-only: ' || TG_OP || ' of entry ' || OLD.id || ' refused',
        ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;
"""


def _on_postgres(sql: str):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("billing", "0003_alert_thresholds")]
    operations = [migrations.RunPython(_on_postgres(REDACTION_ALLOWED), _on_postgres(APPEND_ONLY))]
