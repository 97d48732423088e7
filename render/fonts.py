"""The fonts of HgWatch's PDFs (case dossier, inventory report): DejaVu Sans, which has Latin, Cyrillic
(Kyrgyz and Russian names), Greek and many other scripts, where ReportLab's built-in Helvetica and
Courier hold Latin-1 only: a site named "Кумтор" or "汞" printed as black boxes. What DejaVu lacks comes
from Noto fallbacks, chosen per run of characters (``markup``, ``paragraph``): Noto Sans Khmer (Cambodia's
names, e.g. "ខេត្តរតនគិរី"), Noto Sans SC (Chinese, Japanese kana) and Noto Sans KR (Hangul).

Khmer needs shaping (a vowel sign drawn before its consonant, subscript consonants stacked): ReportLab
shapes a paragraph whose style has ``shaping`` on through ``uharfbuzz`` (pinned in requirements.txt),
one word at a time with the font of the word's first run. ``paragraph`` turns shaping on only for text
holding Khmer; DejaVu's words are never shaped (``_Unshaped``: its ligatures would read back as "ﬁ");
a word that mixes Khmer with Latin digits or punctuation gets one font (Noto Sans Khmer has ASCII), and
a word mixing scripts is cut where they meet, so that no word is shaped with a font that lacks its
letters or as the wrong script. A shaped Khmer word reads back from the PDF in drawn order (the vowel
sign "េ" before its consonant), with glyphs that have no code point of their own (subscript forms)
read as private-use characters.

The TrueType files come from the npm packages ``dejavu-fonts-ttf`` and ``@expo-google-fonts/noto-sans-*``
(SIL Open Font License 1.1), pinned with their SHA-256 in ``render.map.assets``, copied into
``static/vendor/`` by ``make install`` like the map's assets: nothing is committed or fetched at run
time. Without them (an install without npm) the PDFs fall back to the built-in fonts; without a
fallback font its script prints as boxes. Drawings (the maps' labels) are not shaped (``face``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib.styles import ParagraphStyle, StyleSheet1, getSampleStyleSheet
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph

from render.map.assets import ASSETS, VENDOR_DIR

FONT_ASSET = next(a for a in ASSETS if a.key == "dejavu-fonts")
# our name -> (the DejaVu file, the built-in font it stands for)
FACES = {"HgSans": ("DejaVuSans.ttf", "Helvetica"), "HgSans-Bold": ("DejaVuSans-Bold.ttf", "Helvetica-Bold"),
         "HgSans-Oblique": ("DejaVuSans-Oblique.ttf", "Helvetica-Oblique"),
         "HgSans-BoldOblique": ("DejaVuSans-BoldOblique.ttf", "Helvetica-BoldOblique"),
         "HgMono": ("DejaVuSansMono.ttf", "Courier")}
# the fallbacks for what DejaVu lacks, in the order tried: our name -> (its asset, our name of its bold)
FALLBACKS = {"HgKhmer": ("noto-sans-khmer", "HgKhmer-Bold"), "HgCJK-SC": ("noto-sans-sc", "HgCJK-SC"),
             "HgCJK-KR": ("noto-sans-kr", "HgCJK-KR")}
BOLD_FALLBACKS = {"HgKhmer-Bold": "noto-sans-khmer-bold"}
SHAPED = re.compile("[\u1780-\u17ff\u19e0-\u19ff]")  # Khmer and Khmer symbols: drawn shaped
_SPACE = re.compile(r"([^\S\xa0]+)")  # white space but the no-break space, which ReportLab keeps inside a word


class _Unshaped(TTFont):
    """A DejaVu face that ReportLab's shaper passes over, as it does a built-in font (``shapeFragWord``
    leaves a word whose font has no ``hbFont`` as it is): its Latin and Cyrillic need no shaping, and
    shaped they would take DejaVu's "fi" and "st" ligatures, read back from the PDF as "ﬁ" and "ﬆ"."""

    @property
    def hbFont(self) -> Any:
        raise AttributeError("hbFont: DejaVu is drawn unshaped")


@dataclass(frozen=True)
class Fonts:
    """The font names to give ReportLab: DejaVu's when installed, else the built-in ones."""

    sans: str
    bold: str
    italic: str
    bold_italic: str
    mono: str
    unicode: bool  # True: DejaVu (Cyrillic and more); False: the built-in Latin-1 fonts
    fallbacks: tuple[str, ...] = ()  # the installed Noto fallbacks, in the order tried (``FALLBACKS``)


def _asset_file(key: str) -> Path:
    asset = next(a for a in ASSETS if a.key == key)
    return VENDOR_DIR / asset.folder / asset.files[0]


@cache
def fonts() -> Fonts:
    """Register the DejaVu faces with ReportLab once per process (with the family, so ``<b>`` and
    ``<i>`` in a paragraph pick the bold and oblique files), and the Noto fallbacks that are installed,
    and say which names to use."""
    folder = VENDOR_DIR / FONT_ASSET.folder
    if not all((folder / file).is_file() for file, _ in FACES.values()):
        return Fonts("Helvetica", "Helvetica-Bold", "Helvetica-Oblique", "Helvetica-BoldOblique", "Courier", False)
    for name, (file, _) in FACES.items():
        pdfmetrics.registerFont(_Unshaped(name, str(folder / file)))
    pdfmetrics.registerFontFamily("HgSans", normal="HgSans", bold="HgSans-Bold", italic="HgSans-Oblique",
                                  boldItalic="HgSans-BoldOblique")
    fallbacks: list[str] = []
    for name, (key, bold) in FALLBACKS.items():
        if not _asset_file(key).is_file():
            continue
        pdfmetrics.registerFont(TTFont(name, str(_asset_file(key))))
        if bold != name and _asset_file(BOLD_FALLBACKS[bold]).is_file():
            pdfmetrics.registerFont(TTFont(bold, str(_asset_file(BOLD_FALLBACKS[bold]))))
        fallbacks.append(name)
    return Fonts("HgSans", "HgSans-Bold", "HgSans-Oblique", "HgSans-BoldOblique", "HgMono", True, tuple(fallbacks))


def _has(name: str, text: str) -> bool:
    """True when font ``name`` (registered) has a glyph for every character of ``text``."""
    cmap = pdfmetrics.getFont(name).face.charToGlyph
    return all(ord(c) in cmap for c in text)


def face(text: str, base: str) -> str:
    """The font to draw ``text`` in where ``base`` is wanted: ``base`` when it has every character, else
    the first fallback that has them all (for a drawing's label, which ReportLab draws unshaped: Khmer
    there comes out with its glyphs but not reordered)."""
    chosen = fonts()
    if not chosen.unicode or _has(base, text):
        return base
    return next((f for f in chosen.fallbacks if _has(f, text)), base)


def _bold(name: str) -> str:
    bold = FALLBACKS[name][1]
    return bold if bold in pdfmetrics.getRegisteredFontNames() else name


def _runs(word: str, chosen: Fonts, bold: bool, joint: str) -> str:
    """``word`` as markup: as it is when DejaVu has it all, else in the first fallback that has it all,
    else in runs, each character in the first font that has it (staying in the run's font when that has
    it too), the runs joined by ``joint``."""
    if _has(chosen.sans, word):
        return escape(word)
    whole = next((f for f in chosen.fallbacks if _has(f, word)), None)
    if whole is not None:
        return f'<font face="{_bold(whole) if bold else whole}">{escape(word)}</font>'
    runs: list[list[str]] = []  # [font, text]
    for c in word:
        if runs and _has(runs[-1][0], c):
            runs[-1][1] += c
            continue
        runs.append([next((f for f in (chosen.sans, *chosen.fallbacks) if _has(f, c)), chosen.sans), c])
    return joint.join(escape(text) if font == chosen.sans else
                      f'<font face="{_bold(font) if bold else font}">{escape(text)}</font>' for font, text in runs)


def _pieces(word: str) -> list[str]:
    """``word`` cut where Khmer meets letters of another script (digits and punctuation go with the
    letters before them, or after them at the start): HarfBuzz shapes a word as the script of its first
    letter, so "Site-ខេត្ត" shaped whole would leave its Khmer unshaped."""
    pieces: list[list[Any]] = []  # [script or None, text]
    for c in word:
        script = "khmer" if SHAPED.match(c) else ("other" if c.isalpha() else None)
        if pieces and (script is None or pieces[-1][0] in (None, script)):
            pieces[-1][0] = pieces[-1][0] or script
            pieces[-1][1] += c
        else:
            pieces.append([script, c])
    return [text for _, text in pieces]


def _word(word: str, chosen: Fonts, bold: bool, shaped: bool) -> str:
    """One word (no white space) as paragraph markup. In a paragraph that is ``shaped`` (it holds Khmer),
    ReportLab shapes each word with the font of its first run: a word whose letters need two fonts, or
    two scripts, is cut into words there (drawn with a space between them, as "Site- ខេត្ត"); a word
    that one fallback has whole (Noto Sans Khmer has ASCII) stays one, as "(ខេត្ត)"."""
    if not shaped:
        return _runs(word, chosen, bold, "")
    return " ".join(_runs(piece, chosen, bold, " ") for piece in _pieces(word))


def markup(text: str, *, bold: bool = False) -> str:
    """``text`` escaped as ReportLab paragraph markup, each word or run that DejaVu lacks (Khmer, Chinese,
    Japanese, Korean) in the Noto fallback that has it; ``bold`` picks the fallbacks' bold faces. Meant
    for a paragraph that is shaped when ``text`` holds Khmer (``paragraph``)."""
    chosen = fonts()
    if not chosen.fallbacks:
        return escape(text)
    shaped = bool(SHAPED.search(text))
    return "".join(escape(part) if not part or part.isspace() else _word(part, chosen, bold, shaped)
                   for part in _SPACE.split(text))


def paragraph(text: str, style: ParagraphStyle, *, bold: bool = False) -> Paragraph:
    """A ReportLab paragraph of plain ``text`` (escaped here) in ``style``, every script in a font that
    has it and Khmer shaped: the way to put a user's value (a name, a comment) into a PDF.
    ``bold`` sets the whole text bold (as ``<b>``)."""
    chosen = fonts()
    strong = bold or style.fontName in (chosen.bold, chosen.bold_italic)
    body = markup(text, bold=strong)
    if bold:
        body = f"<b>{body}</b>"
    if chosen.fallbacks and SHAPED.search(text):
        style = style.clone(f"{style.name}-shaped", shaping=1)
    return Paragraph(body, style)


def stylesheet() -> StyleSheet1:
    """ReportLab's sample stylesheet with every built-in font replaced by its DejaVu face (when installed)."""
    styles = getSampleStyleSheet()
    chosen = fonts()
    if not chosen.unicode:
        return styles
    instead = {builtin: name for name, (_, builtin) in FACES.items()}
    for style in styles.byName.values():
        for attribute in ("fontName", "bulletFontName"):
            current: Any = getattr(style, attribute, None)
            if current in instead:
                setattr(style, attribute, instead[current])
    return styles


# the CSS of each of our names, for a drawing rendered as SVG for a browser (which knows no "HgSans")
_CSS = {"HgKhmer-Bold": "Noto Sans Khmer, sans-serif; font-weight: bold", "HgKhmer": "Noto Sans Khmer, sans-serif",
        "HgCJK-SC": "Noto Sans SC, sans-serif", "HgCJK-KR": "Noto Sans KR, sans-serif",
        "HgSans-BoldOblique": "DejaVu Sans, sans-serif; font-weight: bold; font-style: oblique",
        "HgSans-Oblique": "DejaVu Sans, sans-serif; font-style: oblique",
        "HgSans-Bold": "DejaVu Sans, sans-serif; font-weight: bold", "HgSans": "DejaVu Sans, sans-serif",
        "HgMono": "DejaVu Sans Mono, monospace"}
_FAMILY = re.compile(r"font-family: (" + "|".join(sorted(_CSS, key=len, reverse=True)) + r")\b")


def svg_families(svg: str) -> str:
    """``svg`` (ReportLab's renderSVG of a drawing using these fonts) with CSS font families a browser knows."""
    return _FAMILY.sub(lambda m: "font-family: " + _CSS[m.group(1)], svg)
