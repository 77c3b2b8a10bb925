"""Writes to the meme catalogue: the LoC CSV import and the catalogue version bump."""

from __future__ import annotations

import codecs
import csv
import logging
import re
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from django.db import transaction
from tqdm import tqdm

from memes.exceptions import CatalogueFileError
from memes.language import detect_language, normalize_language_code
from memes.loc_format import COLUMNS_2015, COLUMNS_2019, LANGUAGE_COLUMNS, MISSING
from memes.models import CatalogueState, Meme
from memes.rating import BLOCKED, Rating, rate_meme, rate_text
from memes.search.holder import index_holder

logger = logging.getLogger(__name__)

MAX_REPORTED_ERRORS = 1000
# Fields an import writes; created_at is left alone so it keeps the first import's time.
IMPORTED_FIELDS = (
    "template",
    "text",
    "upper_text",
    "lower_text",
    "image_url",
    "source_url",
    "md5",
    "size_bytes",
    "kind",
    "language",
    "is_safe",
    "unsafe_reason",
    "rating",
    "rating_reason",
)
# What an operator decided (rating_locked): an import keeps these as they are in the database.
DECIDED_FIELDS = ("is_safe", "unsafe_reason", "rating", "rating_reason")
_MD5_RE = re.compile(r"^[0-9a-fA-F]{32}$")
_MAX_SOURCE_ID = 2**63 - 1


@dataclass(frozen=True)
class RowError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass
class ImportSummary:
    format: str = ""
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    errors: list[RowError] = field(default_factory=list)  # the first MAX_REPORTED_ERRORS bad rows
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        return self.imported + self.updated + self.unchanged + self.skipped

    def __str__(self) -> str:
        return (
            f"imported={self.imported} updated={self.updated} unchanged={self.unchanged} "
            f"skipped={self.skipped} seconds={self.seconds:.1f}"
        )


def catalogue_changed() -> str:
    """Record that the catalogue changed, so every process refreshes its search index. Returns the new version."""
    version = uuid.uuid4().hex
    CatalogueState.objects.update_or_create(id=1, defaults={"version": version})
    index_holder.invalidate()  # this process looks at once; the others within INDEX_CHECK_SECONDS
    return version


def catalogue_import(
    *,
    path: str | Path,
    languages_path: str | Path | None = None,
    batch_size: int = 1000,
    progress: bool = True,
) -> ImportSummary:
    """Import (insert or update, keyed on the LoC Meme ID) a LoC "Meme Generator" CSV file.

    Streams the file (memory stays flat whatever its size, apart from the language map), writes in
    batches of ``batch_size`` rows (one transaction each), skips and reports bad rows with their line
    number, and raises :class:`CatalogueFileError` when the file is not in the LoC format at all.
    Accepts the 2015 (7 columns) and 2019 (10 columns) revisions, comma- or tab-separated, UTF-8
    with or without BOM, or UTF-16 with BOM (the encoding LoC publishes).
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    started = time.perf_counter()
    languages = _language_map(Path(languages_path)) if languages_path else {}
    summary = ImportSummary()
    path = Path(path)
    with _open_text(path) as stream:
        reader = csv.reader(stream, delimiter=_sniff_delimiter(stream))
        header = next(reader, None)
        if header is None:
            raise CatalogueFileError(f"{path} is empty: expected a header row with the LoC columns {COLUMNS_2019}.")
        columns = _check_header(header, path)
        summary.format = "2019" if len(columns) == len(COLUMNS_2019) else "2015"
        bar = tqdm(
            total=_count_lines(path) if progress else None,
            disable=not progress,
            unit=" rows",
            file=sys.stderr,
            desc=f"import {path.name}",
            mininterval=0.5,
        )
        batch: dict[int, Meme] = {}
        template_ratings: dict[tuple[str, str], Rating] = {}
        line = reader.line_num
        for record in reader:
            first_line, line = line + 1, reader.line_num
            bar.update(line - first_line + 1)
            if not record or (len(record) == 1 and not record[0].strip()):
                continue  # blank line
            try:
                meme = _meme_from_record(record, columns, languages, template_ratings)
            except ValueError as exc:
                summary.skipped += 1
                if len(summary.errors) < MAX_REPORTED_ERRORS:
                    summary.errors.append(RowError(first_line, str(exc)))
                continue
            assert meme.source_id is not None
            batch[meme.source_id] = meme  # a Meme ID repeated within a batch: the later row wins
            if len(batch) >= batch_size:
                _write_batch(batch, summary)
                batch = {}
        if batch:
            _write_batch(batch, summary)
        bar.close()
    if summary.imported or summary.updated:
        catalogue_changed()
    summary.seconds = time.perf_counter() - started
    logger.info("catalogue_import path=%s format=%s %s", path, summary.format, summary)
    return summary


# --- reading ----------------------------------------------------------------------------------


def _open_text(path: Path) -> IO[str]:
    try:
        with path.open("rb") as raw:
            start = raw.read(4)
    except OSError as exc:
        raise CatalogueFileError(f"cannot read {path}: {exc.strerror or exc}") from exc
    encoding = "utf-16" if start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) else "utf-8-sig"
    # Undecodable bytes become U+FFFD, and the row holding them is reported and skipped, instead
    # of one bad byte aborting a 100k-row import half way.
    return path.open(encoding=encoding, errors="replace", newline="")


def _sniff_delimiter(stream: IO[str]) -> str:
    position = stream.tell()
    first_line = stream.readline()
    stream.seek(position)
    return "\t" if first_line.count("\t") > first_line.count(",") else ","


def _count_lines(path: Path) -> int:
    """Lines in the file (for the progress bar's total): a fast binary pass, ~0.1 s per 100 MB."""
    lines = 0
    with path.open("rb") as raw:
        while chunk := raw.read(1 << 20):
            lines += chunk.count(b"\n")
    return max(lines - 1, 0)


def _normalize_column(name: str) -> str:
    return " ".join(name.replace("\ufeff", "").split()).casefold()


def _check_header(header: list[str], path: Path) -> tuple[str, ...]:
    names = tuple(_normalize_column(name) for name in header)
    while names and not names[-1]:
        names = names[:-1]  # trailing separators
    for columns in (COLUMNS_2019, COLUMNS_2015):
        if names == tuple(_normalize_column(name) for name in columns):
            return columns
    raise CatalogueFileError(
        f"{path} is not a LoC Meme Generator file: its header is {', '.join(header)!s}. Expected the 2015 "
        f"columns ({', '.join(COLUMNS_2015)}) or the 2019 ones, which add {', '.join(COLUMNS_2019[7:])}."
    )


def _language_map(path: Path) -> dict[int, str]:
    """Meme ID -> ISO 639-1 code from a ``Meme ID,Language`` file (codes it cannot read become "")."""
    languages: dict[int, str] = {}
    with _open_text(path) as stream:
        reader = csv.reader(stream, delimiter=_sniff_delimiter(stream))
        header = [_normalize_column(name) for name in next(reader, [])]
        if header[:2] != [_normalize_column(name) for name in LANGUAGE_COLUMNS]:
            raise CatalogueFileError(f"{path} is not a language file: expected the header 'Meme ID,Language'.")
        for record in reader:
            if len(record) >= 2 and record[0].strip().isdigit():
                languages[int(record[0])] = normalize_language_code(record[1])
    return languages


def _value(raw: str) -> str:
    value = raw.strip()
    return "" if value == MISSING else value


def _meme_from_record(
    record: list[str],
    columns: tuple[str, ...],
    languages: dict[int, str],
    template_ratings: dict[tuple[str, str], Rating],
) -> Meme:
    """A validated, unsaved Meme; ValueError (with a message for the user) when the row is bad."""
    if len(record) != len(columns):
        raise ValueError(f"expected {len(columns)} columns, found {len(record)}")
    if any("\ufffd" in value for value in record):
        raise ValueError("not valid UTF-8")
    values = dict(zip(columns, record, strict=True))

    raw_id = values["Meme ID"].strip()
    if not raw_id.isdigit() or not 0 < int(raw_id) <= _MAX_SOURCE_ID:
        raise ValueError(f"Meme ID {raw_id!r} is not a positive integer")
    source_id = int(raw_id)

    template = " ".join(_value(values["Base Meme Name"]).split())
    if len(template) > 255:
        raise ValueError("Base Meme Name is longer than 255 characters")
    image_url = _url(values["Archived URL"], "Archived URL")
    source_url = _url(values["Meme Page URL"], "Meme Page URL")
    md5 = _value(values["MD5 Hash"])
    if md5 and not _MD5_RE.match(md5):
        raise ValueError(f"MD5 Hash {md5[:40]!r} is not 32 hexadecimal digits")
    raw_size = _value(values["File Size (In Bytes)"])
    if raw_size and not raw_size.isdigit():
        raise ValueError(f"File Size {raw_size[:40]!r} is not a whole number of bytes")
    upper = _value(values.get("Upper Text", "-"))
    lower = _value(values.get("Lower Text", "-"))
    text = " ".join(part for part in (upper, lower) if part) or _value(values["Alternate Text"])
    if not template:
        raise ValueError("Base Meme Name is missing")
    if not text and not image_url:
        raise ValueError("neither a caption (Alternate Text, Upper Text, Lower Text) nor an Archived URL")

    alternate = _value(values["Alternate Text"])
    language = languages.get(source_id) or detect_language(text or template)
    # The caption, the alternate text (not shown, but not vetted either) and the template name: the
    # strictest rating wins. Thousands of memes share a template, so its rating is computed once.
    rating = rate_meme(text, alternate if alternate != text else "", language=language)
    if rating.level != BLOCKED:
        key = (template, language)
        if key not in template_ratings:
            template_ratings[key] = rate_text(template, language=language)
        template_rating = template_ratings[key]
        if template_rating.rank > rating.rank:
            rating = Rating(template_rating.level, template_rating.category, f"template {template_rating.reason}")
    return Meme(
        source_id=source_id,
        template=template,
        text=text,
        upper_text=upper,
        lower_text=lower,
        image_url=image_url,
        source_url=source_url,
        md5=md5.lower(),
        size_bytes=int(raw_size) if raw_size else None,
        kind=Meme.Kind.IMAGE if image_url else Meme.Kind.TEXT,
        language=language,
        **rating_fields(rating),
    )


def rating_fields(rating: Rating) -> dict[str, Any]:
    """The Meme fields a rating sets: a blocked meme is also unsafe, with the rule as its reason."""
    blocked = rating.level == BLOCKED
    return {
        "rating": rating.level,
        "rating_reason": rating.reason[:120],
        "is_safe": not blocked,
        "unsafe_reason": rating.reason[:120] if blocked else "",
    }


def _url(raw: str, column: str) -> str:
    url = _value(raw)
    if not url:
        return ""
    if not url.startswith(("http://", "https://")) or len(url) > 500 or any(char.isspace() for char in url):
        raise ValueError(f"{column} {url[:60]!r} is not an http(s) URL of at most 500 characters")
    return url


# --- writing ----------------------------------------------------------------------------------


def _write_batch(batch: dict[int, Meme], summary: ImportSummary) -> None:
    with transaction.atomic():
        existing: dict[int, tuple[Any, ...]] = {
            row[0]: row[1:]
            for row in Meme.objects.filter(source_id__in=list(batch)).values_list(
                "source_id", *IMPORTED_FIELDS, "rating_locked"
            )
        }
        to_write = []
        for source_id, meme in batch.items():
            current = existing.get(source_id)
            if current is not None and current[-1]:
                # An operator decided this meme's rating: nothing a machine computes undoes it.
                stored = dict(zip(IMPORTED_FIELDS, current[:-1], strict=True))
                for name in DECIDED_FIELDS:
                    setattr(meme, name, stored[name])
            if current is not None:
                current = current[:-1]
            if current is None:
                summary.imported += 1
            elif current == tuple(getattr(meme, name) for name in IMPORTED_FIELDS):
                summary.unchanged += 1
                continue  # re-importing the same file rewrites nothing, and updated_at keeps its meaning
            else:
                summary.updated += 1
            to_write.append(meme)
        if to_write:
            Meme.objects.bulk_create(
                to_write,
                update_conflicts=True,
                unique_fields=["source_id"],
                update_fields=[*IMPORTED_FIELDS, "updated_at"],
            )


def meme_rating(meme: Meme) -> Rating:
    """What the rules say of a stored meme now: its caption and its template name, the stricter."""
    rating = rate_text(meme.text, language=meme.language or None)
    if rating.level != BLOCKED:
        template = rate_text(meme.template, language=meme.language or None)
        if template.rank > rating.rank:
            rating = Rating(template.level, template.category, f"template {template.reason}")
    return rating


def meme_rerate(*, meme: Meme) -> bool:
    """Set the meme's rating fields from the rules (unsaved); whether they changed. Operators'
    decisions (``rating_locked``) are the caller's to respect."""
    fields = rating_fields(meme_rating(meme))
    changed = any(getattr(meme, name) != value for name, value in fields.items())
    for name, value in fields.items():
        setattr(meme, name, value)
    return changed


@dataclass
class RerateSummary:
    rated: int = 0
    changed: int = 0
    decided: int = 0  # left alone: an operator decided their rating
    seconds: float = 0.0

    def __str__(self) -> str:
        return f"rated={self.rated} changed={self.changed} left_to_operators={self.decided} seconds={self.seconds:.1f}"


def catalogue_rerate(*, batch_size: int = 2000, progress: bool = True) -> RerateSummary:
    """Apply the current rules to every meme (catalogue and AI), in id-ordered batches, writing only
    the memes whose rating changed; memes an operator decided are left alone. Idempotent: a second
    run changes nothing. Running processes refresh their search index as after an import."""
    started = time.perf_counter()
    summary = RerateSummary()
    summary.decided = Meme.objects.filter(rating_locked=True).count()
    undecided = Meme.objects.filter(rating_locked=False)
    bar = tqdm(
        total=undecided.count() if progress else None,
        disable=not progress,
        unit=" memes",
        file=sys.stderr,
        desc="rate memes",
        mininterval=0.5,
    )
    fields = ["rating", "rating_reason", "is_safe", "unsafe_reason"]
    last_id = 0
    while True:
        batch = list(
            undecided.filter(id__gt=last_id)
            .order_by("id")
            .only("id", "text", "template", "language", *fields)[:batch_size]
        )
        if not batch:
            break
        last_id = batch[-1].pk
        changed = [meme for meme in batch if meme_rerate(meme=meme)]
        if changed:
            # rating_locked=False again in the UPDATE's WHERE: a decision made while we were rating wins.
            with transaction.atomic():
                ids = set(
                    Meme.objects.select_for_update()
                    .filter(pk__in=[m.pk for m in changed], rating_locked=False)
                    .values_list("pk", flat=True)
                )
                Meme.objects.bulk_update([m for m in changed if m.pk in ids], fields)
            summary.changed += len(ids)
        summary.rated += len(batch)
        bar.update(len(batch))
    bar.close()
    if summary.changed:
        catalogue_changed()
    summary.seconds = time.perf_counter() - started
    logger.info("catalogue_rerate %s", summary)
    return summary
