"""``layers.io.coerce`` strips exactly what ``str.strip()`` strips: its list of white space (scanned
only up to U+3000 at start-up) holds every white-space code point Unicode has."""
from __future__ import annotations

from layers.io import coerce


def test_the_white_space_list_is_every_code_point_str_strip_removes() -> None:
    every = "".join(chr(c) for c in range(0x110000) if chr(c).isspace())
    assert every == coerce._SPACE
    assert all(f"{c}x{c}".strip() == "x" for c in coerce._SPACE)
