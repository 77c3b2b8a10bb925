"""What billing tells other apps happened, as Django signals (public: another app connects to these).

Each is sent once the change is committed (``transaction.on_commit``), so a receiver never acts on a
charge or a credit that was rolled back. Keyword arguments of each signal:

- :data:`balance_threshold_crossed` — ``client_id``, ``threshold``, ``balance`` (now below it),
  ``balance_before`` (at or above it), ``ledger_entry_id``: a debit took the balance from at or
  above ``threshold`` to below it. Sent once per crossing: the next debits, already below, send
  nothing until a credit lifts the balance back up.
- :data:`balance_depleted` — ``client_id``, ``balance_before``, ``ledger_entry_id``: a debit took the
  balance to 0 (the calls after it are refused with 402, so this too is once per depletion).
- :data:`account_credited` — ``client_id``, ``amount``, ``balance``, ``ledger_entry_id``,
  ``purchase_id`` (None unless a purchase top-up), ``reason``.
"""

from __future__ import annotations

from django.dispatch import Signal

balance_threshold_crossed = Signal()
balance_depleted = Signal()
account_credited = Signal()
