"""Webhook writes: register and delete webhooks, turn what happened into events and deliveries,
and attempt one delivery (the worker's job).

Flow: billing or accounts commits a change and sends its signal (``billing.events``,
``accounts.events``) → :mod:`webhooks.signals` calls :func:`event_emit` → one ``Event`` row and one
``Delivery`` row per subscribed webhook, in one transaction, then (on commit) one queue message per
delivery → the ``webhook_deliver`` actor calls :func:`delivery_attempt`, which POSTs the signed
event and records the outcome; a failure is retried with backoff by Dramatiq, up to MAX_ATTEMPTS.
:func:`deliveries_requeue` puts back on the queue deliveries whose message was lost (broker down
at enqueue time), so delivery is at least once; receivers de-duplicate on the event id.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

import dramatiq
import requests
from django.db import transaction
from django.utils import timezone
from dramatiq import Message

from billing.services import account_alert_thresholds_set
from webhooks.conf import webhooks_setting
from webhooks.exceptions import TooManyWebhooks, WebhookNotFound, WebhookUrlRefused
from webhooks.guard import url_refusal
from webhooks.models import Delivery, Event, EventType, Webhook
from webhooks.signing import salt_generate, secret_for, signature_header

logger = logging.getLogger("maas.webhooks")

DELIVER_ACTOR = "webhook_deliver"
USER_AGENT = "MaaS-Webhooks/1"


def webhook_create(
    *, client_id: int, url: str, events: Iterable[str], threshold: int | None = None
) -> tuple[Webhook, str]:
    """Register a webhook; returns it with its signing secret, which is shown this once (it can be
    recomputed by the server to sign, never read back by anyone through the API)."""
    refusal = url_refusal(url)
    if refusal is not None:
        raise WebhookUrlRefused(refusal)
    with transaction.atomic():
        # Count under the client's existing rows' lock would not stop two concurrent creations;
        # the limit is a quota against abuse, not an invariant, so a rare 11th is acceptable.
        if Webhook.objects.filter(client_id=client_id).count() >= webhooks_setting("MAX_PER_CLIENT"):
            raise TooManyWebhooks()
        salt = salt_generate()
        secret = secret_for(salt)
        webhook = Webhook.objects.create(
            client_id=client_id,
            url=url,
            events=sorted(set(events)),
            threshold=threshold,
            secret_salt=salt,
            secret_hint=secret[-4:],
        )
        _thresholds_sync(client_id=client_id)
    return webhook, secret


def webhook_delete(*, client_id: int, webhook_id: int) -> None:
    """Delete the client's webhook (and its delivery log). Another client's is "not found": its
    existence is none of the caller's business."""
    with transaction.atomic():
        deleted, _ = Webhook.objects.filter(client_id=client_id, pk=webhook_id).delete()
        if not deleted:
            raise WebhookNotFound()
        _thresholds_sync(client_id=client_id)


def _thresholds_sync(*, client_id: int) -> None:
    """Tell billing the balances whose crossing this client subscribed to (it checks them in the debit)."""
    rows = Webhook.objects.filter(client_id=client_id, threshold__isnull=False).values_list("events", "threshold")
    thresholds = [t for events, t in rows if EventType.BALANCE_BELOW_THRESHOLD in events and t is not None]
    account_alert_thresholds_set(client_id=client_id, thresholds=thresholds)


def event_emit(*, client_id: int, type: str, data: dict[str, Any], threshold: int | None = None) -> Event | None:
    """Record that ``type`` happened to the client and queue its delivery to every webhook that
    subscribed to it (for balance.below_threshold: those with this ``threshold``). None when no
    webhook wants it: nothing is stored."""
    webhooks = [
        webhook
        for webhook in Webhook.objects.filter(client_id=client_id).only("id", "events", "threshold")
        if type in webhook.events and (threshold is None or webhook.threshold == threshold)
    ]
    if not webhooks:
        return None
    with transaction.atomic():
        event = Event.objects.create(id=f"evt_{uuid.uuid4().hex}", client_id=client_id, type=type, data=data)
        deliveries = Delivery.objects.bulk_create([Delivery(webhook=webhook, event=event) for webhook in webhooks])
        ids = [delivery.pk for delivery in deliveries]
        transaction.on_commit(lambda: _enqueue_all(ids))
    return event


def _enqueue_all(delivery_ids: list[int]) -> None:
    for delivery_id in delivery_ids:
        try:
            delivery_enqueue(delivery_id=delivery_id)
        except Exception:  # the broker is down: deliveries_requeue() sends it later; never fail the caller
            logger.exception("webhook delivery %s not queued; it stays pending for deliveries_requeue", delivery_id)


def delivery_enqueue(*, delivery_id: int, delay_ms: int | None = None) -> None:
    broker = dramatiq.get_broker()
    queue_name = webhooks_setting("QUEUE_NAME")
    if queue_name not in broker.get_declared_queues():
        broker.declare_queue(queue_name)
    message: Message[Any] = Message(
        queue_name=queue_name, actor_name=DELIVER_ACTOR, args=(delivery_id,), kwargs={}, options={}
    )
    broker.enqueue(message, delay=delay_ms)


def event_body(event: Event) -> bytes:
    """The JSON a receiver gets: the same bytes for every attempt, so a signature covers exactly them."""
    payload = {"id": event.id, "type": event.type, "created": int(event.created_at.timestamp()), "data": event.data}
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


def delivery_attempt(*, delivery_id: int) -> bool:
    """Try to deliver once. True when there is nothing more to do (delivered, given up, or gone);
    False when it failed and should be retried (the actor raises so Dramatiq retries with backoff)."""
    delivery = Delivery.objects.select_related("webhook", "event").filter(pk=delivery_id).first()
    if delivery is None or delivery.status != Delivery.Status.PENDING:
        return True  # deleted with its webhook, or a redelivered message for a finished delivery
    webhook, event = delivery.webhook, delivery.event
    body = event_body(event)
    status_code: int | None = None
    error = url_refusal(webhook.url)  # again: the name may resolve elsewhere now
    if error is None:
        now = int(timezone.now().timestamp())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "MaaS-Event-Id": event.id,
            "MaaS-Signature": signature_header(secret=secret_for(webhook.secret_salt), timestamp=now, body=body),
        }
        timeout = webhooks_setting("TIMEOUT_SECONDS")
        try:
            # No redirects: a 30x to an internal address would walk around the guard.
            with requests.post(
                webhook.url, data=body, headers=headers, timeout=timeout, allow_redirects=False, stream=True
            ) as response:
                status_code = response.status_code
            if not 200 <= status_code < 300:
                error = f"HTTP {status_code}"
        except requests.RequestException as exc:
            error = f"{type(exc).__name__}: {exc}"[:1000]
    delivery.attempts += 1
    delivery.last_attempt_at = timezone.now()
    delivery.last_status_code = status_code
    delivery.last_error = error or ""
    if error is None:
        delivery.status = Delivery.Status.SUCCEEDED
        delivery.delivered_at = delivery.last_attempt_at
    elif delivery.attempts >= webhooks_setting("MAX_ATTEMPTS"):
        delivery.status = Delivery.Status.FAILED
    # Only if still pending: a concurrent attempt (a redelivered message) that finished first wins.
    Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.PENDING).update(
        status=delivery.status,
        attempts=delivery.attempts,
        last_attempt_at=delivery.last_attempt_at,
        last_status_code=status_code,
        last_error=delivery.last_error,
        delivered_at=delivery.delivered_at,
    )
    if error is not None:
        logger.warning("webhook delivery %s attempt %s failed: %s", delivery.pk, delivery.attempts, error)
    return delivery.status != Delivery.Status.PENDING


def deliveries_requeue(*, older_than: timedelta = timedelta(hours=2)) -> int:
    """Queue again the pending deliveries not attempted for ``older_than`` (their message was lost:
    the broker was down when they were queued, or a message outlived its retries). Keep
    ``older_than`` above the whole retry window, or live deliveries get a second message (harmless:
    an attempt on a finished delivery does nothing, but it is wasted work)."""
    cutoff = timezone.now() - older_than
    stale = Delivery.objects.filter(status=Delivery.Status.PENDING, created_at__lt=cutoff).exclude(
        last_attempt_at__gte=cutoff
    )
    ids = list(stale.values_list("pk", flat=True)[:10_000])
    for delivery_id in ids:
        delivery_enqueue(delivery_id=delivery_id)
    return len(ids)


def delivery_retry(*, delivery_id: int, client_id: int | None = None) -> None:
    """Operator or client asks for another try of a failed delivery: pending again, queued now."""
    deliveries = Delivery.objects.filter(pk=delivery_id)
    if client_id is not None:
        deliveries = deliveries.filter(webhook__client_id=client_id)
    if not deliveries.exclude(status=Delivery.Status.SUCCEEDED).update(status=Delivery.Status.PENDING, attempts=0):
        raise WebhookNotFound("No failed or pending delivery with this id.")
    transaction.on_commit(lambda: delivery_enqueue(delivery_id=delivery_id))


@transaction.atomic
def client_webhooks_erase(*, client_id: int) -> int:
    """Delete the client's webhooks, their delivery log and its events; returns how many webhooks."""
    deleted = Webhook.objects.filter(client_id=client_id).count()
    Webhook.objects.filter(client_id=client_id).delete()
    Event.objects.filter(client_id=client_id).delete()
    account_alert_thresholds_set(client_id=client_id, thresholds=[])
    return deleted
