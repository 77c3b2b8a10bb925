"""Billing's API errors; the handler in ``config.exceptions`` turns them into the JSON envelope."""

from __future__ import annotations

from rest_framework import status

from config.exceptions import ApiError


class InsufficientTokens(ApiError):
    """402: the balance does not cover the price; ``details`` carries both. Nothing was charged."""

    status_code = status.HTTP_402_PAYMENT_REQUIRED
    default_code = "insufficient_tokens"
    default_detail = "Not enough tokens for this call; nothing was charged."

    def __init__(self, *, balance: int, price: int) -> None:
        super().__init__(details={"balance": balance, "price": price})
        self.balance, self.price = balance, price


class IdempotencyKeyReused(ApiError):
    """422: an ``Idempotency-Key`` already used, within its lifetime, for a request with other parameters."""

    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "idempotency_key_reused"
    default_detail = "This Idempotency-Key was already used for a request with different parameters."


class ClientNotFound(ApiError):
    """404: a staff or top-up call names a client that does not exist."""

    status_code = status.HTTP_404_NOT_FOUND
    default_code = "not_found"
    default_detail = "No such client."


class PurchaseConflict(ApiError):
    """409: a purchase id already credited with another amount or to another client."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "purchase_conflict"
    default_detail = "This purchase_id was already credited with a different amount or client."
