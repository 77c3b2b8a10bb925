"""Credits, debits and the invariants the database keeps: never below zero, append-only, a ledger
that always adds up to the balance."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, connection, transaction
from django.test import override_settings

from billing.exceptions import InsufficientTokens
from billing.models import LedgerEntry, LedgerIsAppendOnly, TokenAccount
from billing.services import account_credit, price_for
from tests.billing.helpers import assert_ledger_consistent, balance, charge, debits

pytestmark = pytest.mark.django_db


def test_every_new_client_has_an_empty_account(make_client):
    client, _ = make_client()
    account = TokenAccount.objects.get(client=client)
    assert (account.balance, account.paid_calls, account.tokens_spent) == (0, 0, 0)


def test_credit_adds_to_balance_and_writes_a_ledger_credit(make_client):
    client, _ = make_client()
    first = account_credit(client_id=client.pk, amount=70, reason="welcome", actor="ops")
    second = account_credit(client_id=client.pk, amount=30, reason="bonus")
    assert balance(client.pk) == 100
    assert (first.kind, first.amount, first.balance_after, first.actor) == ("credit", 70, 70, "ops")
    assert (second.amount, second.balance_after) == (30, 100)
    assert_ledger_consistent()


@pytest.mark.parametrize("amount", [0, -5, 1.5, True, "5"])
def test_credit_refuses_anything_but_a_positive_whole_number(make_client, amount):
    client, _ = make_client()
    with pytest.raises(ValueError):
        account_credit(client_id=client.pk, amount=amount, reason="bad")
    assert balance(client.pk) == 0
    assert not LedgerEntry.objects.exists()


def test_credit_creates_the_account_of_a_client_that_has_none(make_client):
    client, _ = make_client()
    TokenAccount.objects.filter(client=client).delete()  # e.g. a client created before billing existed
    account_credit(client_id=client.pk, amount=5, reason="late start")
    assert balance(client.pk) == 5


def test_paid_call_debits_the_price_and_says_what_it_charged(make_client):
    client, _ = make_client(tokens=10)
    result = charge(client.pk, price=3)
    assert (result.charged, result.price, result.balance, result.replayed) == (3, 3, 7, False)
    assert result.payload["meme"] > 0
    entry = LedgerEntry.objects.get(pk=result.ledger_entry_id)
    assert (entry.kind, entry.amount, entry.balance_after) == ("debit", -3, 7)
    assert entry.request_ref.startswith("GET /api/memes?query=cat")
    account = TokenAccount.objects.get(client=client)
    assert (account.balance, account.paid_calls, account.tokens_spent) == (7, 1, 3)
    assert_ledger_consistent()


def test_price_may_depend_on_what_was_produced(make_client):
    client, _ = make_client(tokens=10)
    result = charge(client.pk, price=lambda meme: 4 if meme["kind"] == "ai" else 1, produce=lambda: {"kind": "ai"})
    assert result.charged == 4
    assert balance(client.pk) == 6


def test_debit_never_goes_below_zero_and_answers_balance_and_price(make_client):
    client, _ = make_client(tokens=2)
    charge(client.pk, price=2)
    with pytest.raises(InsufficientTokens) as raised:
        charge(client.pk, price=1)
    assert raised.value.status_code == 402
    assert raised.value.extra_details == {"balance": 0, "price": 1}
    assert balance(client.pk) == 0
    assert debits(client.pk) == 1
    assert_ledger_consistent()


def test_price_above_balance_charges_nothing(make_client):
    client, _ = make_client(tokens=2)
    with pytest.raises(InsufficientTokens) as raised:
        charge(client.pk, price=3)
    assert raised.value.extra_details == {"balance": 2, "price": 3}
    assert balance(client.pk) == 2 and debits(client.pk) == 0


def test_client_without_account_gets_402_not_an_error(make_client):
    client, _ = make_client()
    TokenAccount.objects.filter(client=client).delete()
    with pytest.raises(InsufficientTokens) as raised:
        charge(client.pk)
    assert raised.value.extra_details == {"balance": 0, "price": 1}


def test_a_failing_producer_charges_nothing(make_client):
    client, _ = make_client(tokens=5)

    def no_match():
        raise LookupError("no meme matches")

    with pytest.raises(LookupError):
        charge(client.pk, produce=no_match)
    assert balance(client.pk) == 5 and debits(client.pk) == 0


def test_check_balance_first_skips_the_producer_when_the_client_cannot_pay(make_client):
    client, _ = make_client(tokens=1)
    produced = []
    with pytest.raises(InsufficientTokens):
        charge(client.pk, price=2, check_balance_first=True, produce=lambda: produced.append(1) or {"x": 1})
    assert produced == []


@pytest.mark.parametrize("price", [0, -1, 1.0, True])
def test_a_price_that_is_not_a_positive_whole_number_is_a_programming_error(make_client, price):
    client, _ = make_client(tokens=5)
    with pytest.raises(ValueError):
        charge(client.pk, price=price)
    assert balance(client.pk) == 5


def test_database_refuses_a_negative_balance_even_from_raw_sql(make_client):
    client, _ = make_client(tokens=1)
    table = TokenAccount._meta.db_table
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET balance = balance - 2 WHERE client_id = %s", [client.pk])
    assert balance(client.pk) == 1


def test_ledger_entries_cannot_be_changed_or_deleted_from_python(make_client):
    client, _ = make_client(tokens=5)
    entry = LedgerEntry.objects.get(account_id=client.pk)
    entry.amount = 500
    with pytest.raises(LedgerIsAppendOnly):
        entry.save()
    with pytest.raises(LedgerIsAppendOnly):
        entry.delete()
    with pytest.raises(LedgerIsAppendOnly):
        LedgerEntry.objects.filter(pk=entry.pk).update(amount=500)
    with pytest.raises(LedgerIsAppendOnly):
        LedgerEntry.objects.filter(pk=entry.pk).delete()
    assert LedgerEntry.objects.get(pk=entry.pk).amount == 5


@pytest.mark.postgres
@pytest.mark.parametrize("statement", ["UPDATE {t} SET amount = 500 WHERE id = %s", "DELETE FROM {t} WHERE id = %s"])
def test_postgres_trigger_refuses_raw_updates_and_deletes_of_the_ledger(make_client, statement):
    client, _ = make_client(tokens=5)
    entry = LedgerEntry.objects.get(account_id=client.pk)
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement.format(t=LedgerEntry._meta.db_table), [entry.pk])
    assert LedgerEntry.objects.get(pk=entry.pk).amount == 5


def test_ledger_chain_follows_every_credit_and_debit(make_client):
    client, _ = make_client(tokens=10)
    for _ in range(4):
        charge(client.pk, price=2)
    account_credit(client_id=client.pk, amount=5, reason="more")
    entries = list(LedgerEntry.objects.filter(account_id=client.pk).order_by("id"))
    running = 0
    for entry in entries:
        running += entry.amount
        assert entry.balance_after == running
    assert running == balance(client.pk) == 7
    assert_ledger_consistent()


def test_check_ledger_passes_on_a_consistent_ledger(make_client, capsys):
    for tokens in (5, 10):
        client, _ = make_client(tokens=tokens)
        charge(client.pk)
    call_command("check_ledger")
    assert "Ledger OK: accounts=2 entries=4 total_balance=13 problems=0" in capsys.readouterr().out


def test_check_ledger_fails_naming_an_account_whose_balance_was_tampered_with(make_client):
    honest, _ = make_client(tokens=5)
    tampered, _ = make_client(tokens=5)
    TokenAccount.objects.filter(client=tampered).update(balance=50)  # bypassing the ledger
    with pytest.raises(CommandError, match=rf"clients {tampered.pk}\.") as raised:
        call_command("check_ledger")
    assert str(honest.pk) not in str(raised.value).split("clients")[1].split(".")[0].split(", ")


def test_check_ledger_detects_a_broken_chain_and_wrong_usage_totals(make_client):
    client, _ = make_client(tokens=5)
    # An entry that claims a balance its amount does not lead to (written around the services).
    LedgerEntry.objects.create(account_id=client.pk, kind="debit", amount=-1, balance_after=3, reason="forged")
    with pytest.raises(CommandError, match=str(client.pk)):
        call_command("check_ledger")
    from billing.selectors import ledger_verify

    problems = " | ".join(p.problem for p in ledger_verify().problems)
    assert "balance_after 3 != running sum 4" in problems
    assert "balance 5 != ledger sum 4" in problems
    assert "usage totals 0 calls/0 tokens != ledger 1 debits/1 tokens" in problems


def test_prices_come_from_settings_per_kind():
    assert price_for("text") == settings.BILLING["PRICES"]["text"]
    with override_settings(BILLING={**settings.BILLING, "PRICES": {"text": 1, "image": 2, "ai": 5}}):
        assert [price_for(kind) for kind in ("text", "image", "ai")] == [1, 2, 5]
    with pytest.raises(ValueError, match="Unknown meme kind"):
        price_for("video")


def test_system_check_rejects_a_price_below_one():
    from billing.checks import billing_settings_check

    with override_settings(BILLING={**settings.BILLING, "PRICES": {"text": 0, "image": 1, "ai": 1}}):
        assert [error.id for error in billing_settings_check()] == ["billing.E001"]
    assert billing_settings_check() == []
