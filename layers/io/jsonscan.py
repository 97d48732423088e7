"""The top of a JSON file, read in bounded memory: what ``layers.io.sniff`` needs of a GeoJSON.

``json.loads`` of a whole GeoJSON holds it as Python objects, 6-12 times the file's size (a
300,000-point file of 50 MB: +300 MB). ``scan`` reads the file a block at a time through ijson's
event parser (yajl, C) and keeps only the top-level members asked for; it checks all the same that
the whole file is one JSON value, UTF-8, nested at most ``MAX_DEPTH`` deep, as ``json.loads``
checks it: a BOM is skipped, ``NaN``, ``Infinity`` and ``-Infinity`` are read (Python writes them,
and GDAL reads them), a repeated member's last value counts. Memory: one block and its events.
"""
from __future__ import annotations

import codecs
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from itertools import chain
from pathlib import Path
from typing import BinaryIO

import ijson

MAX_DEPTH = 512  # deeper than any GeoJSON needs, well inside what Python's json (about 990) and GDAL (1024) read
_BLOCK = 1 << 16
_BUILT = {"type": 64, "crs": 4096}  # events kept of a member's value (its text to 40 characters; a CRS)
_OPEN = frozenset(("start_map", "start_array"))
_CLOSE = frozenset(("end_map", "end_array"))
_CONTINUATION = bytes(range(0x80, 0xC0))  # UTF-8 continuation bytes: not characters of their own
# What yajl says, in words a user can act on; other reasons are given as yajl words them.
_REASONS = {"premature EOF": "the file ends before the JSON does (was it cut short?)",
            "trailing garbage": "more text after the end of the JSON value",
            "invalid char in json text": "a character JSON does not allow there",
            "invalid character inside string": "a control character (a line break, a tab) inside a string",
            "probable comment found in input text, comments are not enabled": "a comment; JSON has none"}
# NaN and infinities outside strings (json.loads and GDAL read them; yajl does not): read as numbers.
_OUTSIDE = re.compile(rb'"|(?<![\w.])(?:NaN|-?Infinity)(?![\w.])')
_STRING_REST = re.compile(rb'[^"\\]*+(?:\\.[^"\\]*+)*+')
# Numbers of the same length (positions stay the file's): the infinities as numbers float() makes
# infinite, NaN as 0e0, read back as NaN in the members kept (a file's own 0e0 too, once it has a NaN).
_NUMBERS = {b"NaN": b"0e0", b"Infinity": b"9e999999", b"-Infinity": b"-9e999999"}
_NAN = Decimal("0e0").as_tuple()


class NotUTF8(Exception):
    """The file is not UTF-8 text."""


class TooDeep(Exception):
    """The JSON is nested more than ``MAX_DEPTH`` deep."""


class NotJSON(Exception):
    """The file is not one JSON value: ``reason``, at ``line`` and ``column`` (characters, from 1),
    ``near`` the text there."""

    def __init__(self, reason: str, line: int, column: int, near: str) -> None:
        super().__init__(f"{reason} at line {line}, column {column}, near {near!r}")
        self.reason, self.line, self.column, self.near = reason, line, column, near


@dataclass(frozen=True)
class Top:
    """A JSON file's top-level value: ``kind`` ('object', 'array' or 'value'), and the members of an
    object that were asked for (as ``json.loads`` gives them; a large one cut after ``_BUILT`` events)."""

    kind: str
    members: dict[str, object]


def scan(path: Path, wanted: tuple[str, ...] = ("type", "crs"), *, block: int = _BLOCK) -> Top:
    """The top of the JSON file ``path``, the members named in ``wanted`` of its top-level object.

    Raises NotUTF8, TooDeep or NotJSON (with where) as ``json.loads(path.read_bytes())`` would
    refuse the file (UnicodeDecodeError, RecursionError, ValueError); a non-UTF-8 byte anywhere
    is told before a JSON error, as ``json.loads`` decodes the whole text first. ``block``: bytes read
    at a time."""
    try:
        return _scan(path, wanted, filtered=False, block=block)
    except _Failed as first:
        if first.block is None:
            raise first.error from None
    try:  # perhaps NaN or Infinity, which yajl does not read: once more with them as numbers
        return _scan(path, wanted, filtered=True, block=block)
    except _Failed as again:
        if again.block is None:
            raise again.error from None
        raise _where(path, again.block, str(again.error), block) from None


class _Failed(Exception):
    """How ``_scan`` stopped: ``error`` to raise, or yajl's error at ``block`` (-1: the file's end)."""

    def __init__(self, error: Exception, block: int | None = None) -> None:
        super().__init__(str(error))
        self.error, self.block = error, block


def _scan(path: Path, wanted: tuple[str, ...], *, filtered: bool, block: int) -> Top:
    decoder = codecs.getincrementaldecoder("utf-8")("surrogatepass")  # as json.loads decodes bytes
    events = ijson.sendable_list()
    parser = ijson.basic_parse_coro(events)
    depth = 0
    kind = ""
    key: str | None = None
    members: dict[str, object] = {}
    builder: ijson.ObjectBuilder | None = None
    left = 0  # events still kept of the member being built
    with path.open("rb") as f:
        blocks = _blocks(f, filtered, block)
        for number, (raw, fed) in enumerate(chain(blocks, [(b"", b"")])):
            try:
                decoder.decode(raw, final=not raw)
            except UnicodeDecodeError as exc:
                raise _Failed(NotUTF8(str(exc))) from None
            try:
                if fed:  # (ijson reads an empty send as the end)
                    parser.send(fed)
                elif not raw:  # the end: a last number is told only now
                    parser.close()
            except ijson.IncompleteJSONError as exc:
                _rest_is_utf8(blocks, decoder)
                raise _Failed(exc, number if raw or fed else -1) from None
            for event, value in events:
                if event in _OPEN:
                    depth += 1
                    if depth > MAX_DEPTH:
                        _rest_is_utf8(blocks, decoder)
                        raise _Failed(TooDeep(f"deeper than {MAX_DEPTH} levels")) from None
                elif event in _CLOSE:
                    depth -= 1
                if builder is not None:  # inside a wanted member's value
                    if left > 0:
                        builder.event(event, _number(value, filtered))
                        left -= 1
                    if depth == 1:
                        members[str(key)], builder, key = builder.value, None, None
                    continue
                if depth > 2 or (key is None and depth > 1):  # inside a member not wanted: most events
                    continue
                if not kind:
                    kind = "object" if event == "start_map" else "array" if event == "start_array" else "value"
                if depth == 1 and event == "map_key" and kind == "object":
                    key = value if value in wanted else None
                elif key is not None:  # the value of a wanted member
                    if event in _OPEN:
                        builder, left = ijson.ObjectBuilder(), _BUILT.get(key, _BUILT["crs"]) - 1
                        builder.event(event, value)
                    else:
                        members[key] = _number(value, filtered)
                        key = None
            del events[:]
    return Top(kind, members)


def _number(value: object, filtered: bool) -> object:
    """An ijson value as json.loads gives it: a number with a fraction or exponent as a float."""
    if not isinstance(value, Decimal):
        return value
    return math.nan if filtered and value.as_tuple() == _NAN else float(value)


def _blocks(f: BinaryIO, filtered: bool, size: int) -> Iterator[tuple[bytes, bytes]]:
    """(the file's bytes, the bytes the parser is given) a block at a time: a UTF-8 BOM left out (as
    json.loads leaves it), NaN and infinities outside strings as numbers of the same length when
    ``filtered`` (so that positions stay those of the file)."""
    first = True
    state = _Filter() if filtered else None
    while True:
        raw = f.read(size)
        fed = raw[3:] if first and raw.startswith(codecs.BOM_UTF8) else raw
        first = False
        if state is not None:
            fed = state.feed(fed, final=not raw)
        if not raw and not fed:
            return
        yield raw, fed


class _Filter:
    """NaN, Infinity and -Infinity outside strings, across blocks, as numbers of the same length."""

    def __init__(self) -> None:
        self.in_string = False
        self.carry = b""

    def feed(self, block: bytes, *, final: bool) -> bytes:
        """The bytes of ``block`` (after what was held back) that can be told, NaN and infinities
        replaced; the last few bytes are held back unless ``final`` (a token or escape cut there)."""
        data = self.carry + block
        end = len(data) if final else max(0, len(data) - 10)
        out = bytearray(data)
        pos = 0
        while pos < end:
            if self.in_string:
                rest = _STRING_REST.match(data, pos)
                pos = rest.end() if rest else pos
                if data[pos:pos + 1] == b'"':
                    pos, self.in_string = pos + 1, False
                    continue
                break  # the string goes on in the next block (or a backslash waits for its character)
            found = _OUTSIDE.search(data, pos)
            if found is None or found.start() >= end:
                pos = end
                break
            if found.group() == b'"':
                self.in_string = True
            else:
                out[found.start():found.end()] = _NUMBERS[found.group()]
            pos = found.end()
        self.carry = data[pos:]
        return bytes(out[:pos])


def _rest_is_utf8(blocks: Iterator[tuple[bytes, bytes]], decoder: codecs.IncrementalDecoder) -> None:
    """Raise _Failed(NotUTF8) when the rest of the file is not UTF-8 (json.loads says that first)."""
    try:
        for raw, _fed in blocks:
            decoder.decode(raw)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise _Failed(NotUTF8(str(exc))) from None


def _where(path: Path, block: int, message: str, size: int) -> Exception:
    """The NotJSON of a file yajl stopped in at block ``block`` (-1: at its end), with yajl's reason
    in words: the file parsed again up to that block, then that block a byte at a time."""
    reason = message.split("\n", 1)[0].split(": ", 1)[-1].strip().rstrip(".")
    if "UTF8" in reason:
        return NotUTF8(reason)
    shown = _REASONS.get(reason, reason)
    events = ijson.sendable_list()
    parser = ijson.basic_parse_coro(events)
    line, column = 1, 1
    tail = b""
    with path.open("rb") as f:
        for number, (_raw, fed) in enumerate(_blocks(f, True, size)):
            if number == block:
                for at in range(len(fed)):
                    try:
                        parser.send(fed[at:at + 1])
                    except ijson.IncompleteJSONError:
                        line, column = _advance(line, column, fed[:at])
                        near = (tail + fed[:at])[-20:] + fed[at:at + 10]
                        return NotJSON(shown, line, column, near.decode("utf-8", "replace"))
                    del events[:]
            elif fed:
                parser.send(fed)
                del events[:]
            line, column = _advance(line, column, fed)
            tail = (tail + fed)[-20:]
    return NotJSON(shown, line, column, tail.decode("utf-8", "replace"))


def _advance(line: int, column: int, data: bytes) -> tuple[int, int]:
    """The line and column (characters, from 1) after ``data``, from ``line`` and ``column``."""
    if b"\n" not in data:
        return line, column + _chars(data)
    return line + data.count(b"\n"), _chars(data[data.rfind(b"\n") + 1:]) + 1


def _chars(data: bytes) -> int:
    """How many UTF-8 characters ``data`` holds (its bytes that are not continuation bytes)."""
    return len(data.translate(None, _CONTINUATION))
