"""Memes as pictures: the caption in white, black-outlined capitals at the top and bottom of a background.

:func:`render_meme_png` is a pure function of its arguments: the same caption, template and size give the
same PNG bytes, so a rendered image can be cached forever under the meme's id.

* **Fonts.** Anton (the Impact look, package ``fontpkg-anton``) draws what it can; for every other
  character the first font of the fallback chain that has the glyph draws it, chosen per word (so a word
  keeps one face) and per character only when no font has the whole word: Oswald Bold (Cyrillic, same
  condensed look), Noto Sans ExtraBold (Greek, Vietnamese, the rest of Latin and Cyrillic), Noto Sans
  Arabic, Noto Sans CJK. Coverage comes from each font's ``cmap`` (fontTools), read once per process and
  only when a character needs it. Characters no font has are dropped when they are symbols (emoji) or
  invisible, and drawn as the fallback font's "missing glyph" box otherwise, so a caption never vanishes.
* **Layout.** Text is upper-cased, wrapped on spaces (and between characters for words wider than the
  image, as in CJK), and shrunk step by step until it fits its band (about a third of the height);
  what still does not fit at the smallest size is cut with an ellipsis. Lines whose first strong
  character is right-to-left are laid out right to left; Pillow's raqm layout shapes Arabic.
* **Background.** Generated from a hash of the template name (no image files): a sunburst, stripes or
  halftone dots over a two-colour gradient, a badge with the template's initials, and the template's name
  in small print at the bottom.
"""

from __future__ import annotations

import functools
import hashlib
import io
import logging
import math
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, ImageOps

logger = logging.getLogger("memes.rendering")

MIN_SIDE, MAX_SIDE = 64, 2048
MAX_CAPTION_CHARS = 400  # per line; more cannot be read on a meme anyway
_BAND = 0.31  # share of the height each caption may use
_MARGIN = 0.035  # share of the width left free on each side
_LABEL = 0.026  # template name size, share of the height
_LARGEST, _SMALLEST = 0.125, 0.034  # caption font sizes, share of the height
_STEP = 0.9
_ELLIPSIS = "…"
_KEEP_FORMAT = {"\u200c", "\u200d"}  # zero-width (non-)joiners change shaping: keep them with their word


@dataclass(frozen=True)
class _FontSpec:
    name: str
    path: Path
    variation: tuple[tuple[bytes, float], ...] = ()  # (axis name, value) for variable fonts


def _font_specs() -> list[_FontSpec]:
    """The fallback chain, in order of preference; fonts whose package is missing are skipped."""
    import fontpkg

    specs: list[_FontSpec] = []
    wanted = (
        ("anton", ()),
        ("oswald", ((b"Weight", 700.0),)),
        ("noto-sans", ((b"Weight", 800.0), (b"Width", 87.5))),
        ("noto-sans-arabic", ((b"Weight", 800.0),)),
    )
    for slug, variation in wanted:
        try:
            specs.append(_FontSpec(slug, fontpkg.family(slug).files[0].path, variation))
        except (fontpkg.FontpkgError, IndexError):
            logger.warning("render_font_missing font=%s effect=fewer_scripts", slug)
    try:
        import noto_cjk_sans_jp_bold

        specs.append(_FontSpec("noto-sans-cjk", Path(str(noto_cjk_sans_jp_bold.FONT_PATH))))
    except ImportError:
        logger.warning("render_font_missing font=noto-sans-cjk effect=no_cjk")
    if not specs or specs[0].name != "anton":
        raise RuntimeError("the meme font Anton is not installed: pip install -r requirements/base.txt")
    return specs


@functools.cache
def _fonts() -> tuple[_FontSpec, ...]:
    return tuple(_font_specs())


_coverage: dict[int, frozenset[int]] = {}
_coverage_lock = threading.Lock()


def _covers(index: int, codepoint: int) -> bool:
    cmap = _coverage.get(index)
    if cmap is None:
        with _coverage_lock:
            cmap = _coverage.get(index)
            if cmap is None:
                from fontTools.ttLib import TTFont

                with TTFont(str(_fonts()[index].path), lazy=True) as font:
                    cmap = frozenset(font.getBestCmap())
                _coverage[index] = cmap
    return codepoint in cmap


_thread_fonts = threading.local()


def _font(index: int, size: int) -> ImageFont.FreeTypeFont:
    """A font at a size, cached per thread: a FreeType face must not be used by two threads at once."""
    cache: dict[tuple[int, int], ImageFont.FreeTypeFont] | None = getattr(_thread_fonts, "cache", None)
    if cache is None:
        cache = _thread_fonts.cache = {}
    font = cache.get((index, size))
    if font is None:
        if len(cache) > 256:
            cache.clear()
        spec = _fonts()[index]
        font = ImageFont.truetype(str(spec.path), size)
        if spec.variation:
            wanted = dict(spec.variation)
            axes = font.get_variation_axes()
            values = [float(wanted.get(axis["name"], axis["default"]) or 0) for axis in axes]  # type: ignore[arg-type]
            font.set_variation_by_axes(values)
        cache[(index, size)] = font
    return font


# --- text: cleaning, font runs, measuring, wrapping ------------------------------------------------


def caption_clean(text: str) -> str:
    """The caption as drawn: NFC, upper case, one line, no control or invisible characters, bounded length."""
    text = unicodedata.normalize("NFC", text or "")
    kept = []
    for char in text:
        category = unicodedata.category(char)
        if category in ("Zl", "Zp") or char in "\t\n\r\x0b\x0c":
            kept.append(" ")
        elif category in ("Cc", "Cs", "Co", "Cn") or (category == "Cf" and char not in _KEEP_FORMAT):
            continue
        else:
            kept.append(char)
    text = " ".join("".join(kept).upper().split())
    if len(text) > MAX_CAPTION_CHARS:
        text = text[: MAX_CAPTION_CHARS - 1].rstrip() + _ELLIPSIS
    return text


def _attaches(char: str) -> bool:
    """Combining marks, joiners and variation selectors belong to the character before them, in its font."""
    if char in _KEEP_FORMAT or 0xFE00 <= ord(char) <= 0xFE0F:
        return True
    return unicodedata.category(char) in ("Mn", "Me", "Mc")


def _font_for_char(char: str) -> int | None:
    codepoint = ord(char)
    for index in range(len(_fonts())):
        if _covers(index, codepoint):
            return index
    return None


def _missing_glyph_font() -> int:
    """The font whose "missing glyph" box stands for a letter no font has."""
    names = [spec.name for spec in _fonts()]
    return names.index("noto-sans") if "noto-sans" in names else 0


def _word_runs(word: str) -> list[tuple[int, str]]:
    """(font index, text) runs of one word: one font for the whole word when one has every glyph."""
    base = [c for c in word if not _attaches(c)]
    for index in range(len(_fonts())):
        if all(_covers(index, ord(c)) for c in base):
            return [(index, word)]
    runs: list[tuple[int, str]] = []
    for char in word:
        if _attaches(char) and runs:
            runs[-1] = (runs[-1][0], runs[-1][1] + char)
            continue
        found = _font_for_char(char)
        if found is None:
            if unicodedata.category(char)[0] in "SCZ":
                continue  # emoji and other symbols no font has: leave them out rather than draw boxes
            found = _missing_glyph_font()
        index = found
        if runs and runs[-1][0] == index:
            runs[-1] = (index, runs[-1][1] + char)
        else:
            runs.append((index, char))
    return runs


@functools.lru_cache(maxsize=4096)
def _runs_cached(word: str) -> tuple[tuple[int, str], ...]:
    return tuple(_word_runs(word))


def _is_rtl(text: str) -> bool:
    for char in text:
        direction = unicodedata.bidirectional(char)
        if direction in ("R", "AL"):
            return True
        if direction == "L":
            return False
    return False


class _Measure:
    """Widths at one font size, memoised for the duration of one layout."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._widths: dict[str, float] = {}
        self.space = _font(0, size).getlength(" ")

    def word(self, word: str) -> float:
        width = self._widths.get(word)
        if width is None:
            width = sum(_font(index, self.size).getlength(text) for index, text in _runs_cached(word))
            self._widths[word] = width
        return width

    def line(self, line: str) -> float:
        words = line.split(" ")
        return sum(self.word(w) for w in words) + self.space * (len(words) - 1)


def _split_word(word: str, measure: _Measure, max_width: float) -> list[str]:
    """A word wider than the line, cut between characters (never inside a combining sequence).

    Widths are summed per character (kerning ignored): cheap, and a cut a pixel early is harmless.
    """
    pieces: list[str] = []
    current, width = "", 0.0
    for char in word:
        char_width = measure.word(char)
        if current and not _attaches(char) and width + char_width > max_width:
            pieces.append(current)
            current, width = "", 0.0
        current += char
        width += char_width
    if current:
        pieces.append(current)
    return pieces


def _wrap(text: str, measure: _Measure, max_width: float) -> list[str]:
    lines: list[str] = []
    current, current_width = "", 0.0
    for word in text.split(" "):
        width = measure.word(word)
        if current and current_width + measure.space + width <= max_width:
            current, current_width = f"{current} {word}", current_width + measure.space + width
            continue
        if current:
            lines.append(current)
        if width <= max_width:
            current, current_width = word, width
        else:
            *full, current = _split_word(word, measure, max_width)
            lines.extend(full)
            current_width = measure.word(current)
    if current:
        lines.append(current)
    return lines


def _ellipsize(line: str, measure: _Measure, max_width: float) -> str:
    while line and measure.line(line + _ELLIPSIS) > max_width:
        line = line[:-1].rstrip()
    return line + _ELLIPSIS


@dataclass(frozen=True)
class _Block:
    size: int
    lines: tuple[str, ...]
    line_height: int
    stroke: int
    ascent: int  # of the first line, outline included: how far its ink rises above the baseline
    descent: int  # of the last line, below its baseline

    @property
    def height(self) -> int:
        return self.ascent + (len(self.lines) - 1) * self.line_height + self.descent


def _extent(line: str, size: int, stroke: int) -> tuple[int, int]:
    """(ascent, descent) of a line's ink, so accents ("É") and descenders stay inside the image."""
    ascent = descent = 0.0
    for index, text in _line_runs(line):
        left, top, right, bottom = _font(index, size).getbbox(text, anchor="ls", stroke_width=stroke)
        if right > left:
            ascent, descent = max(ascent, -top), max(descent, bottom)
    return round(ascent) or round(size * 0.75), round(descent)


def _block(size: int, lines: list[str]) -> _Block:
    stroke = max(1, round(size / 14))
    return _Block(
        size=size,
        lines=tuple(lines),
        line_height=round(size * 1.08),
        stroke=stroke,
        ascent=_extent(lines[0], size, stroke)[0],
        descent=_extent(lines[-1], size, stroke)[1],
    )


def _layout(text: str, max_width: float, max_height: float, height: int) -> _Block | None:
    """The largest size at which ``text`` fits the band; at the smallest size, cut with an ellipsis."""
    if not text:
        return None
    size = max(8, round(height * _LARGEST))
    smallest = max(8, round(height * _SMALLEST))
    while True:
        measure = _Measure(size)
        lines = _wrap(text, measure, max_width)
        block = _block(size, lines)
        if block.height <= max_height:
            return block
        if size <= smallest:
            keep = max(1, int((max_height - block.ascent - block.descent) // block.line_height) + 1)
            return _block(size, [*lines[: keep - 1], _ellipsize(lines[keep - 1], measure, max_width)])
        size = max(smallest, math.floor(size * _STEP))


def _line_runs(line: str) -> list[tuple[int, str]]:
    """(font, text) runs of a line in drawing order, spaces joined to the run before them."""
    words = line.split(" ")
    if _is_rtl(line):
        words.reverse()
    runs: list[tuple[int, str]] = []
    for position, word in enumerate(words):
        word_runs = list(_runs_cached(word))
        if _is_rtl(word):
            word_runs.reverse()
        if position:
            word_runs = [(word_runs[0][0] if word_runs else 0, " "), *word_runs]
        for index, text in word_runs:
            if runs and (runs[-1][0] == index or text == " "):
                runs[-1] = (runs[-1][0], runs[-1][1] + text)
            else:
                runs.append((index, text))
    return runs


def _draw_line(draw: ImageDraw.ImageDraw, line: str, *, center_x: float, baseline: float, block: _Block) -> None:
    runs = _line_runs(line)
    widths = [_font(index, block.size).getlength(text) for index, text in runs]
    x = center_x - sum(widths) / 2
    for (index, text), width in zip(runs, widths, strict=True):
        draw.text(
            (x, baseline),
            text,
            font=_font(index, block.size),
            fill=(255, 255, 255),
            stroke_width=block.stroke,
            stroke_fill=(0, 0, 0),
            anchor="ls",
        )
        x += width


# --- background ------------------------------------------------------------------------------------


def _hsv(hue: float, saturation: float, value: float) -> tuple[int, int, int]:
    import colorsys

    r, g, b = colorsys.hsv_to_rgb(hue % 1.0, saturation, value)
    return round(r * 255), round(g * 255), round(b * 255)


def _initials(template: str) -> str:
    words = [w for w in caption_clean(template).split(" ") if w and w[0].isalnum()]
    return "".join(w[0] for w in words[:2]) or "M"


@functools.lru_cache(maxsize=32)  # ~1 MB each at 600x600
def _background(template: str, width: int, height: int) -> Image.Image:
    """The picture behind the caption, derived from the template name only (cached: templates repeat)."""
    digest = hashlib.blake2b(template.encode("utf-8", "replace"), digest_size=16).digest()
    hue = digest[0] / 255
    dark = _hsv(hue, 0.55 + digest[1] / 1275, 0.30 + digest[2] / 1275)
    light = _hsv(hue + 0.06 + digest[3] / 2550, 0.45 + digest[4] / 1275, 0.62 + digest[5] / 1275)
    style = digest[6] % 3

    gradient = Image.linear_gradient("L").rotate(digest[7] * 360 / 256, resample=Image.Resampling.BILINEAR)
    gradient = gradient.crop((48, 48, 208, 208)).resize((width, height), Image.Resampling.BILINEAR)
    image = ImageOps.colorize(gradient, dark, light)

    # Shapes are drawn as masks at twice the size and halved: smooth edges at a fraction of RGBA's cost.
    scale = 2
    big = (width * scale, height * scale)
    cx, cy = big[0] / 2, big[1] / 2
    reach = math.hypot(*big)
    pattern = Image.new("L", big, 0)
    draw = ImageDraw.Draw(pattern)
    if style == 0:  # sunburst, the "advice animal" look
        rays = 12 + 2 * (digest[8] % 5)
        turn = digest[9] * 360 / 256
        for ray in range(0, rays, 2):
            start = turn + ray * 360 / rays
            draw.pieslice((cx - reach, cy - reach, cx + reach, cy + reach), start, start + 360 / rays, fill=120)
        paint = light
    elif style == 1:  # diagonal stripes
        step = big[0] / (8 + digest[8] % 6)
        for k in range(-int(big[1] / step) - 2, int(big[0] / step) + 2):
            x = k * step
            draw.polygon([(x, 0), (x + step / 2, 0), (x + step / 2 + big[1], big[1]), (x + big[1], big[1])], fill=34)
        paint = (255, 255, 255)
    else:  # halftone dots, larger towards the centre
        step = big[0] / (14 + digest[8] % 8)
        for row in range(int(big[1] / step) + 1):
            for col in range(int(big[0] / step) + 1):
                x, y = (col + 0.5 * (row % 2)) * step, row * step
                r = step * 0.42 * (1 - 0.7 * math.hypot(x - cx, y - cy) / (reach / 2))
                if r > 1:
                    draw.ellipse((x - r, y - r, x + r, y + r), fill=40)
        paint = (255, 255, 255)
    image.paste(paint, (0, 0), pattern.reduce(scale))

    # The "picture": a round badge with the template's initials, where a real meme has its face.
    radius = min(big) * 0.2
    ring = max(2, round(radius / 18))
    disc = Image.new("L", big, 0)
    ImageDraw.Draw(disc).ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=215)
    image.paste(dark, (0, 0), disc.reduce(scale))
    outline = Image.new("L", big, 0)
    ImageDraw.Draw(outline).ellipse((cx - radius, cy - radius, cx + radius, cy + radius), outline=160, width=ring)
    image.paste((255, 255, 255), (0, 0), outline.reduce(scale))

    initials = _initials(template)
    size = round(radius / scale * (1.0 if len(initials) == 1 else 0.78))
    letters = ImageDraw.Draw(image)
    runs = _runs_cached(initials)
    x = width / 2 - sum(_font(index, size).getlength(text) for index, text in runs) / 2
    for index, text in runs:
        font = _font(index, size)
        letters.text((x, height / 2), text, font=font, fill=(245, 245, 245), anchor="lm")
        x += font.getlength(text)
    _draw_label(image, template)
    return image


def _draw_label(image: Image.Image, template: str) -> None:
    label = caption_clean(template)[:60]
    if not label:
        return
    width, height = image.size
    size = max(8, round(height * _LABEL))
    draw = ImageDraw.Draw(image)
    measure = _Measure(size)
    x = width - width * _MARGIN - measure.line(label)
    for word_index, word in enumerate(label.split(" ")):
        if word_index:
            x += measure.space
        for index, text in _runs_cached(word):
            font = _font(index, size)
            draw.text(
                (x, height - size * 0.5),
                text,
                font=font,
                fill=(235, 235, 235),
                stroke_width=1,
                stroke_fill=(30, 30, 30),
                anchor="ls",
            )
            x += font.getlength(text)


# --- the public function ---------------------------------------------------------------------------


def render_meme_png(*, upper: str, lower: str, template: str, size: tuple[int, int] = (600, 600)) -> bytes:
    """The meme as PNG bytes: ``upper`` at the top, ``lower`` at the bottom, on the template's background.

    Any Unicode text is accepted (empty, very long, any script); the same arguments give the same bytes.
    Raises ``ValueError`` only for a size outside 64..2048 pixels per side.
    """
    width, height = (int(v) for v in size)
    if not (MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE):
        raise ValueError(f"image size must be between {MIN_SIDE} and {MAX_SIDE} pixels per side, got {size}")
    image = _background(template or "", width, height).copy()
    draw = ImageDraw.Draw(image)
    margin = width * _MARGIN
    max_width = width - 2 * margin
    band = height * _BAND
    edge = round(height * 0.02)
    top = _layout(caption_clean(upper), max_width, band, height)
    if top is not None:
        baseline = edge + top.ascent
        for line in top.lines:
            _draw_line(draw, line, center_x=width / 2, baseline=baseline, block=top)
            baseline += top.line_height
    bottom = _layout(caption_clean(lower), max_width, band, height)
    if bottom is not None:
        # Above the template's name, which sits in the last few percent of the height.
        last_baseline = height - round(height * (_LABEL + 0.02)) - bottom.descent
        baseline = last_baseline - (len(bottom.lines) - 1) * bottom.line_height
        for line in bottom.lines:
            _draw_line(draw, line, center_x=width / 2, baseline=baseline, block=bottom)
            baseline += bottom.line_height
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=3)  # level 6: +40% time for -10% bytes
    return buffer.getvalue()


def render_warm() -> None:
    """Load the fonts' coverage now rather than in the first request (optional, ~0.3 s with CJK)."""
    for index in range(len(_fonts())):
        _covers(index, 0x41)
