"""Usage export as a stream: CSV or JSON bytes, produced row by row from the ledger selector, so
the response starts at once and memory stays flat whatever the history's size."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

from billing.selectors import EXPORT_COLUMNS

# A spreadsheet runs a cell starting with one of these as a formula ("CSV injection"); the ledger's
# free-text columns carry what clients sent (their query strings), so they are defused with a quote.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class _Line:
    """The file-like object csv.writer wants; ``write`` hands the line back instead of storing it."""

    def write(self, value: str) -> str:
        return value


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return "" if value is None else value


def csv_stream(rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield writer.writerow(EXPORT_COLUMNS)
    for row in rows:
        yield writer.writerow([_cell(row[column]) for column in EXPORT_COLUMNS])


def json_stream(
    rows: Iterable[dict[str, Any]], *, client_id: int, since: date | None, until: date | None
) -> Iterator[str]:
    """One JSON document, ``{"client_id", "from", "to", "entries": [...]}``, written in pieces."""
    head = json.dumps({"client_id": client_id, "from": since, "to": until}, cls=DjangoJSONEncoder)
    yield head[:-1] + ', "entries": ['
    separator = ""
    for row in rows:
        yield separator + json.dumps(row, cls=DjangoJSONEncoder)
        separator = ","
    yield "]}\n"
