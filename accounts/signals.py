"""Keep cached credentials honest: any change to a client's keys, state or roles clears them."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save
from django.dispatch import receiver
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from accounts.credentials import credentials_version_publish, principal_cache_clear
from accounts.keys import refresh_token_digest
from accounts.models import ApiKey, Client, Subscription

User = get_user_model()


@receiver(m2m_changed, sender=User.groups.through)
def _roles_changed(
    sender: Any, instance: Any, action: str, reverse: bool, pk_set: set[int] | None, **kwargs: Any
) -> None:
    if not action.startswith("post_"):
        return
    # reverse: a group's members changed (group.user_set.add(...)); else a user's groups changed.
    user_ids = (pk_set or set()) if reverse else {instance.pk}
    for client_id in Client.objects.filter(user_id__in=user_ids).values_list("pk", flat=True):
        principal_cache_clear(client_id=client_id)


def _publish_after_commit(client_id: int) -> None:
    # Noted in the row, for a server that finds Redis back after an outage to publish again.
    Client.objects.filter(pk=client_id).update(credentials_changed_at=timezone.now())
    # After commit: published before it, a concurrent request could read the old row and cache it.
    transaction.on_commit(lambda: credentials_version_publish(client_id=client_id))


@receiver(post_save, sender=Client)
def _client_saved(sender: Any, instance: Client, **kwargs: Any) -> None:
    principal_cache_clear(client_id=instance.pk)
    _publish_after_commit(instance.pk)  # is_active may have changed: JWTs follow at once


@receiver(post_delete, sender=Client)
def _client_deleted(sender: Any, instance: Client, **kwargs: Any) -> None:
    _publish_after_commit(instance.pk)  # gone: its JWTs match no version any more


@receiver(post_save, sender=User)
def _user_saved(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    if not created:  # is_active / is_staff may have changed
        for client_id in Client.objects.filter(user_id=instance.pk).values_list("pk", flat=True):
            principal_cache_clear(client_id=client_id)
            _publish_after_commit(client_id)


@receiver(post_save, sender=ApiKey)
@receiver(post_delete, sender=ApiKey)  # a deleted client's keys go with it (cascade): forget them at once
def _key_saved(sender: Any, instance: ApiKey, **kwargs: Any) -> None:
    principal_cache_clear(prefixes=[instance.prefix])


@receiver(post_save, sender=Subscription)
@receiver(post_delete, sender=Subscription)
def _subscription_changed(sender: Any, instance: Subscription, **kwargs: Any) -> None:
    principal_cache_clear(client_id=instance.client_id)


@receiver(pre_save, sender=OutstandingToken)
def _refresh_token_hashed(sender: Any, instance: OutstandingToken, **kwargs: Any) -> None:
    """Only a digest of a refresh token is stored: simplejwt's blacklist keeps the whole token,
    and one read of a dump could mint a new pair with it. The blacklist works on the ``jti``, so
    nothing needs the token itself; every way simplejwt saves one goes through here."""
    instance.token = refresh_token_digest(instance.token)
