from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings as django_settings


@pytest.fixture(autouse=True)
def _webhooks_to_loopback(settings: Any) -> None:
    """The fixtures register webhooks on 127.0.0.1 (never called: nothing is committed to queue them)."""
    settings.WEBHOOKS = {**django_settings.WEBHOOKS, "ALLOW_PRIVATE_ADDRESSES": True}
