"""What accounts tells other apps happened, as Django signals (public: another app connects to these).

Sent once the change is committed (``transaction.on_commit``). Keyword arguments of each:

- :data:`api_key_created` — ``client_id``, ``key_id``, ``prefix``, ``name``;
- :data:`api_key_revoked` — ``client_id``, ``key_id``, ``prefix``, ``name``.
"""

from __future__ import annotations

from django.dispatch import Signal

api_key_created = Signal()
api_key_revoked = Signal()
