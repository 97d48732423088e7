"""The field pack: what a coordinator takes to the field for the open cases of one area.

``write_pack`` writes four files into a folder:

- ``inspection.xlsx``: the XLSForm (``layers.io.xlsform``) ODK and KoBoToolbox load;
- ``cases.csv``: the cases for its ``select_one_from_file`` (``name``, ``label``, then
  ``violation_id``, site, rule, distance in metres, site lon/lat, status, assignee, area),
  written by HgWatch's one CSV writer, without a byte-order mark (phones read the header as is);
- ``map.html``: the cases on an offline map, built as the dashboard's HTML export is
  (``render.map.mapview.build_map`` + ``render.map.standalone``), every value escaped;
- ``cases.gpkg``: the same rows as points (EPSG:4326, layer ``cases``) for QField.

The files are made in a staging folder beside the target and moved in only when all four are
written: a failed pack leaves the folder as it was.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio

from geo.errors import InputError
from geo.rules import RuleSet
from layers.io.csvfile import write_csv
from layers.io.xlsform import CASES_FILE, write_xlsform
from layers.store.base import Store
from render.map.mapview import MapOptions, build_map
from render.map.standalone import standalone_html
from services import audit
from services.auth import Identity
from services.cases import case_rules, list_cases
from services.worth import pack_worth
from settings import Settings

FORM_ID = "hgwatch_inspection"
TITLE = "HgWatch inspection"
SHARED_TITLE = f"{TITLE}: all areas"  # the one form on ODK Central, whose entity list holds every area's cases
FILES = ("inspection.xlsx", CASES_FILE, "map.html", "cases.gpkg")
PACK_COLUMNS = ("name", "label", "violation_id", "site_id", "site_name", "rule_id", "distance_m", "lon", "lat",
                "status", "assignee", "admin_area")


class NoOpenCase(InputError):
    """The pack's area (and assignee) has no open case left: nothing to write."""


@dataclass(frozen=True)
class FieldPack:
    """A written pack: its folder, its files and how many cases it holds."""

    folder: Path
    files: tuple[Path, ...]
    cases: int
    area: str = ""                # the admin area it was made for
    assignee: str | None = None   # the account it was made for, when one
    version: str = ""             # the form's version (UTC time to the second)


def open_statuses() -> tuple[str, ...]:
    """The statuses a field visit can still settle (``config/cases.toml`` ``open``): the pack holds these."""
    return case_rules().open


def pack_cases(cases: pd.DataFrame, worth: Mapping[str, str] | None = None) -> pd.DataFrame:
    """The rows of ``cases.csv`` from a case list (``services.cases.list_cases`` columns), open cases only.

    ``name`` is the ``violation_id`` (the answer the form records); ``label`` is what the phone
    shows: id, site name, rule and distance in whole metres, then, per rule id in ``worth``
    (``services.worth.pack_worth``), what that distance is worth given the layers' expected error.
    """
    frame = cases[cases["status"].isin(open_statuses())] if "status" in cases else cases.iloc[0:0]
    out = pd.DataFrame({"violation_id": frame["violation_id"].astype(str)}, index=frame.index)
    for column in PACK_COLUMNS[3:]:
        source = "name" if column == "site_name" and "site_name" not in frame and "name" in frame else column
        out[column] = frame.get(source)
    out["distance_m"] = pd.to_numeric(out["distance_m"], errors="coerce")
    for column in ("lon", "lat"):
        out[column] = pd.to_numeric(out[column], errors="coerce").round(7)
    out["name"] = out["violation_id"]
    out["label"] = [_label(*values) for values in zip(out["violation_id"], out["site_name"], out["rule_id"],
                                                      out["distance_m"])]
    if worth:
        out["label"] = [label + (f" ({worth[str(rule)]})" if str(rule) in worth else "")
                        for label, rule in zip(out["label"], out["rule_id"])]
    return out.loc[:, list(PACK_COLUMNS)].sort_values("violation_id").reset_index(drop=True)


def _label(violation_id: str, site: object, rule: object, distance: float) -> str:
    parts = [violation_id, *([] if site is None or pd.isna(site) or site == "" else [str(site)]), str(rule)]
    return " · ".join(parts + ([] if pd.isna(distance) else [f"{distance:,.0f} m"]))


def write_pack(cases: pd.DataFrame, folder: Path, *, area: str, assignee: str | None = None,
               now: datetime | None = None, worth: Mapping[str, str] | None = None) -> FieldPack:
    """Write the field pack of ``cases`` (the open ones) into ``folder`` (made when missing).

    Parameters
    ----------
    cases : the case list (``services.cases.list_cases`` columns).
    folder : where the four files go; files of the same names there are replaced.
    area : the admin area the pack is for (in the form title and the map title).
    assignee : the account the pack is for, when one (in the titles).
    now : the form version's time (UTC, to the second); defaults to now, so each pack is a new version on a server.
    worth : per rule id, what a flag is worth (``pack_cases``; ``services.worth.pack_worth``).

    Raises
    ------
    NoOpenCase
        No open case is left to visit.
    """
    rows = pack_cases(cases, worth)
    whose = f" for {assignee}" if assignee else ""
    if rows.empty:
        raise NoOpenCase(f"no open case (status {' / '.join(open_statuses())}) in area {area!r}{whose}; "
                         "nothing written")
    title = f"{TITLE}: {area}{whose}"
    version = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%d%H%M%S")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    blocked = [name for name in FILES if (folder / name).is_dir()]
    if blocked:
        raise InputError(f"{folder}: {blocked} are folders, not files; nothing written (move them away)")
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.fieldpack-", dir=_staging_place(folder)))
    try:
        write_xlsform(staging / FILES[0], title=title, form_id=FORM_ID, version=version)
        write_csv(rows, staging / FILES[1], bom=False)
        (staging / FILES[2]).write_text(map_html(rows, title=title), encoding="utf-8")
        _write_gpkg(rows, staging / FILES[3])
        for name in FILES:
            os.replace(staging / name, folder / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return FieldPack(folder, tuple(folder / name for name in FILES), len(rows), area, assignee, version)


def share_form(pack: FieldPack) -> Path:
    """Title the pack's form for every area (``SHARED_TITLE``), keeping its version, and return it:
    the form ODK Central serves is one for all areas' phones (its entity list holds every area's
    cases), so it must not carry the title of the last pack published (the North phones showed
    "HgWatch inspection: South for ama"). The file in the pack is then byte for byte the server's."""
    return write_xlsform(pack.folder / FILES[0], title=SHARED_TITLE, form_id=FORM_ID,
                         version=pack.version or datetime.now(UTC).strftime("%Y%m%d%H%M%S"))


def _staging_place(folder: Path) -> Path:
    """Where the files are made before they are moved in: beside ``folder`` (so a pack killed halfway
    leaves nothing inside the folder a coordinator copies to the phones), or inside it when the parent
    is on another file system (a USB stick's mount point) or cannot be written."""
    parent = folder.resolve().parent
    if parent != folder.resolve() and os.access(parent, os.W_OK) and parent.stat().st_dev == folder.stat().st_dev:
        return parent
    return folder


def field_pack(store: Store, identity: Identity, *, area: str, assignee: str | None,
               folder: Path, rules: RuleSet | None = None) -> tuple[FieldPack, pd.DataFrame]:
    """Write the pack of ``area``'s open cases that ``identity`` may see (``services.cases.list_cases``)
    into ``folder``, record it in the audit trail, and return it with its case rows.

    A field account asking for an area outside its own is refused by name (it would otherwise
    hear that the area has no open case). Each case's label says what its distance is worth given
    the expected error of the layers its rule (of ``rules``, else the shipped rule file) compares."""
    if identity.rights.restricted == "areas" and area not in identity.areas:
        raise InputError(f"--area {area!r}: no open case that {identity.name} may see: a field account works only "
                         f"the cases of its areas ({', '.join(identity.areas) or 'none'}); nothing written")
    cases = list_cases(store, identity, area=area, assignee=assignee)
    worth = pack_worth(rules if rules is not None else Settings().rules, store.layers(), cases.get("rule_id", ()))
    pack = write_pack(cases, folder, area=area, assignee=assignee, worth=worth)
    rows = pack_cases(cases, worth)
    audit.record_output(store, "export", "fieldpack", after={
        "area": area, "assignee": assignee, "folder": str(pack.folder), "cases": list(rows["violation_id"])})
    return pack, rows


def points(rows: pd.DataFrame) -> gpd.GeoDataFrame:
    """The pack rows with a known position as points (EPSG:4326)."""
    known = rows[rows["lon"].notna() & rows["lat"].notna()]
    return gpd.GeoDataFrame(known.drop(columns=["name"]), crs=4326,
                            geometry=gpd.points_from_xy(known["lon"], known["lat"]))


def map_html(rows: pd.DataFrame, *, title: str) -> str:
    """The cases on a stand-alone offline map: their sites, and each case as a flagged point."""
    located = points(rows)
    sites = located.rename(columns={"site_name": "name"}).drop_duplicates("site_id")
    sites = sites.loc[:, ["site_id", "name", "admin_area", "geometry"]]
    flagged: Any = located.loc[:, ["violation_id", "rule_id", "site_id", "distance_m", "geometry"]].assign(
        subject_layer="mining_sites", subject_id=located["site_id"], severity="unknown")
    m = build_map({"mining_sites": sites}, violations=flagged, options=MapOptions(basemap="osm"))
    return standalone_html(m, title=title)


def _write_gpkg(rows: pd.DataFrame, path: Path) -> None:
    pyogrio.write_dataframe(points(rows), path, layer="cases", driver="GPKG")
