"""Paid calls: charge for what was served, exactly once. Plain steps, called in this order by the
app that serves (``memes.services``):

1. :func:`paid_call_replay` — the ``Idempotency-Key`` seen before (within its lifetime)? Answer
   the stored response, charge 0. Same key, other parameters → 422.
2. The caller chooses (or generates) what it serves. Before the account row is locked: the row
   lock is the one thing that serialises a client's calls, so it must be held for as short a time
   as possible, never across a search, an image render or an AI backend's network call. If that
   fails (404 no match, 400, anything), nothing has been charged or stored. A costly choice (AI)
   can first ask :func:`account_funds_check` whether the client can pay at all.
3. :func:`account_debit` — atomically, in one transaction: lock the account row, check the
   balance, debit it, append the ledger entry, store the idempotency record. On PostgreSQL this is
   ONE statement (``UPDATE … WHERE balance >= price RETURNING`` feeding ``INSERT``s through CTEs),
   run as its own transaction: the row lock is taken and released inside the server, so it is
   never held while a Python thread waits for the GIL or the network. Elsewhere (SQLite) it is the
   same steps in an ``atomic()`` block around a ``select_for_update()``. Not enough tokens → 402 and
   what was chosen is dropped: nothing charged, nothing stored.
4. Two concurrent calls with the same key both get to step 3; the second waits on the row lock,
   then hits the (client, key) unique constraint, its whole charge rolls back, and
   :func:`account_debit` answers the winner's stored response with charge 0.

:func:`paid_request_read` takes from the HTTP request what these steps need (:class:`PaidRequest`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone

from billing import events
from billing.conf import billing_setting
from billing.exceptions import IdempotencyKeyReused, InsufficientTokens
from billing.idempotency import idempotency_key_read, request_fingerprint
from billing.models import IdempotencyRecord, LedgerEntry, TokenAccount
from billing.selectors import account_balance

logger = logging.getLogger("maas.billing")


@dataclasses.dataclass(frozen=True, slots=True)
class PaidRequest:
    """What billing needs to know of the request being paid for."""

    request_ref: str  # what the ledger records as paid for: method, path and query (or a call id)
    idempotency_key: str | None = None
    fingerprint: str = ""  # of the request's parameters: the same key with another one is a 422


def paid_request_read(request: HttpRequest, *, params: Mapping[str, Any]) -> PaidRequest:
    """The :class:`PaidRequest` of an HTTP request whose validated parameters are ``params``.

    Raises ``ValidationError`` (400) for a malformed ``Idempotency-Key``. The fingerprint is only
    ever compared when a key repeats, so it is computed only when there is a key.
    """
    key = idempotency_key_read(request)
    fingerprint = ""
    if key is not None:
        method = "GET" if request.method == "HEAD" else str(request.method)  # a HEAD asks for what its GET does
        fingerprint = request_fingerprint(method=method, path=request.path, params=params)
    return PaidRequest(
        request_ref=f"{request.method} {request.get_full_path()}", idempotency_key=key, fingerprint=fingerprint
    )


@dataclasses.dataclass(frozen=True, slots=True)
class PaidCallResult:
    payload: dict[str, Any]  # what was served, as JSON: the stored one on a replay
    price: int  # the price of what was served
    charged: int  # what THIS call charged: the price, or 0 on a replay
    balance: int  # the balance left after this call
    replayed: bool  # True: an Idempotency-Key replay, nothing charged now
    ledger_entry_id: int  # the debit that paid for the payload (the original one on a replay)


def paid_call_replay(*, client_id: int, paid: PaidRequest) -> PaidCallResult | None:
    """The stored outcome of an earlier call with this request's ``Idempotency-Key``; None when
    there is no key, no earlier call, or its record expired. Raises :class:`IdempotencyKeyReused`
    (422) when the key was used for a request with other parameters."""
    if paid.idempotency_key is None:
        return None
    return _replay(client_id=client_id, key=paid.idempotency_key, fingerprint=paid.fingerprint)


def account_funds_check(*, client_id: int, amount: int) -> None:
    """Raise :class:`InsufficientTokens` (402) now if the balance cannot pay ``amount``: one read, so
    that an expensive choice (an AI meme) is not made for a client who cannot pay for it."""
    balance = account_balance(client_id=client_id)
    if balance < amount:
        raise InsufficientTokens(balance=balance, price=amount)


def account_debit(
    *,
    client_id: int,
    amount: int,
    paid: PaidRequest,
    payload: dict[str, Any],
    reason: str,
    actor: str = "",
) -> PaidCallResult:
    """Charge ``amount`` tokens for serving ``payload`` (JSON-able) to ``client_id``, exactly once.

    With an ``Idempotency-Key``, the payload is stored for replays, and a concurrent call with the
    same key that committed first is answered instead (its stored payload, charge 0). Raises
    :class:`InsufficientTokens` (402), in which case nothing was charged or stored.
    """
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 1:
        raise ValueError(f"A price must be a positive whole number of tokens, not {amount!r}.")
    key = paid.idempotency_key
    stored_json = None
    if key is not None:
        stored_json = json.dumps(payload, cls=DjangoJSONEncoder)
        payload = json.loads(stored_json)  # the first answer is exactly what a replay will get

    charge = _charge_single_statement if _single_statement() else _charge_locked
    try:
        entry_id, balance_after, crossed = charge(
            client_id=client_id,
            amount=amount,
            reason=reason[:200],
            request_ref=paid.request_ref[:500],
            actor=actor[:150],
            idempotency_key=key,
            fingerprint=paid.fingerprint,
            stored_json=stored_json,
        )
    except IntegrityError:
        if key is None:
            raise
        # A concurrent call with the same key committed first; our debit rolled back with the insert.
        replay = _replay(client_id=client_id, key=key, fingerprint=paid.fingerprint)
        if replay is None:
            raise
        return replay
    if balance_after == 0 or crossed:  # the usual call is neither: two tests, nothing else
        _balance_events(
            client_id=client_id, amount=amount, balance_after=balance_after, crossed=crossed or [], entry_id=entry_id
        )
    return PaidCallResult(
        payload=payload, price=amount, charged=amount, balance=balance_after, replayed=False, ledger_entry_id=entry_id
    )


def _crossed(thresholds: list[int] | None, *, balance_after: int, amount: int) -> list[int]:
    """The thresholds ``t`` this debit crossed: ``after < t <= before``. Calls made while already
    below one cross nothing, so each crossing is told once, whatever the concurrency (debits of one
    account are serialised by its row lock, so their before/after ranges never overlap)."""
    return [t for t in thresholds or () if balance_after < t <= balance_after + amount]


def _balance_events(*, client_id: int, amount: int, balance_after: int, crossed: list[int], entry_id: int) -> None:
    """Tell the apps that listen (webhooks) what this debit crossed, once it is committed."""
    before = balance_after + amount
    depleted = balance_after == 0

    def send() -> None:
        for threshold in crossed:
            events.balance_threshold_crossed.send(
                sender=TokenAccount,
                client_id=client_id,
                threshold=threshold,
                balance=balance_after,
                balance_before=before,
                ledger_entry_id=entry_id,
            )
        if depleted:
            events.balance_depleted.send(
                sender=TokenAccount, client_id=client_id, balance_before=before, ledger_entry_id=entry_id
            )

    transaction.on_commit(send)


def _single_statement() -> bool:
    return connection.vendor == "postgresql" and bool(billing_setting("SINGLE_STATEMENT_ON_POSTGRES"))


def _ttl() -> timedelta:
    return timedelta(hours=billing_setting("IDEMPOTENCY_TTL_HOURS"))


def _replay(*, client_id: int, key: str, fingerprint: str) -> PaidCallResult | None:
    """The stored outcome of an earlier call with this key, or None if there is none (or it expired)."""
    record = (
        IdempotencyRecord.objects.filter(client_id=client_id, key=key)
        .values("pk", "fingerprint", "response", "price", "ledger_entry_id", "created_at")
        .first()
    )
    if record is None:
        return None
    if record["created_at"] < timezone.now() - _ttl():
        # Expired: forget it so this call can store its own (the unique constraint would refuse it).
        IdempotencyRecord.objects.filter(pk=record["pk"], created_at=record["created_at"]).delete()
        return None
    if record["fingerprint"] != fingerprint:
        raise IdempotencyKeyReused(details={"idempotency_key": key})
    return PaidCallResult(
        payload=record["response"],
        price=record["price"],
        charged=0,
        balance=account_balance(client_id=client_id),
        replayed=True,
        ledger_entry_id=record["ledger_entry_id"],
    )


@functools.cache
def _charge_sql(with_idempotency: bool) -> str:
    account, entry, record = (m._meta.db_table for m in (TokenAccount, LedgerEntry, IdempotencyRecord))
    sql = f"""
        WITH debit AS (
            UPDATE {account}
               SET balance = balance - %(amount)s,
                   tokens_spent = tokens_spent + %(amount)s,
                   paid_calls = paid_calls + 1,
                   updated_at = %(now)s
             WHERE client_id = %(client_id)s AND balance >= %(amount)s
         RETURNING client_id, balance,
                   -- The thresholds this debit crossed (after < t <= before), as "10,100"; NULL when
                   -- none, the usual answer, which costs Python nothing to read.
                   CASE WHEN alert_thresholds IS NULL THEN NULL ELSE (
                       SELECT string_agg(t, ',') FROM jsonb_array_elements_text(alert_thresholds) AS t
                        WHERE t::bigint > balance AND t::bigint <= balance + %(amount)s
                   ) END AS crossed
        ), entry AS (
            INSERT INTO {entry}
                   (account_id, kind, amount, balance_after, reason, request_ref, idempotency_key, actor, created_at)
            SELECT client_id, 'debit', -%(amount)s, balance, %(reason)s, %(request_ref)s, %(key)s, %(actor)s, %(now)s
              FROM debit
         RETURNING id, balance_after
        )"""
    if with_idempotency:
        sql += f""", record AS (
            INSERT INTO {record}
                   (client_id, key, fingerprint, response, price, balance_after, ledger_entry_id, created_at)
            SELECT %(client_id)s, %(key)s, %(fingerprint)s, %(response)s::jsonb, %(amount)s, balance_after, id, %(now)s
              FROM entry
        )"""
    return sql + " SELECT entry.id, entry.balance_after, debit.crossed FROM entry, debit"


def _charge_single_statement(
    *,
    client_id: int,
    amount: int,
    reason: str,
    request_ref: str,
    actor: str,
    idempotency_key: str | None,
    fingerprint: str,
    stored_json: str | None,
) -> tuple[int, int, list[int] | None]:
    """PostgreSQL: lock, check, debit, ledger and idempotency record in one statement.

    The UPDATE takes the account row's lock (the lock ``select_for_update()`` would take) and holds
    it to the end of the transaction. A concurrent debit of the same account waits for it, then
    re-checks ``balance >= amount`` against the committed balance: two calls can never both spend
    the last token, and the ledger entries of one account are appended in balance order.
    """
    params: dict[str, Any] = {
        "client_id": client_id,
        "amount": amount,
        "now": timezone.now(),
        "reason": reason,
        "request_ref": request_ref,
        "key": idempotency_key,
        "actor": actor,
        "fingerprint": fingerprint,
        "response": stored_json,
    }
    sql = _charge_sql(idempotency_key is not None)
    # Inside a caller's transaction: a savepoint, so a duplicate key does not poison it. In
    # autocommit: none, the statement is its own transaction, committed before it returns.
    savepoint = transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext()
    with savepoint, connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:  # no account, or balance < amount: nothing was written
        raise InsufficientTokens(balance=account_balance(client_id=client_id), price=amount)
    return row[0], row[1], None if row[2] is None else [int(t) for t in row[2].split(",")]


def _charge_locked(
    *,
    client_id: int,
    amount: int,
    reason: str,
    request_ref: str,
    actor: str,
    idempotency_key: str | None,
    fingerprint: str,
    stored_json: str | None,
) -> tuple[int, int, list[int] | None]:
    """Portable charge (SQLite, or PostgreSQL when the single statement is switched off)."""
    now = timezone.now()
    with transaction.atomic():
        # Lock the account row until commit. Without it, two concurrent calls could both read a
        # balance of 1, both pass the check and both debit (a lost update: balance -1, or a
        # constraint error after serving). On SQLite the IMMEDIATE transaction has already taken the
        # database's write lock, which serialises the same way.
        locked = TokenAccount.objects.select_for_update().filter(client_id=client_id)
        found = locked.values_list("balance", "alert_thresholds").first()
        current, thresholds = found if found is not None else (None, None)
        if current is None or current < amount:
            raise InsufficientTokens(balance=current or 0, price=amount)
        TokenAccount.objects.filter(client_id=client_id).update(
            balance=F("balance") - amount,
            tokens_spent=F("tokens_spent") + amount,
            paid_calls=F("paid_calls") + 1,
            updated_at=now,
        )
        entry = LedgerEntry.objects.create(
            account_id=client_id,
            kind=LedgerEntry.Kind.DEBIT,
            amount=-amount,
            balance_after=current - amount,
            reason=reason,
            request_ref=request_ref,
            idempotency_key=idempotency_key,
            actor=actor,
            created_at=now,
        )
        if idempotency_key is not None:
            IdempotencyRecord.objects.create(
                client_id=client_id,
                key=idempotency_key,
                fingerprint=fingerprint,
                response=json.loads(stored_json or "null"),
                price=amount,
                balance_after=entry.balance_after,
                ledger_entry=entry,
                created_at=now,
            )
    return entry.pk, entry.balance_after, _crossed(thresholds, balance_after=entry.balance_after, amount=amount)


def idempotency_records_purge(*, older_than: timedelta | None = None) -> int:
    """Delete idempotency records past their lifetime (default: the configured TTL); returns how many."""
    cutoff = timezone.now() - (older_than if older_than is not None else _ttl())
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
