"""Write layers for partners and field laptops: GeoJSON (RFC 7946), GeoPackage, CSV, KML.

Profiles decide which fields leave the agency:

- ``internal``: every field;
- ``partner``: drops restricted fields (people, contacts: see ``FieldSpec.restricted``);
- ``public``: also drops free-text fields that may name people (``notes``, ``operator``).

Every file says which profile made it and names the source and licence of each layer: a
top-level ``hgwatch`` member in GeoJSON, an ``hgw_export`` table in GeoPackage, ``hgw_*``
columns in CSV and the document description in KML. Writes go to a temporary file that is
renamed into place, so a failed export never leaves a half-written file.
"""
from __future__ import annotations

import contextlib
import json
import sqlite3
import tempfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely

from geo.errors import InputError
from layers.catalogue import LayerSpec
from layers.io.safefile import atomic_path, defuse_formula

PROFILES = ("internal", "partner", "public")
FORMATS = {".geojson": "geojson", ".json": "geojson", ".gpkg": "gpkg", ".csv": "csv",
           ".kml": "kml"}
PUBLIC_EXTRA_DROPS = ("notes", "operator")
META_PREFIX = "hgw_"
COORD_DECIMALS = 7


@dataclass(frozen=True)
class Provenance:
    """Source and licence of one exported layer."""

    layer: str
    source: str
    licence: str
    synthetic: bool = False


def apply_profile(gdf: gpd.GeoDataFrame, spec: LayerSpec, profile: str) -> gpd.GeoDataFrame:
    """Drop the columns ``profile`` may not see; raise InputError for an unknown profile."""
    if profile not in PROFILES:
        raise InputError(f"profile {profile!r} is not known; expected one of {list(PROFILES)}")
    drop: set[str] = set()
    if profile in ("partner", "public"):
        drop |= set(spec.restricted_fields)
    if profile == "public":
        drop |= set(PUBLIC_EXTRA_DROPS)
    return gdf.drop(columns=[c for c in gdf.columns if c in drop])


def metadata(profile: str, provenance: Iterable[Provenance]) -> dict[str, object]:
    """The block every export carries: profile, time, and each layer's source and licence."""
    return {
        "generator": "HgWatch",
        "profile": profile,
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "layers": [asdict(p) for p in provenance],
    }


def write(gdf: gpd.GeoDataFrame, path: str | Path, *, spec: LayerSpec, profile: str = "partner",
          provenance: Iterable[Provenance] = ()) -> Path:
    """Export ``gdf`` (EPSG:4326) to ``path``; the format follows the file extension."""
    path = Path(path)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputError(f"{path.name}: cannot export to {path.suffix!r}; expected one of "
                         f"{sorted(FORMATS)}")
    out = _prepare(apply_profile(gdf, spec, profile))
    meta = metadata(profile, provenance)
    with atomic_path(path) as tmp:
        WRITERS[fmt](out, tmp, spec.name, meta)
    return path


def to_bytes(gdf: gpd.GeoDataFrame, fmt: str, *, spec: LayerSpec, profile: str = "partner",
             provenance: Iterable[Provenance] = ()) -> bytes:
    """The export as bytes (for download buttons); ``fmt`` is geojson, gpkg, csv or kml."""
    suffix = {v: k for k, v in FORMATS.items()}[fmt]
    with tempfile.TemporaryDirectory() as tmpdir:
        target = Path(tmpdir) / f"{spec.name}{suffix}"
        write(gdf, target, spec=spec, profile=profile, provenance=provenance)
        return target.read_bytes()


def _prepare(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Dates as ISO days, 2D geometries rounded to 7 decimals (about 1 cm)."""
    out = gdf.copy()
    for col in out.columns:
        if col != out.geometry.name and pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = out[col].dt.strftime("%Y-%m-%d").astype(object).where(out[col].notna(), None)
    geoms = shapely.force_2d(out.geometry.to_numpy())
    out[out.geometry.name] = shapely.set_precision(geoms, 10 ** -COORD_DECIMALS, mode="pointwise")
    return out


def _geojson(gdf: gpd.GeoDataFrame, path: Path, layer: str, meta: dict[str, object]) -> None:
    pyogrio.write_dataframe(gdf, path, driver="GeoJSON", layer=layer,
                            layer_options={"RFC7946": "YES", "WRITE_NAME": "NO",
                                           "COORDINATE_PRECISION": str(COORD_DECIMALS)})
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["hgwatch"] = meta
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")


def _gpkg(gdf: gpd.GeoDataFrame, path: Path, layer: str, meta: dict[str, object]) -> None:
    pyogrio.write_dataframe(gdf, path, driver="GPKG", layer=layer, geometry_type="Unknown")
    with contextlib.closing(sqlite3.connect(path)) as con, con:
        con.execute("CREATE TABLE hgw_export (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        con.executemany("INSERT INTO hgw_export VALUES (?, ?)",
                        [(k, json.dumps(v)) for k, v in meta.items()])


def _csv(gdf: gpd.GeoDataFrame, path: Path, layer: str, meta: dict[str, object]) -> None:
    df = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    for col in df.columns:
        if df[col].dtype == object or pd.api.types.is_string_dtype(df[col]):
            df[col] = df[col].map(defuse_formula)
    df["geometry"] = shapely.to_wkt(gdf.geometry.to_numpy(), rounding_precision=COORD_DECIMALS,
                                    trim=True)
    df[f"{META_PREFIX}profile"] = meta["profile"]
    df[f"{META_PREFIX}sources"] = json.dumps(meta["layers"], ensure_ascii=False)
    df.to_csv(path, index=False)


def _kml(gdf: gpd.GeoDataFrame, path: Path, layer: str, meta: dict[str, object]) -> None:
    layers: list[dict[str, str]] = meta["layers"]  # type: ignore[assignment]
    sources = "; ".join(f"{p['layer']}: {p['source']} ({p['licence']})" for p in layers)
    pyogrio.write_dataframe(
        gdf, path, driver="LIBKML", layer=layer,
        dataset_options={"NAME": f"HgWatch {layer}",
                         "DESCRIPTION": f"HgWatch export, profile {meta['profile']}. Sources: {sources}"})


WRITERS = {"geojson": _geojson, "gpkg": _gpkg, "csv": _csv, "kml": _kml}
