"""The delivery actor. Retries and backoff are Dramatiq's; how many attempts a delivery gets is
counted in the database (``Delivery.attempts``), so a redelivered message does not grant more."""

from __future__ import annotations

import dramatiq

from webhooks.conf import webhooks_setting


class DeliveryFailed(Exception):
    """This attempt failed; raising it makes Dramatiq retry the message with backoff."""


@dramatiq.actor(
    actor_name="webhook_deliver",
    queue_name=webhooks_setting("QUEUE_NAME"),
    # The database decides when to give up (MAX_ATTEMPTS); this only has to be larger.
    max_retries=webhooks_setting("MAX_ATTEMPTS") + 2,
    min_backoff=webhooks_setting("MIN_BACKOFF_MS"),
    max_backoff=webhooks_setting("MAX_BACKOFF_MS"),
    time_limit=60_000,
)
def webhook_deliver(delivery_id: int) -> None:
    from webhooks.services import delivery_attempt

    if not delivery_attempt(delivery_id=delivery_id):
        raise DeliveryFailed(f"webhook delivery {delivery_id} failed; retrying with backoff")
