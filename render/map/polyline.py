"""Encoded polylines (Google's algorithm, precision 6): 4-10 bytes per vertex instead of 22.

Coordinates are rounded to 6 decimals (about 0.1 m) by the encoding itself. The browser decodes
them with ``hgw.decode`` (layers/popups.py). Vectorised with numpy: 250,000 vertices encode in
well under a second.
"""
from __future__ import annotations

import numpy as np
import shapely

PRECISION = 6
_SCALE = 10 ** PRECISION


def _encode_values(values: np.ndarray) -> np.ndarray:
    """The encoded bytes of signed integers ``values``, as a flat uint8 array."""
    v = values.astype(np.int64)
    z = np.where(v < 0, ~(v << 1), v << 1).astype(np.uint64)  # zig-zag
    chunks = np.zeros((len(z), 7), dtype=np.uint64)
    for i in range(7):
        chunks[:, i] = (z >> np.uint64(5 * i)) & np.uint64(31)
    bits = np.maximum(1, np.ceil(np.log2(z.astype(np.float64) + 1) / 5)).astype(int)
    bits[z == 0] = 1
    cols = np.arange(7)
    used = cols[None, :] < bits[:, None]
    more = cols[None, :] < (bits[:, None] - 1)
    out = (chunks | np.where(more, np.uint64(32), np.uint64(0))) + np.uint64(63)
    return out[used].astype(np.uint8)


def encode_parts(coords: list[np.ndarray]) -> list[str]:
    """Each (n, 2) array of lon/lat degrees as one encoded polyline string (lat, lon order)."""
    if not coords:
        return []
    lengths = np.array([len(c) for c in coords])
    allc = np.vstack([c[:, :2] for c in coords]) if lengths.sum() else np.zeros((0, 2))
    ints = np.round(allc[:, ::-1] * _SCALE).astype(np.int64)  # lat, lon
    deltas = np.diff(ints, axis=0, prepend=np.zeros((1, 2), dtype=np.int64))
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    deltas[starts[lengths > 0]] = ints[starts[lengths > 0]]
    flat = deltas.reshape(-1)
    encoded = _encode_values(flat)
    # bytes per value -> split the byte stream per part (2 values per vertex)
    z = np.where(flat < 0, ~(flat << 1), flat << 1)
    per_value = np.maximum(1, np.ceil(np.log2(z.astype(np.float64) + 1) / 5)).astype(int)
    per_value[z == 0] = 1
    per_vertex = per_value.reshape(-1, 2).sum(axis=1)
    nonempty = lengths > 0
    per_part = np.zeros(len(lengths), dtype=np.int64)
    if per_vertex.size:
        per_part[nonempty] = np.add.reduceat(per_vertex, starts[nonempty])
    offsets = np.concatenate([[0], np.cumsum(per_part)]).tolist()
    text = encoded.tobytes().decode("ascii")
    return [text[offsets[i]:offsets[i + 1]] for i in range(len(lengths))]


_TO_SCRIPT = str.maketrans("{}", "!#")


def script_safe(encoded: str) -> str:
    """``encoded`` with ``{`` and ``}`` written as ``!`` and ``#`` (outside the polyline
    alphabet, 63..126), so that no string on the page can form a template tag without the
    6-byte ``\\u007b`` escape; ``hgw.decode`` maps them back."""
    return encoded.translate(_TO_SCRIPT)


def encode_geometry(geom: shapely.Geometry) -> tuple[str, list[object]]:
    """("L", [line, ...]) for (multi)lines, ("P", [[ring, ...], ...]) for (multi)polygons."""
    kind = geom.geom_type
    if kind in ("LineString", "MultiLineString"):
        parts = shapely.get_parts(geom)
        return "L", [script_safe(e) for e in
                     encode_parts([shapely.get_coordinates(p) for p in parts])]
    if kind in ("Polygon", "MultiPolygon"):
        polys = shapely.get_parts(geom)
        out: list[object] = []
        for poly in polys:
            rings = [poly.exterior, *poly.interiors]
            out.append([script_safe(e) for e in
                        encode_parts([shapely.get_coordinates(r) for r in rings])])
        return "P", out
    raise ValueError(f"cannot encode a {kind} as a polyline")
