"""API key format: ``maas_<prefix>_<secret>``.

The prefix (10 lowercase base32 characters) is public and indexes the key; the secret (256 random
bits) is never stored, only the SHA-256 of the whole key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

_KEY_RE = re.compile(r"^maas_([a-z2-7]{10})_([A-Za-z0-9_-]{43})$")


def key_generate() -> tuple[str, str]:
    """Return (prefix, full key)."""
    prefix = base64.b32encode(secrets.token_bytes(10)).decode().lower()[:10]
    return prefix, f"maas_{prefix}_{secrets.token_urlsafe(32)}"


def key_prefix(raw_key: str) -> str | None:
    """The prefix of a well-formed key, else None."""
    match = _KEY_RE.match(raw_key)
    return match.group(1) if match else None


def key_hash(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def key_matches(raw_key: str, stored_hash: str) -> bool:
    return hmac.compare_digest(key_hash(raw_key), stored_hash)


REFRESH_DIGEST_PREFIX = "sha256:"


def refresh_token_digest(token: str) -> str:
    """What is stored of a refresh token: its SHA-256 (idempotent: a digest stays as it is)."""
    if token.startswith(REFRESH_DIGEST_PREFIX):
        return token
    return REFRESH_DIGEST_PREFIX + hashlib.sha256(token.encode()).hexdigest()
