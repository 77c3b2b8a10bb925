"""Rows and files in the Library of Congress "Meme Generator" CSV format, for the memes tests."""

from __future__ import annotations

import hashlib
from pathlib import Path

from memes.loc_format import COLUMNS_2019

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"

# (Meme ID, template, upper, lower, language); the rest of each row is filled in by loc_row().
CATALOGUE = [
    (101, "Paranoid Parrot", "i heard a noise", "must be the paranoid neighbours", "en"),
    (102, "Grumpy Cat", "i had fun once", "it was awful", "en"),
    (103, "Grumpy Cat", "monday again", "no", "en"),
    (104, "Success Kid", "found the last slice of pizza", "in the fridge", "en"),
    (105, "Success Kid", "pizza", "-", "en"),
    (106, "Philosoraptor", "if the pizza is round", "why is the box square", "en"),
    (107, "Scumbag Steve", "borrows your pizza", "eats the slice of pizza you saved", "en"),
    (108, "Bad Luck Brian", "visits Paris", "it rains all week", "en"),
    (109, "Bad Luck Brian", "visits London", "it rains all week", "en"),
    (110, "Bad Luck Brian", "visits Berlin", "it rains all week", "en"),
    (111, "Courage Wolf", "this is bullshit", "fight anyway", "en"),
    (112, "Spam Bot", "free followers", "visit www.free-likes.example.com", "en"),
    (201, "Gato Gruñón", "el lunes otra vez", "no gracias", "es"),
    (202, "Niño Exitoso", "encontré la última pizza", "en la nevera", "es"),
    (301, "Кот", "понедельник опять", "нет", "ru"),
]


def loc_row(
    meme_id: int | str,
    template: str,
    upper: str = "-",
    lower: str = "-",
    *,
    alternate: str | None = None,
    image: bool = True,
    columns: tuple[str, ...] = COLUMNS_2019,
) -> list[str]:
    """A LoC row with plausible URLs, MD5 and size; ``image=False`` writes LoC's "-" placeholders."""
    if alternate is None:
        alternate = " ".join(part for part in (upper, lower) if part and part != "-") or "-"
    values = {
        "Meme ID": str(meme_id),
        "Archived URL": f"http://webarchive.loc.gov/all/0/http://cdn.meme.am/instances/250x250/{meme_id}.jpg"
        if image
        else "-",
        "Base Meme Name": template,
        "Meme Page URL": f"http://memegenerator.net/instance/{meme_id}" if image else "-",
        "MD5 Hash": hashlib.md5(str(meme_id).encode()).hexdigest() if image else "-",
        "File Size (In Bytes)": str(30000 + int(str(meme_id)[-3:] or 0)) if image and str(meme_id).isdigit() else "-",
        "Alternate Text": alternate,
        "Display Name": template,
        "Upper Text": upper,
        "Lower Text": lower,
    }
    return [values[column] for column in columns]


def catalogue_import_into_db(directory: Path) -> None:
    """Write CATALOGUE and its language file under ``directory`` and import them (for tests outside
    tests/memes, which have no ``catalogue`` fixture)."""
    import csv

    from memes.services import catalogue_import

    memes, languages = directory / "memes.csv", directory / "languages.csv"
    with memes.open("w", newline="") as handle:
        csv.writer(handle).writerows([COLUMNS_2019, *(loc_row(i, t, u, lo) for i, t, u, lo, _ in CATALOGUE)])
    with languages.open("w", newline="") as handle:
        csv.writer(handle).writerows([["Meme ID", "Language"], *([str(i), lang] for i, *_, lang in CATALOGUE)])
    summary = catalogue_import(path=memes, languages_path=languages, progress=False)
    assert summary.imported == len(CATALOGUE), summary.errors
