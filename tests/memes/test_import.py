"""``catalogue_import`` and ``manage.py import_memes``: formats, idempotency, bad rows, bad files."""

from __future__ import annotations

import codecs
import io

import pytest
from django.core.management import CommandError, call_command

from memes.exceptions import CatalogueFileError
from memes.loc_format import COLUMNS_2015, COLUMNS_2019
from memes.models import Meme
from memes.services import catalogue_import
from tests.memes.loc_files import loc_row

pytestmark = pytest.mark.django_db


def test_2019_format_is_imported_with_every_field(write_csv):
    path = write_csv([loc_row(32207992, "Baby Courage Wolf", "if you do not like", "i will sulk")])
    summary = catalogue_import(path=path, progress=False)

    assert (summary.format, summary.imported, summary.skipped) == ("2019", 1, 0)
    meme = Meme.objects.get()
    assert meme.source_id == 32207992
    assert meme.template == "Baby Courage Wolf"
    assert meme.text == "if you do not like i will sulk"
    assert (meme.upper_text, meme.lower_text) == ("if you do not like", "i will sulk")
    assert meme.image_url.endswith("/32207992.jpg")
    assert meme.source_url == "http://memegenerator.net/instance/32207992"
    assert len(meme.md5) == 32
    assert meme.size_bytes == 30992
    assert meme.kind == Meme.Kind.IMAGE
    assert meme.generator == ""
    assert meme.language == "en"  # no language file: detected
    assert meme.is_safe and meme.unsafe_reason == ""


def test_2015_format_without_upper_and_lower_text_uses_the_alternate_text(write_csv):
    row = loc_row(5, "Socially Awkward Penguin", alternate="waves back at someone who waved at the person behind")
    path = write_csv([row[: len(COLUMNS_2015)]], header=COLUMNS_2015)

    summary = catalogue_import(path=path, progress=False)

    assert (summary.format, summary.imported) == ("2015", 1)
    meme = Meme.objects.get()
    assert meme.text == "waves back at someone who waved at the person behind"
    assert (meme.upper_text, meme.lower_text) == ("", "")


def test_dash_placeholders_become_blank_or_null(write_csv):
    path = write_csv([loc_row(7, "Forever Alone", "-", "table for one", image=False)])
    catalogue_import(path=path, progress=False)

    meme = Meme.objects.get()
    assert meme.upper_text == "" and meme.lower_text == "table for one"
    assert meme.text == "table for one"
    assert (meme.image_url, meme.source_url, meme.md5, meme.size_bytes) == ("", "", "", None)
    assert meme.kind == Meme.Kind.TEXT  # no archived image


def test_reimport_updates_and_never_duplicates(write_csv):
    first = write_csv([loc_row(1, "Grumpy Cat", "i had fun once", "it was awful"), loc_row(2, "Success Kid", "yes")])
    assert catalogue_import(path=first, progress=False).imported == 2
    created = Meme.objects.get(source_id=1)

    same = catalogue_import(path=first, progress=False)
    assert (same.imported, same.updated, same.unchanged) == (0, 0, 2)

    changed = write_csv([loc_row(1, "Grumpy Cat", "i had fun once", "never again"), loc_row(3, "Success Kid", "new")])
    summary = catalogue_import(path=changed, progress=False)

    assert (summary.imported, summary.updated, summary.unchanged) == (1, 1, 0)
    assert Meme.objects.count() == 3
    updated = Meme.objects.get(source_id=1)
    assert updated.pk == created.pk and updated.text == "i had fun once never again"
    assert updated.created_at == created.created_at and updated.updated_at > created.updated_at


def test_repeated_meme_id_in_one_file_keeps_the_last_row(write_csv):
    path = write_csv([loc_row(9, "Y U No", "first"), loc_row(10, "Y U No", "other"), loc_row(9, "Y U No", "second")])
    summary = catalogue_import(path=path, batch_size=2, progress=False)

    assert Meme.objects.count() == 2
    assert Meme.objects.get(source_id=9).text == "second"
    assert summary.skipped == 0


def test_bad_rows_are_reported_with_their_line_number_and_skipped(write_csv):
    rows = [
        loc_row(1, "Good Meme", "fine"),
        loc_row("abc", "Bad Id", "x"),  # line 3
        loc_row(2, "Multi", "a caption\nover two lines"),  # lines 4-6 (two quoted fields span lines), good
        loc_row(3, "Short", "x")[:5],  # line 7: too few columns
        [*loc_row(4, "Size", "x")[:5], "12kB", *loc_row(4, "Size", "x")[6:]],  # line 8
        [*loc_row(5, "Md5", "x")[:4], "not-an-md5", *loc_row(5, "Md5", "x")[5:]],  # line 9
        loc_row(6, "-", "no template"),  # line 10
        [*loc_row(7, "Url", "x")[:1], "ftp://example.org/7.jpg", *loc_row(7, "Url", "x")[2:]],  # line 11
        loc_row(8, "Good Meme", "also fine"),
    ]
    summary = catalogue_import(path=write_csv(rows), batch_size=2, progress=False)

    assert (summary.imported, summary.skipped) == (3, 6)
    messages = {error.line: error.message for error in summary.errors}
    assert set(messages) == {3, 7, 8, 9, 10, 11}
    assert "Meme ID 'abc'" in messages[3]
    assert "expected 10 columns, found 5" in messages[7]
    assert "File Size" in messages[8]
    assert "MD5" in messages[9]
    assert "Base Meme Name" in messages[10]
    assert "Archived URL" in messages[11]
    assert Meme.objects.get(source_id=2).text == "a caption\nover two lines"


def test_row_without_caption_but_with_image_is_kept_and_without_either_is_skipped(write_csv):
    rows = [loc_row(1, "Laughing Girls", "-", "-"), loc_row(2, "Nothing", "-", "-", image=False)]
    summary = catalogue_import(path=write_csv(rows), progress=False)

    assert (summary.imported, summary.skipped) == (1, 1)
    assert Meme.objects.get().kind == Meme.Kind.IMAGE
    assert "neither a caption" in summary.errors[0].message


def test_undecodable_bytes_skip_only_their_row(tmp_path):
    good = ",".join(loc_row(1, "Good", "fine")).encode()
    bad = ",".join(loc_row(2, "Bad", "caf")).encode().replace(b"caf", b"caf\xe9")  # Latin-1 byte
    path = tmp_path / "mixed.csv"
    path.write_bytes(b"\n".join([",".join(COLUMNS_2019).encode(), good, bad, b""]))

    summary = catalogue_import(path=path, progress=False)

    assert (summary.imported, summary.skipped) == (1, 1)
    assert summary.errors[0].line == 3 and "UTF-8" in summary.errors[0].message


@pytest.mark.parametrize(
    ("encoding", "delimiter"),
    [("utf-8-sig", ","), ("utf-16", "\t"), ("utf-8", "\t")],
    ids=["utf8-bom", "utf16-tab-as-published-by-loc", "utf8-tab"],
)
def test_bom_encodings_and_tab_separated_files_are_read(write_csv, encoding, delimiter):
    path = write_csv([loc_row(1, "Gato Gruñón", "¿por qué?", "porque sí")], encoding=encoding, delimiter=delimiter)
    summary = catalogue_import(path=path, progress=False)

    assert summary.imported == 1, summary.errors
    assert Meme.objects.get().template == "Gato Gruñón"
    assert path.read_bytes().startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, b"Meme ID"))


def test_a_file_with_another_header_is_refused_with_the_expected_columns(write_csv):
    path = write_csv([["1", "hello"]], header=["id", "caption"])

    with pytest.raises(CatalogueFileError, match="not a LoC Meme Generator file"):
        catalogue_import(path=path, progress=False)
    with pytest.raises(CommandError, match=r"Expected the 2015 columns \(Meme ID, Archived URL"):
        call_command("import_memes", str(path), stdout=io.StringIO(), stderr=io.StringIO())
    assert not Meme.objects.exists()


def test_empty_and_missing_files_are_refused_clearly(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(CommandError, match="is empty"):
        call_command("import_memes", str(empty), stdout=io.StringIO())
    with pytest.raises(CommandError, match="cannot read"):
        call_command("import_memes", str(tmp_path / "nope.csv"), stdout=io.StringIO())


def test_language_file_wins_over_detection_and_unreadable_codes_fall_back(write_csv):
    rows = [loc_row(1, "Cat", "this is clearly english text"), loc_row(2, "Cat", "esto es claramente español")]
    memes = write_csv(rows)
    languages = write_csv([["1", "de"], ["2", "Could Not Detect"]], header=["Meme ID", "Language"])

    catalogue_import(path=memes, languages_path=languages, progress=False)

    assert Meme.objects.get(source_id=1).language == "de"  # the file says so, even if it looks English
    assert Meme.objects.get(source_id=2).language == "es"  # unreadable code: detected


def test_a_language_file_with_another_header_is_refused(write_csv):
    memes = write_csv([loc_row(1, "Cat", "hello")])
    languages = write_csv([["1", "en"]], header=["id", "lang"])
    with pytest.raises(CatalogueFileError, match="not a language file"):
        catalogue_import(path=memes, languages_path=languages, progress=False)


def test_unsafe_captions_and_template_names_are_flagged_with_a_reason(write_csv):
    rows = [
        loc_row(1, "Courage Wolf", "this is bullshit", "fight anyway"),
        loc_row(2, "RomneyMakes.com", "a perfectly fine caption"),
        loc_row(3, "Courage Wolf", "fight anyway"),
    ]
    catalogue_import(path=write_csv(rows), progress=False)

    flagged = {m.source_id: m.unsafe_reason for m in Meme.objects.filter(is_safe=False)}
    assert set(flagged) == {2}  # only blocked memes are unsafe; the others are rated
    assert flagged[2].startswith("template spam")
    ratings = dict(Meme.objects.values_list("source_id", "rating"))
    assert ratings == {1: "pg-13", 2: "blocked", 3: "g"}
    assert Meme.objects.get(source_id=1).rating_reason == "profanity (en): b******t"


def test_command_prints_a_summary_and_the_skipped_lines_with_a_progress_bar(write_csv):
    path = write_csv([loc_row(1, "Good", "fine"), loc_row("x", "Bad", "id")])
    out, err = io.StringIO(), io.StringIO()

    call_command("import_memes", str(path), "--batch-size", "1", stdout=out, stderr=err)

    assert "Imported 1, updated 0, unchanged 0, skipped 1" in out.getvalue()
    assert "skipped line 3: Meme ID 'x'" in err.getvalue()


def test_progress_bar_goes_to_stderr_and_does_not_break_the_import(write_csv, capsys):
    path = write_csv([loc_row(i, "Cat", f"caption {i}") for i in range(1, 40)])
    summary = catalogue_import(path=path, batch_size=7, progress=True)

    assert summary.imported == 39
    captured = capsys.readouterr()
    assert "import" in captured.err and "rows" in captured.err
    assert captured.out == ""


def test_command_rejects_a_zero_batch_size(write_csv):
    with pytest.raises(CommandError, match="at least 1"):
        call_command("import_memes", str(write_csv([])), "--batch-size", "0")
