from __future__ import annotations

from rest_framework import status

from config.exceptions import ApiError


class NoMatch(ApiError):
    status_code = status.HTTP_404_NOT_FOUND
    default_code = "no_match"
    default_detail = "No meme matches this query."


class CatalogueFileError(Exception):
    """A catalogue or language file that cannot be imported at all (wrong header, unreadable)."""


class AiNotAllowed(ApiError):
    status_code = status.HTTP_403_FORBIDDEN
    default_code = "premium_required"
    default_detail = "AI memes need the premium AI subscription; this client gets catalogue memes."


class MemeNotFound(ApiError):
    status_code = status.HTTP_404_NOT_FOUND
    default_code = "not_found"
    default_detail = "No meme with this id."
