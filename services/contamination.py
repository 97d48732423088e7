"""Contamination overlays for the CLI and the dashboard: samples classed, surfaces built.

Thin wiring between the layers (samples, guideline and exposure files) and the pure
computations in ``geo.contamination.units``, ``geo.contamination.guidelines`` and ``geo.contamination.surface``.
"""
from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.contamination import (
    ClassSettings,
    Guideline,
    Surface,
    classify_samples,
    convert_samples,
    interpolate,
    surface_inputs,
)
from geo.distance import centred_crs
from geo.errors import InputError, Problem
from geo.words import counted, listed
from layers.io.raster import surface_tags, write_cog
from layers.io.safefile import atomic_path
from services.arguments import check_metres
from settings.exposure import ExposureSettings

GUIDELINE_NOTE = ("Guideline values come from outside the source documents; check them "
                  "before use and set national values in config/guidelines.toml.")


def target_units(guidelines: dict[str, Guideline]) -> dict[str, str]:
    """The unit each medium is converted to: its guideline's unit."""
    return {medium: g.unit for medium, g in guidelines.items()}


def classed_samples(samples: gpd.GeoDataFrame, guidelines: dict[str, Guideline],
                    settings: ClassSettings, *, source: str) -> gpd.GeoDataFrame:
    """``samples`` converted to guideline units and classed (see geo.contamination.guidelines).

    Raises
    ------
    InputError
        Every row whose unit is unknown or wrong for its medium, named by file and row.
    """
    converted = convert_samples(samples, target_units(guidelines), source=source)
    return gpd.GeoDataFrame(classify_samples(converted, guidelines, settings),
                            geometry=samples.geometry.name, crs=samples.crs)


def usable_classed(samples: gpd.GeoDataFrame, guidelines: dict[str, Guideline], settings: ClassSettings,
                   *, source: str) -> tuple[gpd.GeoDataFrame, InputError | None]:
    """``classed_samples`` of the rows whose unit (and medium) can be used, and the error naming
    every other row (None when all can): a unit is refused row by row, the rest still classed.
    Rows keep their numbers (a ``_row`` column) so later messages name the same rows."""
    numbered = samples if "_row" in samples.columns else samples.assign(_row=np.arange(1, len(samples) + 1))
    try:
        return classed_samples(numbered, guidelines, settings, source=source), None
    except InputError as exc:
        refused = {p.row for p in exc.problems}
        keep = ~numbered["_row"].isin(refused).to_numpy(dtype=bool)
        return classed_samples(numbered[keep], guidelines, settings, source=source), exc


def medium_surface(classed: gpd.GeoDataFrame, *, medium: str, exposure: ExposureSettings,
                   method: str | None = None, cell_m: float | None = None,
                   max_distance_m: float | None = None, source: str = "samples") -> Surface:
    """The interpolated surface of ``medium`` from classed samples, in a local metric CRS.

    Unset options come from the [surface] section of the exposure settings; a given
    ``cell_m`` or ``max_distance_m`` (metres) must be a finite number > 0.

    Raises
    ------
    InputError
        No sample of ``medium``, or a cell size or distance that is not a finite number > 0.
    """
    cfg = exposure.surface
    cell = float(cfg["cell_m"]) if cell_m is None else check_metres(
        cell_m, name="cell_m", what="a cell size")
    reach = float(cfg["max_distance_m"]) if max_distance_m is None else check_metres(
        max_distance_m, name="max_distance_m", what="a distance from a sample", example="5000")
    chosen = classed[classed["medium"] == medium]
    if chosen.empty:
        raise InputError(f"{source}: no {medium} samples to interpolate", [Problem(
            source, None, "medium", medium,
            f"at least one sample of this medium; found media {listed(sorted(set(classed['medium'])))}")])
    method = method or str(cfg["default_method"])
    if method == "kriging":
        _positive_for_kriging(classed, chosen, source)
    crs = centred_crs(chosen)
    xy, values, n_bd = surface_inputs(chosen, medium=medium, crs=crs,
                                      below_detection_fraction=cfg["below_detection_fraction"])
    surface = interpolate(
        xy, values, crs=crs, unit=str(chosen["hg_unit"].iloc[0]),
        method=method, cell_m=cell, max_distance_m=reach,
        power=cfg["idw_power"], neighbours=cfg["idw_neighbours"],
        variogram_model=cfg["variogram_model"],
        kriging_min_samples=cfg["kriging_min_samples"],
        kriging_neighbours=cfg["kriging_neighbours"], source=source)
    notes = []
    if n_bd:
        notes.append(f"{counted(n_bd, 'below-detection value')} entered as "
                     f"{cfg['below_detection_fraction']:g} x the detection limit")
    bd = chosen["below_detection"].astype("boolean").fillna(False) if "below_detection" in chosen \
        else pd.Series(False, index=chosen.index)
    zeros = chosen[(chosen["hg_value"] == 0) & ~bd.to_numpy(dtype=bool)]
    if len(zeros):  # counted, not named: the notes reach the page's caption (markdown)
        notes.append(f"{counted(len(zeros), 'value')} recorded as 0 entered as 0: a 0 is no measurement, "
                     "probably below a detection limit not given (classed inconclusive)")
    return replace(surface, notes=(*surface.notes, *notes)) if notes else surface


def _positive_for_kriging(classed: gpd.GeoDataFrame, chosen: gpd.GeoDataFrame, source: str) -> None:
    """Refuse kriging (of ln Hg) naming every sample of ``chosen`` whose value is not above 0: its
    row (the ``_row`` column, else its place in ``classed``), id, field and value."""
    values = chosen["hg_value"].to_numpy(dtype=float)
    bad = np.flatnonzero(~(values > 0))
    if not len(bad):
        return
    rows = (chosen["_row"].to_numpy() if "_row" in chosen.columns
            else classed.index.get_indexer(chosen.index) + 1)
    ids = chosen["sample_id"].to_numpy() if "sample_id" in chosen.columns else [None] * len(chosen)
    raise InputError(f"{source}: {counted(len(bad), 'sample')} of 0 cannot be kriged (kriging works on ln(Hg))", [
        Problem(source, int(rows[i]), "hg", float(chosen["hg"].iloc[i] if "hg" in chosen.columns else values[i]),
                "a value above 0 for kriging on ln(Hg) (a value below the detection limit is written "
                "'<limit', e.g. '<0.1'); or use --method idw",
                feature_id=None if ids[i] is None else str(ids[i]))
        for i in bad])


def write_surface(surface: Surface, out: str | Path, *, medium: str,
                  guidelines: dict[str, Guideline]) -> Path:
    """Write ``surface`` as a COG with its units, method, guideline and citation in the tags;
    atomically: ``out`` appears only once the whole file is written."""
    g = guidelines.get(medium)
    tags = surface_tags(
        surface, medium=medium, guideline=None if g is None else g.value,
        guideline_citation="" if g is None else g.citation,
        extra={"HGW_NOTE": "Interpolated from point samples; an estimate between samples, "
                           "masked beyond the max distance. " + GUIDELINE_NOTE})
    path = Path(out)
    with atomic_path(path) as tmp:
        write_cog(surface, tmp, tags=tags)
    return path


def surface_bytes(surface: Surface, *, medium: str, guidelines: dict[str, Guideline]) -> bytes:
    """``write_surface`` as bytes, for a download button."""
    with tempfile.TemporaryDirectory() as folder:
        return write_surface(surface, Path(folder) / "surface.tif", medium=medium,
                             guidelines=guidelines).read_bytes()


def surface_lines(surface: Surface, *, medium: str) -> list[str]:
    """What a surface is, in plain lines: grid, painted cells, leave-one-out error, notes."""
    painted = int((surface.values == surface.values).sum())
    lines = [f"{surface.method} surface of {counted(surface.n_samples, f'{medium} sample position')}: "
             f"{surface.grid.width} x {surface.grid.height} cells of {surface.grid.cell_m:g} m, "
             f"{painted} within {surface.max_distance_m:g} m of a sample",
             surface.loo_text()]
    return lines + [f"  {note}" for note in surface.notes]


def above_guideline(classed: gpd.GeoDataFrame) -> int:
    """How many classed samples lie above their guideline (once or several times)."""
    return int(classed["hg_class"].isin(["above", "several_times_above"]).sum())


def above_figure(classed: gpd.GeoDataFrame) -> tuple[str, str]:
    """The "samples above guideline" figure and its help: out of the samples that have a guideline
    to be compared with, the others (no guideline set for their medium) said apart."""
    counts = classed["hg_class"].value_counts()
    none = int(counts.get("no_guideline", 0))
    unsure = int(counts.get("inconclusive", 0))
    compared = len(classed) - none
    media = sorted({str(m) for m in classed.loc[classed["hg_class"] == "no_guideline", "medium"]})
    help_text = (f"Samples above their medium's guideline (once or several times), out of the "
                 f"{compared:,} whose medium has a guideline."
                 + (f" {none:,} more have no guideline set ({', '.join(media)}): set a national "
                    "value in config/guidelines.toml to class them." if none else "")
                 + (f" {unsure:,} of the {compared:,} are inconclusive (a detection limit above "
                    "the guideline, or a value recorded as 0)." if unsure else ""))
    return f"{above_guideline(classed):,} of {compared:,}", help_text


def guideline_table(guidelines: dict[str, Guideline]) -> pd.DataFrame:
    """One row per medium: its guideline value and unit, predatory-fish value, kind, citation."""
    return pd.DataFrame([{
        "medium": k, "guideline": "none set" if g.value is None else f"{g.value:g} {g.unit}",
        "predatory fish": "" if g.predatory_value is None else f"{g.predatory_value:g} {g.unit}",
        "kind": g.kind, "citation": g.citation or "set a national value"}
        for k, g in guidelines.items()])
