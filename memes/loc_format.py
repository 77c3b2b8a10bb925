"""The Library of Congress "Meme Generator" CSV format, with no Django dependency so that scripts
(the sample generator, the benchmarks) write exactly what the importer reads."""

from __future__ import annotations

COLUMNS_2015 = (
    "Meme ID",
    "Archived URL",
    "Base Meme Name",
    "Meme Page URL",
    "MD5 Hash",
    "File Size (In Bytes)",
    "Alternate Text",
)
COLUMNS_2019 = (*COLUMNS_2015, "Display Name", "Upper Text", "Lower Text")
LANGUAGE_COLUMNS = ("Meme ID", "Language")
MISSING = "-"  # how LoC writes a missing value
