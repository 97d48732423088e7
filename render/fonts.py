"""The fonts of HgWatch's PDFs (case dossier, inventory report): DejaVu Sans, which has Latin, Cyrillic
(Kyrgyz and Russian names), Greek and many other scripts, where ReportLab's built-in Helvetica and
Courier hold Latin-1 only: a site named "Кумтор" or "汞" printed as black boxes.

The TrueType files come from the npm package ``dejavu-fonts-ttf`` (pinned with their SHA-256 in
``render.map.assets``), copied into ``static/vendor/`` by ``make install`` like the map's assets:
nothing is committed or fetched at run time. Without them (an install without npm) the PDFs fall
back to the built-in fonts. Khmer and other scripts that need shaping are not covered by either.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from reportlab.lib.styles import StyleSheet1, getSampleStyleSheet
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from render.map.assets import ASSETS, VENDOR_DIR

FONT_ASSET = next(a for a in ASSETS if a.key == "dejavu-fonts")
# our name -> (the DejaVu file, the built-in font it stands for)
FACES = {"HgSans": ("DejaVuSans.ttf", "Helvetica"), "HgSans-Bold": ("DejaVuSans-Bold.ttf", "Helvetica-Bold"),
         "HgSans-Oblique": ("DejaVuSans-Oblique.ttf", "Helvetica-Oblique"),
         "HgSans-BoldOblique": ("DejaVuSans-BoldOblique.ttf", "Helvetica-BoldOblique"),
         "HgMono": ("DejaVuSansMono.ttf", "Courier")}


@dataclass(frozen=True)
class Fonts:
    """The font names to give ReportLab: DejaVu's when installed, else the built-in ones."""

    sans: str
    bold: str
    italic: str
    bold_italic: str
    mono: str
    unicode: bool  # True: DejaVu (Cyrillic and more); False: the built-in Latin-1 fonts


@cache
def fonts() -> Fonts:
    """Register the DejaVu faces with ReportLab once per process (with the family, so ``<b>`` and
    ``<i>`` in a paragraph pick the bold and oblique files) and say which names to use."""
    folder = VENDOR_DIR / FONT_ASSET.folder
    if not all((folder / file).is_file() for file, _ in FACES.values()):
        return Fonts("Helvetica", "Helvetica-Bold", "Helvetica-Oblique", "Helvetica-BoldOblique", "Courier", False)
    for name, (file, _) in FACES.items():
        pdfmetrics.registerFont(TTFont(name, str(folder / file)))
    pdfmetrics.registerFontFamily("HgSans", normal="HgSans", bold="HgSans-Bold", italic="HgSans-Oblique",
                                  boldItalic="HgSans-BoldOblique")
    return Fonts("HgSans", "HgSans-Bold", "HgSans-Oblique", "HgSans-BoldOblique", "HgMono", True)


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
_CSS = {"HgSans-BoldOblique": "DejaVu Sans, sans-serif; font-weight: bold; font-style: oblique",
        "HgSans-Oblique": "DejaVu Sans, sans-serif; font-style: oblique",
        "HgSans-Bold": "DejaVu Sans, sans-serif; font-weight: bold", "HgSans": "DejaVu Sans, sans-serif",
        "HgMono": "DejaVu Sans Mono, monospace"}
_FAMILY = re.compile(r"font-family: (" + "|".join(sorted(_CSS, key=len, reverse=True)) + r")\b")


def svg_families(svg: str) -> str:
    """``svg`` (ReportLab's renderSVG of a drawing using these fonts) with CSS font families a browser knows."""
    return _FAMILY.sub(lambda m: "font-family: " + _CSS[m.group(1)], svg)
