"""Khmer, Chinese, Japanese and Korean names in the PDFs: DejaVu Sans has none of them and Khmer needs
shaping, so such a name printed as boxes (or, with a Khmer font and no shaping, with its vowel signs and
subscript consonants in the wrong place). ``render.fonts.paragraph`` puts each run in a Noto fallback
that has it and shapes Khmer (uharfbuzz). The checks read what the PDF really draws: the glyph of every
drawn code in the embedded font (``boxes``: none may be .notdef), the text read back with pypdf, and, for
Khmer, the drawn order: "ខេ" (KHA, then the vowel sign E) is drawn vowel sign first, "េខ"."""
from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass
from typing import Any

import pytest
from fontTools.ttLib import TTFont
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from pypdf import PdfReader
from pypdf.generic import ArrayObject, ContentStream
from reportlab.platypus import SimpleDocTemplate

from render.map.assets import ASSETS, VENDOR_DIR

KHMER = "ខេត្តរតនគិរី"  # Ratanakiri province; "ត្ត" is TA with a subscript TA, "េ" is drawn before "ខ"
DRAWN_KHMER = "េខត"  # how its start reads back once shaped: the vowel sign first, the subscript a glyph of its own
_PRIVATE = re.compile("[\ue000-\uf8ff]")  # a glyph with no code point of its own reads back as one of these
CHINESE, JAPANESE, KOREAN = "汞矿", "ひらがな", "한국어"
_FONT_KEYS = ("dejavu-fonts", "noto-sans-khmer", "noto-sans-khmer-bold", "noto-sans-sc", "noto-sans-kr")
pytestmark = pytest.mark.skipif(
    not all((VENDOR_DIR / a.folder / f).is_file() for a in ASSETS if a.key in _FONT_KEYS for f in a.files),
    reason="the PDF fonts are not installed (make install)")


@dataclass(frozen=True)
class Drawn:
    """One code drawn by a text operator: the font's PDF name, the code, its glyph and its contours."""

    font: str
    code: int
    glyph: str
    contours: int  # 0: an empty glyph (a space); -1: a composite glyph


def _codes(operand: Any) -> bytes:
    if isinstance(operand, bytes):
        return bytes(operand)
    original = getattr(operand, "original_bytes", None)  # pypdf may have decoded the codes as text
    return bytes(original) if original is not None else str(operand).encode("latin-1")


def drawn(pdf: bytes) -> list[Drawn]:
    """Every code drawn by Tj, TJ, ' and " on every page, with the glyph its embedded font maps it to."""
    reader = PdfReader(io.BytesIO(pdf))
    out: list[Drawn] = []
    for page in reader.pages:
        page_resources: Any = page["/Resources"]
        resources = page_resources["/Font"]
        faces: dict[str, tuple[str, TTFont | None]] = {}
        current = ""
        for operands, operator in ContentStream(page.get_contents(), reader).operations:
            if operator == b"Tf":
                current = str(operands[0])
                if current not in faces:
                    font = resources[current].get_object()
                    descriptor = font.get("/FontDescriptor")
                    data = descriptor.get_object().get("/FontFile2") if descriptor is not None else None
                    faces[current] = (str(font["/BaseFont"]),
                                      TTFont(io.BytesIO(data.get_object().get_data())) if data is not None else None)
                continue
            if operator not in (b"Tj", b"TJ", b"'", b'"'):
                continue
            strings = [o for o in (operands[0] if isinstance(operands[0], ArrayObject) else [operands[-1]])
                       if not isinstance(o, (int, float))]
            name, ttf = faces[current]
            cmap = ttf["cmap"].getcmap(1, 0).cmap if ttf is not None else {}
            for string in strings:
                for code in _codes(string):
                    glyph = cmap.get(code, ".notdef") if ttf is not None else "(not embedded)"
                    contours = ttf["glyf"][glyph].numberOfContours if ttf is not None and glyph in ttf["glyf"] else 0
                    out.append(Drawn(name, code, glyph, contours))
    return out


def boxes(pdf: bytes) -> list[Drawn]:
    """The codes drawn as no real glyph: .notdef (a box) or a font not embedded (the built-in Latin-1 ones)."""
    return [d for d in drawn(pdf) if d.glyph in (".notdef", "(not embedded)")]


def text(pdf: bytes) -> str:
    """The PDF's text as pypdf reads it back, white space collapsed."""
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages).split())


def _pdf(*names: str, style: str = "BodyText", bold: bool = False) -> bytes:
    from render.fonts import paragraph, stylesheet

    buffer = io.BytesIO()
    sheet = stylesheet()
    SimpleDocTemplate(buffer).build([paragraph(n, sheet[style], bold=bold) for n in names])
    return buffer.getvalue()


def _fonts(pdf: bytes) -> set[str]:
    return {d.font.split("+", 1)[-1] for d in drawn(pdf)}


def test_a_khmer_name_prints_shaped_in_noto_sans_khmer() -> None:
    pdf = _pdf(KHMER, "ខេ")
    assert boxes(pdf) == []
    assert _fonts(pdf) == {"NotoSansKhmer-Regular"}
    read = text(pdf)
    assert read.startswith(DRAWN_KHMER) and read.endswith("េខ")  # the vowel sign drawn before its consonant
    assert "ខេ" not in read  # the logical order would be the unshaped one
    assert "\u17d2" not in read  # the COENG is no glyph of its own: TA and COENG TA are stacked
    assert all(c in read for c in "រតនគ")


def test_a_name_mixing_latin_and_khmer_prints_both() -> None:
    pdf = _pdf(f"Ratanakiri ({KHMER})", "Site-ខេត្ត office distance")
    assert boxes(pdf) == []
    assert _fonts(pdf) == {"DejaVuSans", "NotoSansKhmer-Regular"}
    read = text(pdf)
    assert f"Ratanakiri ({DRAWN_KHMER}" in read
    assert f"Site- {DRAWN_KHMER}" in read  # cut where the script changes, so the Khmer is shaped as Khmer
    assert "office distance" in read  # DejaVu's words unshaped: no "ﬃ" or "ﬆ" ligature


def test_chinese_japanese_and_korean_names_print_and_read_back() -> None:
    pdf = _pdf(f"{CHINESE} {JAPANESE} {KOREAN}", f"Кумтор{CHINESE} Mine-{KOREAN}")
    assert boxes(pdf) == []
    assert _fonts(pdf) == {"DejaVuSans", "NotoSansSC-Regular", "NotoSansKR-Regular"}
    read = text(pdf)
    assert f"{CHINESE} {JAPANESE} {KOREAN}" in read
    assert f"Кумтор{CHINESE} Mine-{KOREAN}" in read  # one word in two fonts, unshaped: no space added


def test_a_bold_style_picks_the_bold_faces() -> None:
    for pdf in (_pdf(f"Head {KHMER} {CHINESE}", bold=True), _pdf(f"Head {KHMER} {CHINESE}", style="Title")):
        assert boxes(pdf) == []
        assert _fonts(pdf) == {"DejaVuSans-Bold", "NotoSansKhmer-Bold", "NotoSansSC-Regular"}
        assert text(pdf).startswith(f"Head {DRAWN_KHMER}")


def test_latin_text_is_not_shaped() -> None:
    """Shaping would draw DejaVu's "fi" ligature, read back as "ﬁ": it is on only where Khmer is."""
    assert text(_pdf("office fields")) == "office fields"


def test_a_user_value_stays_text() -> None:
    from render.fonts import markup

    assert markup(f"<{KHMER}> & {CHINESE}") == (f'<font face="HgKhmer">&lt;{KHMER}&gt;</font> &amp; '
                                               f'<font face="HgCJK-SC">{CHINESE}</font>')
    pdf = _pdf(f"<i>x</i> {KHMER}&")
    assert boxes(pdf) == [] and _PRIVATE.sub("·", text(pdf)) == f"<i>x</i> {DRAWN_KHMER}·រតនគិរ·&"


def test_the_fallback_fonts_are_the_pinned_files() -> None:
    """Each Noto file in static/vendor has the SHA-256 pinned in render.map.assets (as the installer checks)."""
    pinned = [a for a in ASSETS if a.key.startswith("noto-sans-")]
    assert {a.key for a in pinned} == {"noto-sans-khmer", "noto-sans-khmer-bold", "noto-sans-sc", "noto-sans-kr"}
    for asset in pinned:
        for name, digest in zip(asset.files, asset.sha256, strict=True):
            assert hashlib.sha256((VENDOR_DIR / asset.folder / name).read_bytes()).hexdigest() == digest


def test_a_no_break_space_does_not_part_words() -> None:
    """ReportLab keeps a no-break space inside a word: "汞\\xa0ខេ" is one word to it, shaped with one font,
    so it is cut where the script changes like any other (it raised AttributeError, or drew "ខេ" as boxes)."""
    for name in (f"{CHINESE}\xa0{KHMER}", f"{KHMER}\xa0{CHINESE}", f"Кумтор\xa0{KHMER}"):
        pdf = _pdf(name)
        assert boxes(pdf) == [] and DRAWN_KHMER in text(pdf)


_LETTERS = [chr(c) for c in range(0x1780, 0x17DE)] + list("aZ-(.;0 汞矿ひが한국Кмт&<\xa0\u200b\u3000\t")


@hypothesis_settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.sampled_from(_LETTERS), min_size=1, max_size=30))
def test_any_mix_of_scripts_prints_with_real_glyphs(name: str) -> None:
    assert boxes(_pdf(name, bold=True)) == []
    assert boxes(_pdf(name, style="Title")) == []


def test_a_map_label_in_a_fallback_font_names_a_css_family() -> None:
    from render.fonts import face, fonts, svg_families

    assert face(KHMER, fonts().sans) == "HgKhmer" and face(KOREAN, fonts().sans) == "HgCJK-KR"
    assert face("Кумтор", fonts().sans) == fonts().sans and face(f"{KHMER}{KOREAN}", fonts().sans) == fonts().sans
    assert svg_families('style="font-family: HgKhmer-Bold; x" y="font-family: HgCJK-SC"') == (
        'style="font-family: Noto Sans Khmer, sans-serif; font-weight: bold; x" y="font-family: Noto Sans SC, sans-serif"')
