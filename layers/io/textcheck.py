"""Where a text file stops being UTF-8, said as a person finds it: the line, the column, the bytes.

A CSV saved by Excel as 'CSV (Comma delimited)', or a file from an older program, is Windows-1252
(Latin-1 plus a few signs): 'São José' is written with the single bytes 0xE3 and 0xE9, which UTF-8
cannot read. The readers (CSV, GeoJSON, KML, KMZ, form exports) used to say only "byte 0xe3 at
position 52", or that the content "looks like text that is not UTF-8"; ``not_utf8`` finds the first
such byte (reading the file a block at a time, so a large GeoJSON is never held whole) and
``message`` says where it is, what the line reads as Windows-1252, and how to save the file as UTF-8.
"""
from __future__ import annotations

import codecs
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

_BLOCK = 1 << 20
_SHOWN = 40  # characters of the line shown either side of the bytes


@dataclass(frozen=True)
class NotUTF8:
    """The first bytes UTF-8 cannot read: at ``line`` and ``column`` (from 1, in characters), ``found``,
    between ``before`` (the line up to them, as text) and ``after`` (the line's bytes after them)."""

    line: int
    column: int
    found: bytes
    before: str
    after: bytes


def not_utf8(source: Path | bytes) -> NotUTF8 | None:
    """The first place ``source`` (a file, or its bytes) is not UTF-8; None when it all is. A leading
    byte-order mark is not counted as a character."""
    blocks = _blocks(source)
    pending = b""  # bytes of a character cut by the end of a block
    line, column, tail, first = 1, 0, "", True  # column: characters of the line so far; tail: their last ones
    for block in blocks:
        data = pending + block
        if first:
            data, first = data.removeprefix(codecs.BOM_UTF8), False
        try:
            text, used = codecs.utf_8_decode(data, "strict", not block)
        except UnicodeDecodeError as exc:
            line, column, tail = _advance(line, column, tail, data[:exc.start].decode("utf-8"))
            rest = data[exc.end:] + (b"" if b"\n" in data[exc.end:] else next(blocks, b""))
            return NotUTF8(line, column + 1, data[exc.start:exc.end], tail, rest.split(b"\n", 1)[0])
        line, column, tail = _advance(line, column, tail, text)
        pending = data[used:]
        if not block:
            return None
    return None


def _advance(line: int, column: int, tail: str, text: str) -> tuple[int, int, str]:
    """(line, column, tail) after ``text``."""
    breaks = text.count("\n")
    if not breaks:
        return line, column + len(text), (tail + text)[-_SHOWN:]
    last = text.rsplit("\n", 1)[1]
    return line + breaks, len(last), last[-_SHOWN:]


def _blocks(source: Path | bytes) -> Iterator[bytes]:
    """``source``'s bytes a block at a time, then one empty block (the end)."""
    if isinstance(source, bytes):
        yield source
    else:
        with source.open("rb") as f:
            while block := f.read(_BLOCK):
                yield block
    yield b""


def message(found: NotUTF8, advice: str) -> str:
    """What to tell a person: where the bytes are, what they are, what the line says read as
    Windows-1252, and ``advice`` (how to save this kind of file as UTF-8)."""
    shown = " ".join(f"0x{b:02X}" for b in found.found)
    what = f"the byte {shown}" if len(found.found) == 1 else f"the bytes {shown}"
    near = f"{found.before}[{shown}]{_marked(found.after)}".strip()
    as_1252 = (found.before + (found.found + found.after).decode("cp1252", "replace")[:_SHOWN + 1]).strip()
    return (f"it is not UTF-8 text: line {found.line}, column {found.column} holds {what}, which UTF-8 cannot read"
            f" (the line reads {near!r}); read as Windows-1252 (Latin-1), the encoding of Excel's "
            f"'CSV (Comma delimited)' and of many older programs, it would say {as_1252!r}. {advice}")


def _marked(data: bytes) -> str:
    """The first ``_SHOWN`` characters of ``data`` as UTF-8, each byte UTF-8 cannot read shown as [0xE9]."""
    out = []
    while data:
        try:
            out.append(data.decode("utf-8"))
            break
        except UnicodeDecodeError as exc:
            out.append(data[:exc.start].decode("utf-8") + "".join(f"[0x{b:02X}]" for b in data[exc.start:exc.end]))
            data = data[exc.end:]
    return "".join(out)[:_SHOWN]


#: how to save each kind of file as UTF-8 (there is no option to read another encoding: a file saved as
#: UTF-8 reads the same in every program, and a guessed encoding could turn names into other names)
ADVICE = {
    "csv": "Save it as UTF-8: in Excel, File > Save As > 'CSV UTF-8 (Comma delimited) (*.csv)'; in LibreOffice "
           "Calc, Save As > Text CSV with 'Edit filter settings' ticked and the character set 'Unicode (UTF-8)'",
    "geojson": "Save it as UTF-8 (GeoJSON is UTF-8 by its standard, RFC 7946): in QGIS, Export > Save Features As > "
               "GeoJSON with the encoding UTF-8; in a text editor, save with the encoding UTF-8",
    "kml": "Save it as UTF-8 (Google Earth and QGIS write UTF-8; in a text editor, save with the encoding UTF-8), "
           "or make its first line name the encoding it was saved in, e.g. "
           "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>",
}
