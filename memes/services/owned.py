"""Memes that belong to a client: the AI memes generated for it."""

from __future__ import annotations

from memes.models import Meme


def memes_owned_erase(*, client_id: int) -> int:
    """Delete the AI memes generated for the client (their captions came from its queries and
    places); returns how many. Nothing references them: what a paid call served is in the ledger
    only as its request, and the stored responses are erased with billing's idempotency records."""
    deleted, _ = Meme.objects.filter(owner_id=client_id).delete()
    return deleted
