"""Files for people outside: a layer or its filtered subset (GeoJSON RFC 7946, GeoPackage, CSV,
KML under the profiles internal / partner / public), the violations, and the inventory report;
and the analyst's marks of the columns that may leave (``share_fields``).

The CLI writes these to disk and the dashboard offers them as downloads; both call these same
functions, so a file has one layout whoever asks for it. No Streamlit here.
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path

import geopandas as gpd

from geo.errors import InputError
from geo.inventory import Factors
from geo.words import listed, one_of
from layers.catalogue import CATALOGUE, LayerSpec, is_restricted_name
from layers.io import export
from layers.io.readers import load_layer
from layers.io.violations import violations_bytes
from layers.store.base import LayerInfo, Store
from render.report.tables import Inventory, inventory_tables, select_area
from services.areas import stored_areas, with_units
from services.arguments import apply_filters, parse_bbox, parse_filters
from services.auth import Identity, may_see_layer, read_layer
from services.checks import UNKNOWN_ERROR
from services.inspection import inspection_table

FORMATS: dict[str, tuple[str, str]] = {  # fmt -> (file suffix, MIME type)
    "geojson": (".geojson", "application/geo+json"),
    "gpkg": (".gpkg", "application/geopackage+sqlite3"),
    "csv": (".csv", "text/csv"),
    "kml": (".kml", "application/vnd.google-earth.kml+xml"),
}
REPORT_LAYERS = ("mining_sites", "water_bodies")


def provenance(infos: Iterable[LayerInfo], layers: Iterable[str]) -> list[export.Provenance]:
    """Source, licence and expected positional error of each of ``layers``, from the workspace's
    provenance table: a partner told where a layer came from is told what its positions are worth
    (``accuracy_m`` and its note, or ``services.checks.UNKNOWN_ERROR`` when none was given). A value
    given with ``--set`` to a restricted field was never recorded (``services.imports.set_source``)."""
    wanted = set(layers)
    return [export.Provenance(i.layer, i.source, i.licence, i.synthetic, i.accuracy_m,
                              i.accuracy_note or (UNKNOWN_ERROR if i.accuracy_m is None else ""))
            for i in infos if i.layer in wanted]


def shareable(infos: Iterable[LayerInfo], layer: str) -> tuple[str, ...]:
    """The columns of ``layer`` an analyst marked shareable, from the workspace's layer list."""
    return next((i.shareable for i in infos if i.layer == layer), ())


def layer_file(gdf: gpd.GeoDataFrame, layer: str, fmt: str, *, profile: str,
               infos: Iterable[LayerInfo]) -> bytes:
    """One catalogue layer of the view as a ``fmt`` file made under ``profile`` (the allow-list
    of ``layers.io.export.apply_profile`` with the layer's shareable marks)."""
    infos = list(infos)
    return export.to_bytes(gdf, fmt, spec=CATALOGUE[layer], profile=profile,
                           provenance=provenance(infos, [layer]), shareable=shareable(infos, layer))


def violations_file(violations: gpd.GeoDataFrame, fmt: str, *, profile: str,
                    infos: Iterable[LayerInfo], layers: Iterable[str]) -> bytes:
    """The violations as a ``fmt`` file (``layers.io.violations``, the layout ``cli.py check
    --out`` writes); the provenance names every one of ``layers``, the layers the rules read."""
    return violations_bytes(violations, fmt, profile=profile, provenance=provenance(infos, layers))


def filter_fields(spec: LayerSpec, profile: str, identity: Identity) -> tuple[str, ...]:
    """The fields an export's ``--filter`` may name: every declared field for an internal export by
    a role that sees restricted fields; otherwise only those that may leave (``spec.shared_fields``).
    A partner or public file chosen by a restricted value would tell its readers that value (which
    sites one informant named), and a role that reads no restricted column has nothing to filter on."""
    if profile == "internal" and identity.rights.restricted != "none":
        return spec.field_names
    return spec.shared_fields


def export_layer(workspace: Store, layer: str, out: str | os.PathLike[str], *, profile: str, identity: Identity,
                 filters: Iterable[str] = (), bbox: str | None = None) -> tuple[Path, int]:
    """Write ``layer`` of ``workspace`` as ``identity`` may read it (``services.auth.read_layer``:
    a partner's read holds no restricted column, a field coordinator's holds them only in its
    areas), or the features that pass ``--filter`` items (``FIELD=V1,V2``) and ``--bbox`` text
    (``W,S,E,N``), to ``out``; returns the path and the number of features written."""
    spec = CATALOGUE[layer]
    if not may_see_layer(identity, layer):
        raise InputError(f"export {layer}: role {identity.role!r} may not read layer {layer!r};"
                         " an analyst or admin may")
    allowed = filter_fields(spec, profile, identity)
    for item in filters:
        name = item.partition("=")[0].strip()
        if name in spec.field_names and name not in allowed:
            who = f"a {profile} export" if profile != "internal" else f"role {identity.role!r}"
            raise InputError(f"--filter {item!r}: {name!r} is a restricted field of {layer}; {who} may"
                             f" not be chosen by it; expected a field that may leave, {one_of(allowed)}")
    gdf = apply_filters(read_layer(workspace, layer, identity), parse_filters(filters, spec, keys=allowed),
                        bbox=parse_bbox(bbox) if bbox else None)
    infos = workspace.layers()
    path = export.write(gdf, Path(out), spec=spec, profile=profile,
                        provenance=provenance(infos, [layer]), shareable=shareable(infos, layer))
    return path, len(gdf)


def share_fields(workspace: Store, layer: str, fields: Iterable[str], *,
                 undo: bool = False) -> tuple[str, ...]:
    """Mark columns of ``layer`` that the catalogue does not declare as shareable: they then
    leave under the partner and public profiles too (``undo``: they stay inside again).
    Returns the layer's marks afterwards. All or nothing: any refusal changes nothing.

    Raises
    ------
    InputError
        A name looks like a person or a contact (restricted on every layer), is a declared
        field, is not a column of the stored layer, or (``undo``) is not marked.
    """
    spec = CATALOGUE[layer]
    names = list(dict.fromkeys(fields))
    info = workspace.info(layer)
    problems = []
    for name in names:
        if undo:
            if name not in info.shareable:
                problems.append(f"'{name}' is not marked shareable; marked: {listed(info.shareable) or 'none'}")
        elif is_restricted_name(name):
            problems.append(f"'{name}' is restricted: its name means a person or a way to reach one "
                            "(informant, inspector, collector, participant, enumerator, respondent, "
                            "... name, contact, phone, email, address, id), on every layer; it never"
                            " leaves under partner or public and cannot be marked shareable")
        elif spec.field(name) is not None:
            problems.append(f"'{name}' is a field the catalogue declares for {layer}: it leaves under"
                            f" partner already (public leaves out {listed(export.PUBLIC_EXTRA_DROPS)});"
                            " share marks the columns the catalogue does not declare")
    if not undo and not problems:
        columns = workspace.columns(layer)
        extra = [c for c in columns if spec.field(c) is None]
        problems += [f"'{name}' is not a column of {layer}; its columns the catalogue does not"
                     f" declare are {extra}" for name in names if name not in columns]
    if problems:
        raise InputError(f"share {layer}: nothing was changed: " + "; ".join(problems))
    return workspace.mark_shareable(layer, names, undo=undo)


def report_layers(workspace: Store, paths: Mapping[str, str], identity: Identity | None = None
                  ) -> tuple[dict[str, gpd.GeoDataFrame | None], list[str]]:
    """The sites and water of a report, each from its file in ``paths`` or else the workspace (read as
    ``identity`` may see it, ``services.auth.read_layer``; None: whole), and a line per layer saying where
    it came from (source, licence, import time)."""
    for layer in paths:
        if layer not in REPORT_LAYERS:
            raise InputError(f"--layer {layer}=...: the report reads mining_sites and"
                             " water_bodies only")
    frames: dict[str, gpd.GeoDataFrame | None] = {}
    sources: list[str] = []
    for layer in REPORT_LAYERS:
        frames[layer] = None
        if layer in paths:
            frames[layer] = load_layer(paths[layer], layer).gdf
            sources.append(f"{layer}: {Path(paths[layer]).name}")  # no folder of the machine that made it
        elif workspace.exists() and workspace.has(layer):
            frames[layer] = workspace.read(layer) if identity is None else read_layer(workspace, layer, identity)
            info = workspace.info(layer)
            tag = " (SYNTHETIC demo data)" if info.synthetic else ""
            sources.append(f"{layer}: {info.source}, licence {info.licence}, imported"
                           f" {info.imported_at}{tag}")
    if frames["mining_sites"] is None:
        raise InputError(f"workspace {workspace.path} holds no mining_sites layer; import one or"
                         " pass --layer mining_sites=PATH")
    return frames, sources


def write_inventory_report(out: str | os.PathLike[str], *, factors: Factors, workspace: Store,
                           area: str | None = None, layer_paths: Mapping[str, str] | None = None,
                           today: date | None = None, identity: Identity | None = None) -> tuple[Path, Inventory]:
    """Read the sites (and water, if any) from ``workspace`` or ``layer_paths``
    (``{"mining_sites": PATH}``), compute the inventory for ``area`` with ``factors`` and write
    the report (PDF or HTML, by the suffix of ``out``). With ``identity``, the workspace's layers are
    read as it may see them, and the cases per area (which read every case) only for a role that sees
    all restricted data, as the dashboard's inventory does."""
    from render.report.document import write_report  # reportlab: loaded by the report only (issue 13)

    paths = dict(layer_paths or {})
    frames, sources = report_layers(workspace, paths, identity)
    sites = frames["mining_sites"]
    assert sites is not None  # report_layers refuses a report without sites
    sites = with_units(sites, stored_areas(workspace))  # admin units by location (services.areas)
    when = today or date.today()
    name = paths.get("mining_sites", "mining_sites")
    every_case = identity is None or identity.rights.restricted == "all"
    error = None if "mining_sites" in paths else workspace.info("mining_sites").accuracy_m  # a --layer file: unknown
    inv = inventory_tables(sites, factors, area=area, today=when, source=name,  # issue 12: cases per area
                           inspection=inspection_table(workspace) if every_case else None, expected_error_m=error)
    path = write_report(inv, out, sites=select_area(sites, area, source=name),
                        water=frames["water_bodies"],  # made today; the targets judged on ``when``
                        data_source="; ".join(sources))
    return path, inv
