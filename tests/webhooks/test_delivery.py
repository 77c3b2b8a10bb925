"""Delivery to a real receiver on 127.0.0.1: the signed JSON body, failures recorded and retried
with backoff by a real Dramatiq worker on the real broker, giving up after MAX_ATTEMPTS, and the
refusal of a private address when the guard is on."""

from __future__ import annotations

import json
import time

import pytest

from accounts.services import api_key_create
from billing.services import account_credit
from tests.billing.helpers import charge
from webhooks.models import Delivery, Event
from webhooks.services import deliveries_requeue, delivery_attempt, event_emit, webhook_create
from webhooks.signing import signature_verify


def _wait(predicate, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


@pytest.mark.django_db
def test_a_delivery_is_signed_json_a_receiver_can_verify(make_client, receiver):
    client, _ = make_client()
    _, secret = webhook_create(client_id=client.pk, url=receiver.url, events=["key.created"])
    event = event_emit(client_id=client.pk, type="key.created", data={"key_id": 7})
    assert event is not None
    delivery = Delivery.objects.get(event=event)
    assert delivery_attempt(delivery_id=delivery.pk) is True

    [request] = receiver.requests
    body = request["body"]
    assert json.loads(body) == {
        "id": event.id,
        "type": "key.created",
        "created": int(event.created_at.timestamp()),
        "data": {"key_id": 7},
    }
    header = request["headers"]["MaaS-Signature"]
    assert signature_verify(secret=secret, header=header, body=body, now=int(time.time()))
    assert not signature_verify(secret=secret, header=header, body=body + b" ", now=int(time.time()))
    assert not signature_verify(secret=secret, header=header, body=body, now=int(time.time()) + 3600)  # a replay
    assert not signature_verify(secret="whsec_other", header=header, body=body, now=int(time.time()))
    assert request["headers"]["MaaS-Event-Id"] == event.id
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("succeeded", 1, 200)
    # A redelivered message for a finished delivery sends nothing more.
    assert delivery_attempt(delivery_id=delivery.pk) is True
    assert len(receiver.requests) == 1


@pytest.mark.django_db
def test_failures_are_logged_then_given_up_after_max_attempts(make_client, receiver, settings):
    settings.WEBHOOKS = {**settings.WEBHOOKS, "MAX_ATTEMPTS": 3}
    client, _ = make_client()
    webhook_create(client_id=client.pk, url=receiver.url, events=["key.created"])
    event = event_emit(client_id=client.pk, type="key.created", data={})
    delivery = Delivery.objects.get(event=event)
    receiver.statuses = [500, 503, 500]
    assert delivery_attempt(delivery_id=delivery.pk) is False
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code, delivery.last_error) == (
        "pending",
        1,
        500,
        "HTTP 500",
    )
    assert delivery_attempt(delivery_id=delivery.pk) is False
    assert delivery_attempt(delivery_id=delivery.pk) is True  # the third and last
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("failed", 3, "HTTP 500")
    # Every attempt carried the same event id, for the receiver to de-duplicate on.
    assert {json.loads(r["body"])["id"] for r in receiver.requests} == {event.id}


@pytest.mark.django_db
def test_a_receiver_that_is_down_is_an_error_not_a_crash(make_client, receiver):
    client, _ = make_client()
    url = receiver.url
    receiver.close()
    webhook_create(client_id=client.pk, url=url, events=["key.created"])
    event = event_emit(client_id=client.pk, type="key.created", data={})
    delivery = Delivery.objects.get(event=event)
    assert delivery_attempt(delivery_id=delivery.pk) is False
    delivery.refresh_from_db()
    assert delivery.last_status_code is None and "ConnectionError" in delivery.last_error


@pytest.mark.django_db
def test_a_redirect_is_not_followed(make_client, receiver):
    """A 30x answer is a failure: following it could lead to an internal address the guard never saw."""
    client, _ = make_client()
    webhook_create(client_id=client.pk, url=receiver.url, events=["key.created"])
    receiver.statuses = [302]
    event = event_emit(client_id=client.pk, type="key.created", data={})
    assert delivery_attempt(delivery_id=Delivery.objects.get(event=event).pk) is False
    assert len(receiver.requests) == 1


@pytest.mark.django_db
def test_the_guard_is_checked_again_at_delivery(make_client, receiver, settings):
    client, _ = make_client()
    webhook_create(client_id=client.pk, url=receiver.url, events=["key.created"])
    settings.WEBHOOKS = {**settings.WEBHOOKS, "ALLOW_PRIVATE_ADDRESSES": False}
    event = event_emit(client_id=client.pk, type="key.created", data={})
    assert delivery_attempt(delivery_id=Delivery.objects.get(event=event).pk) is False
    assert receiver.requests == []
    assert "not a public address" in Delivery.objects.get(event=event).last_error


@pytest.mark.services
def test_end_to_end_a_crossing_reaches_the_receiver_through_the_worker(make_client, receiver, worker):
    """Debit → event → queue (the real broker) → worker → receiver, with one failure retried."""
    client, _ = make_client(tokens=3)
    _, secret = webhook_create(client_id=client.pk, url=receiver.url, events=["balance.below_threshold"], threshold=2)
    receiver.statuses = [500]  # the first attempt fails; Dramatiq retries it after the backoff
    charge(client.pk)  # 3 → 2: not below 2 yet
    charge(client.pk)  # 2 → 1: crossed
    charge(client.pk)  # 1 → 0: still below, no second event
    requests = receiver.wait_for(2)
    assert len(requests) == 2
    assert _wait(lambda: Delivery.objects.filter(status="succeeded").exists())
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("succeeded", 2)
    bodies = [json.loads(r["body"]) for r in requests]
    assert bodies[0] == bodies[1]
    assert bodies[0]["type"] == "balance.below_threshold" and bodies[0]["data"]["balance"] == 1
    assert signature_verify(
        secret=secret, header=requests[1]["headers"]["MaaS-Signature"], body=requests[1]["body"], now=int(time.time())
    )
    time.sleep(0.3)
    assert len(receiver.requests) == 2 and Event.objects.count() == 1


@pytest.mark.services
def test_key_and_credit_events_are_delivered(make_client, receiver, worker):
    client, _ = make_client()
    webhook_create(client_id=client.pk, url=receiver.url, events=["key.created", "topup.credited"])
    api_key_create(client=client, name="deploy")
    account_credit(client_id=client.pk, amount=5, reason="gift")
    receiver.wait_for(2)
    assert sorted(event["type"] for event in receiver.events()) == ["key.created", "topup.credited"]


@pytest.mark.django_db
def test_lost_messages_are_queued_again(make_client, receiver):
    from datetime import timedelta

    client, _ = make_client()
    webhook_create(client_id=client.pk, url=receiver.url, events=["key.created"])
    event = event_emit(client_id=client.pk, type="key.created", data={})
    assert deliveries_requeue(older_than=timedelta(hours=1)) == 0  # too young: its message may be in flight
    Delivery.objects.filter(event=event).update(created_at=event.created_at - timedelta(hours=3))
    assert deliveries_requeue(older_than=timedelta(hours=1)) == 1
