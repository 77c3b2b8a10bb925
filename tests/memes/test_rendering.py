# ruff: noqa: RUF001  (captions in many scripts are intended)
"""Memes as PNG pictures: any caption, any script, drawn inside the image, the same bytes every time."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageChops

from memes.rendering import caption_clean, render_meme_png

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TEMPLATE = "Test Template"


def render(upper: str, lower: str, *, template: str = TEMPLATE, size=(600, 600)) -> Image.Image:
    data = render_meme_png(upper=upper, lower=lower, template=template, size=size)
    assert data.startswith(PNG_SIGNATURE)
    image = Image.open(io.BytesIO(data))
    image.load()
    assert image.format == "PNG" and image.size == size
    return image.convert("RGB")


def drawn(image: Image.Image, background: Image.Image, box: tuple[int, int, int, int]) -> int:
    """How many pixels of ``box`` the caption changed (against the same template without a caption)."""
    diff = ImageChops.difference(image.crop(box), background.crop(box)).convert("L")
    return sum(diff.point(lambda v: 255 if v > 40 else 0).histogram()[255:])


@pytest.fixture(scope="module")
def blank() -> Image.Image:
    return render("", "")


CAPTIONS = {
    "latin-short": ("Monday", "again"),
    "latin-sentence": ("When the code works on the first try", "and you don't know why"),
    "latin-accents": ("Ça marche, señor!", "Grüße aus Köln"),
    "cyrillic": ("Когда пятница", "а завтра на работу"),
    "greek": ("Όταν ο καφές", "τελειώνει"),
    "cjk": ("日本語のテキスト", "中文 한국어"),
    "emoji-with-words": ("Pizza 🍕 time", "yes 👍🏽 please"),
    "arabic": ("مرحبا بالعالم", "صباح الخير"),
    "combining-marks": ("e\u0301te\u0301 cafe\u0301", "n\u0303o\u0308"),
    "long": ("word " * 120, "supercalifragilistic" * 12),
}


@pytest.mark.parametrize("upper, lower", CAPTIONS.values(), ids=CAPTIONS.keys())
def test_caption_is_drawn_at_the_top_and_the_bottom(upper: str, lower: str, blank: Image.Image) -> None:
    image = render(upper, lower)
    width, height = image.size
    top = drawn(image, blank, (0, 0, width, int(height * 0.34)))
    bottom = drawn(image, blank, (0, int(height * 0.66), width, height))
    assert top > 1500 and bottom > 1500  # a few letters' worth of white fill and black outline


@pytest.mark.parametrize("upper, lower", CAPTIONS.values(), ids=CAPTIONS.keys())
def test_caption_stays_inside_the_image_and_its_bands(upper: str, lower: str, blank: Image.Image) -> None:
    image = render(upper, lower)
    width, height = image.size
    assert drawn(image, blank, (0, int(height * 0.36), width, int(height * 0.62))) == 0  # the middle is free
    assert drawn(image, blank, (0, 0, 6, height)) == 0  # nothing touches the left edge
    assert drawn(image, blank, (width - 6, 0, width, height)) == 0  # nor the right one
    assert drawn(image, blank, (0, 0, width, 3)) == 0  # nor the top


def test_scripts_are_drawn_with_real_glyphs_not_missing_glyph_boxes() -> None:
    # Missing glyphs all look alike: two different words in the same script would render the same.
    for first, second in [("БВГ", "ДЕЖ"), ("ΑΒΓ", "ΔΛΞ"), ("日本", "中文"), ("ابت", "جحخ")]:
        assert render(first, "").tobytes() != render(second, "").tobytes(), (first, second)


def test_empty_caption_is_just_the_background(blank: Image.Image) -> None:
    assert render("   ", "\n\t").tobytes() == blank.tobytes()


@pytest.mark.parametrize(
    "upper, lower",
    [
        ("😀😀😀", "🤷\u200d♂️"),
        ("\ud800 lone surrogate", "\x00\x07 control \x1b[31m"),
        ("\u202eright-to-left override", "\ufeff\u200b zero width"),
        ("שלום עולם", "Hebrew has no font: boxes"),
        ("x" * 100_000, ""),
        ("\U000e0001\U0010ffff private", "\uf8ff"),
    ],
    ids=["emoji-only", "surrogate-control", "bidi-controls", "hebrew", "huge", "private-use"],
)
def test_any_unicode_caption_renders_without_error(upper: str, lower: str) -> None:
    render(upper, lower)


def test_same_input_gives_the_same_bytes() -> None:
    first = render_meme_png(upper="Same", lower="bytes", template="Grumpy Cat")
    assert render_meme_png(upper="Same", lower="bytes", template="Grumpy Cat") == first
    assert render_meme_png(upper="Same", lower="bytes", template="Success Kid") != first  # another background


def test_other_sizes_are_honoured_and_absurd_ones_refused() -> None:
    render("Small", "meme", size=(200, 120))
    render("Tall", "meme", size=(400, 900))
    for size in [(10, 10), (5000, 600), (0, 0)]:
        with pytest.raises(ValueError, match="image size"):
            render_meme_png(upper="a", lower="b", template="t", size=size)


def test_long_caption_is_shrunk_before_it_is_cut() -> None:
    short, longer = render("Monday", ""), render("Monday " * 6, "")
    # The long one fits on fewer lines than it would at full size: it was drawn smaller.
    assert short.getbbox() and longer.getbbox()
    assert caption_clean("Monday " * 6).endswith("MONDAY")
    assert caption_clean("x" * 1000).endswith("…") and len(caption_clean("x" * 1000)) == 400


def test_caption_is_upper_cased_and_cleaned() -> None:
    assert caption_clean("  one\ndoes\tnot  simply ") == "ONE DOES NOT SIMPLY"
    assert caption_clean("straße") == "STRASSE"
    assert caption_clean("e\u0301") == "É"  # composed, so a font with "É" draws it whole
