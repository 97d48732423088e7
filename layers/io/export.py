"""Write layers for partners and field laptops: GeoJSON (RFC 7946), GeoPackage, CSV, KML.

Profiles decide which fields leave the agency. ``partner`` and ``public`` are ALLOW-lists:

- ``internal``: every column the layer holds;
- ``partner``: only the catalogue's declared non-restricted fields of the layer
  (``LayerSpec.shared_fields``), plus the columns an analyst marked shareable in the workspace
  (``cli.py share``); any other column stays inside, whatever its name;
- ``public``: the same without the free text that may name people (``notes``, ``operator``).

A column whose name looks like a person or a contact (``layers.catalogue.is_restricted_name``:
``informantName``, ``interview/collector_id``, ``informan_1``...) never leaves under partner or
public, even if it was marked shareable.

Every file says which profile made it and names the source and licence of each layer: a
top-level ``hgwatch`` member in GeoJSON, an ``hgw_export`` table in GeoPackage, ``hgw_*``
columns in CSV and the document description in KML. CSV goes through HgWatch's one CSV writer
(``layers.io.csvfile``: formulas defused in values and header names), KML through an XML library
(``layers.io.kml``: well-formed whatever the names and values). Writes go to a temporary file
that is renamed into place, so a failed export never leaves a half-written file.
"""
from __future__ import annotations

import contextlib
import json
import sqlite3
import tempfile
from collections.abc import Collection, Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely

from geo.errors import InputError
from geo.words import one_of
from layers.catalogue import CATALOGUE, LayerSpec, is_restricted_name
from layers.io.csvfile import Added, repeated_text, write_csv
from layers.io.grid import COORD_DECIMALS, grid_wkt, round_coordinates
from layers.io.kml import write_kml
from layers.io.safefile import atomic_path

PROFILES = ("internal", "partner", "public")
FORMATS = {".geojson": "geojson", ".json": "geojson", ".gpkg": "gpkg", ".csv": "csv",
           ".kml": "kml"}
PUBLIC_EXTRA_DROPS = ("notes", "operator")
META_PREFIX = "hgw_"
CSV_ROWS = 50_000  # rows of a CSV export written at a time (their geometry's WKT made for them alone)
_TEXT = pd.Series(["text"]).dtype  # pandas' Arrow-backed text: grid_wkt's Arrow array kept as it is


@dataclass(frozen=True)
class Provenance:
    """Source and licence of one exported layer, and its expected positional error in metres
    (``accuracy_m``, None when the source gave none) with how it was judged."""

    layer: str
    source: str
    licence: str
    synthetic: bool = False
    accuracy_m: float | None = None
    accuracy_note: str = ""


def apply_profile(gdf: gpd.GeoDataFrame, spec: LayerSpec, profile: str,
                  shareable: Collection[str] = ()) -> gpd.GeoDataFrame:
    """The rows and columns ``profile`` may see; raise InputError for an unknown profile.

    Parameters
    ----------
    gdf : the layer (any columns).
    spec : its catalogue entry: under partner and public only its declared non-restricted
        fields leave (public also drops ``PUBLIC_EXTRA_DROPS``), and no row about a person
        (``spec.personal_rows``: a hair sample); a wholly restricted layer (``spec.restricted``)
        leaves only under internal.
    profile : one of ``PROFILES``.
    shareable : columns an analyst marked shareable for this layer; a person-like name among
        them still never leaves.
    """
    if profile not in PROFILES:
        raise InputError(f"profile {profile!r} is not known; expected {one_of(PROFILES)}")
    if profile == "internal":
        return gdf
    if spec.restricted:
        raise InputError(f"layer {spec.name!r} is wholly restricted: it is exported only under the internal "
                         f"profile, not {profile!r}")
    allowed = set(spec.shared_fields) | set(shareable)
    if profile == "public":
        allowed -= set(PUBLIC_EXTRA_DROPS)
    geometry = gdf.geometry.name
    keep = [c for c in gdf.columns if c == geometry or (c in allowed and not is_restricted_name(c))]
    if spec.personal_rows is not None and spec.name in CATALOGUE:
        from layers.store.visibility import shared_rows  # local: visibility applies this profile

        return gdf.loc[shared_rows(gdf, spec.name), keep]
    return gdf[keep]


def metadata(profile: str, provenance: Iterable[Provenance]) -> dict[str, object]:
    """The block every export carries: profile, time, and each layer's source and licence."""
    return {
        "generator": "HgWatch",
        "profile": profile,
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "layers": [described(p) for p in provenance],
    }


def described(p: Provenance) -> dict[str, object]:
    """A layer's entry in the metadata (of every export, and of the API's answers): source, licence,
    synthetic, and, when the caller gives an error or a note, its expected error in metres
    (``expected_error_m``; null with a note saying it is unknown) and the note saying how it was judged."""
    out = {k: v for k, v in asdict(p).items() if k not in ("accuracy_m", "accuracy_note")}
    if p.accuracy_m is not None or p.accuracy_note:
        out["expected_error_m"] = p.accuracy_m
        out["accuracy_note"] = p.accuracy_note
    return out


def write(gdf: gpd.GeoDataFrame, path: str | Path, *, spec: LayerSpec, profile: str = "partner",
          provenance: Iterable[Provenance] = (), shareable: Collection[str] = ()) -> Path:
    """Export ``gdf`` (EPSG:4326) to ``path`` under ``profile`` (see ``apply_profile`` for
    ``shareable``); the format follows the file extension."""
    path = Path(path)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputError(f"{path.name}: cannot export to {path.suffix!r}; expected "
                         f"{one_of(sorted(FORMATS))}")
    out = _prepare(apply_profile(gdf, spec, profile, shareable), on_grid=fmt != "csv")  # CSV: grid_wkt rounds
    meta = metadata(profile, provenance)
    with atomic_path(path) as tmp:
        WRITERS[fmt](out, tmp, spec.name, meta)
    return path


def to_bytes(gdf: gpd.GeoDataFrame, fmt: str, *, spec: LayerSpec, profile: str = "partner",
             provenance: Iterable[Provenance] = (), shareable: Collection[str] = ()) -> bytes:
    """The export as bytes (for download buttons); ``fmt`` is geojson, gpkg, csv or kml."""
    suffix = {v: k for k, v in FORMATS.items()}[fmt]
    with tempfile.TemporaryDirectory() as tmpdir:
        target = Path(tmpdir) / f"{spec.name}{suffix}"
        write(gdf, target, spec=spec, profile=profile, provenance=provenance, shareable=shareable)
        return target.read_bytes()


def _prepare(gdf: gpd.GeoDataFrame, *, on_grid: bool = True) -> gpd.GeoDataFrame:
    """Dates as ISO days; geometries in 2D, rounded to 7 decimals (about 1 cm) when ``on_grid`` (else
    as they are: the CSV writer does both as it writes the WKT)."""
    out = gdf.copy()
    for col in out.columns:
        if col != out.geometry.name and pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = out[col].dt.strftime("%Y-%m-%d").astype(object).where(out[col].notna(), None)
    if on_grid:  # (CSV: grid_wkt(flat=True) drops z and m as it writes, without another pass over the geometries)
        geoms = out.geometry.to_numpy()
        # force_2d rebuilds every geometry: only when needed. A coordinate dimension of 2 (or none) means
        # neither z nor m (tests/test_export_grid_words.py), so one pass settles the usual case
        if (shapely.get_coordinate_dimension(geoms) > 2).any() and (shapely.has_z(geoms) | shapely.has_m(geoms)).any():
            geoms = shapely.force_2d(geoms)
        out[out.geometry.name] = round_coordinates(geoms)
    return out


def _geojson(gdf: gpd.GeoDataFrame, path: Path, layer: str, meta: dict[str, object]) -> None:
    pyogrio.write_dataframe(gdf, path, driver="GeoJSON", layer=layer,
                            layer_options={"RFC7946": "YES", "WRITE_NAME": "NO",
                                           "COORDINATE_PRECISION": str(COORD_DECIMALS)})
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["hgwatch"] = meta
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")


def _gpkg(gdf: gpd.GeoDataFrame, path: Path, layer: str, meta: dict[str, object]) -> None:
    pyogrio.write_dataframe(gdf, path, driver="GPKG", layer=layer, geometry_type="Unknown",
                            promote_to_multi=False)  # a Polygon beside a MultiPolygon stays a Polygon
    with contextlib.closing(sqlite3.connect(path)) as con, con:
        con.execute("CREATE TABLE hgw_export (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        con.executemany("INSERT INTO hgw_export VALUES (?, ?)",
                        [(k, json.dumps(v)) for k, v in meta.items()])


def _csv(gdf: gpd.GeoDataFrame, path: Path, layer: str, meta: dict[str, object]) -> None:
    df = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    geoms = gdf.geometry.to_numpy()
    added: list[tuple[str, Added]] = [
        ("geometry", lambda start, stop: grid_wkt(geoms[start:stop], flat=True)),  # 2D, rounded here
        (f"{META_PREFIX}profile", str(meta["profile"])), (f"{META_PREFIX}sources", json.dumps(meta["layers"],
                                                                                          ensure_ascii=False))]
    if any(name in df.columns for name, _ in added):  # (internal: a layer's own column of one of these names,
        for name, value in added:                     # written over in place)
            text = repeated_text(value, len(df)) if isinstance(value, str) else value(0, len(df))
            df[name] = pd.array(text, dtype=_TEXT)
        added = []
    # the geometry's WKT made CSV_ROWS rows at a time, and the same text on every row never made as a
    # column: the sources (1.6 kB with 7 layers) were 426 MB of a 637 MB file of 258,638 violations
    write_csv(df, path, bom=False, added=added, rows_per_piece=CSV_ROWS)


def _kml(gdf: gpd.GeoDataFrame, path: Path, layer: str, meta: dict[str, object]) -> None:
    layers: list[dict[str, object]] = meta["layers"]  # type: ignore[assignment]
    sources = "; ".join(f"{p['layer']}: {p['source']} ({p['licence']}{_error_text(p)})" for p in layers)
    write_kml(gdf, path, layer, title=f"HgWatch {layer}",
              description=f"HgWatch export, profile {meta['profile']}. Sources: {sources}",
              decimals=COORD_DECIMALS)


def _error_text(p: dict[str, object]) -> str:
    """', expected error ±500 m' for a layer whose metadata gives one (', expected error unknown' when
    it says it is unknown), else ''."""
    if "expected_error_m" not in p:
        return ""
    metres = p["expected_error_m"]
    return f", expected error ±{metres:g} m" if isinstance(metres, float | int) else ", expected error unknown"


WRITERS = {"geojson": _geojson, "gpkg": _gpkg, "csv": _csv, "kml": _kml}
