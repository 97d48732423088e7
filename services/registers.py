"""The registers a National Action Plan keeps (003 L1841-1862, L2985-3000; 000 §1.2.3; 004
L1650-1690): licences, facilities, miners and mercury trade records, the licences that expire
soon, and the active sites that no valid licence covers, counted per admin unit. No Streamlit here.

What a role sees is settled before this module runs: the frames come from the service
(``services.hgwatch.HgWatch.frames``), which reads each layer through ``services.auth.read_layer``,
so a partner's frames hold no wholly restricted layer (``mercury_trade``) and no restricted field.
On top of that, the miners' register is listed person by person only for a role that sees
restricted data (``people_for``); every other role gets counts.

A licence is valid on a day when its ``status`` is ``valid`` and ``valid_from`` <= day <=
``valid_to`` (bounds included, an empty bound open, a bound that is not a date never valid): the
rules' own definition (``geo.rules.validity``). A site counts as without a licence when it is
active and the union of the licences valid on the day does not wholly cover it, decided exactly
with geodesic edges (``geo.distance.area.not_covered``, the ``SITE-OUTSIDE-LICENCE`` rule's
kernel; the rule also checks each site on its own survey date, this count on one day).

A site surveyed again in a later round under a new id and linked to its earlier record
(``resurvey_of``, ``geo.inventory.resurvey``) is counted once, by its latest survey.

Per admin unit (``LicenceUnits``, issue 15): active sites, those without a valid licence, and
licences (all, and valid on the day), at a chosen level of the ``admin_areas`` layer by
containment (a site by its location, a licence by a point on its surface: ``services.areas``),
every unit listed; without admin areas, by the sites' free-text ``admin_area``, saying so (licences
carry no area text and are then not counted per unit).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from geo.distance.area import not_covered
from geo.errors import InputError
from geo.inventory import resolve_links
from geo.rules.model import Validity
from geo.rules.validity import valid_mask
from geo.words import one_of
from render.map.choropleth import choropleth_map
from services.areas import AREA_LAYER
from services.auth import Identity
from services.hgwatch import HgWatch
from services.rollups import (
    BASIS_ATTRIBUTE,
    BASIS_CONTAINMENT,
    NOT_LOCATED,
    default_level,
    level_units,
    unit_keys,
    unit_levels,
    unit_shapes,
)

EXPIRY_DAYS = 90  # licences ending within this many days are listed (issue 15)
LICENCE_VALIDITY = Validity()  # valid_from / valid_to, as the rules read them
NO_AREA = "(no admin unit)"
NO_SITE = "(no site)"
UNIT_COLUMNS = ["unit_code", "admin_unit", "within", "active_sites", "without_valid_licence", "licences",
                "valid_licences"]
MEASURES = {"without_valid_licence": ("Active sites without a valid licence", "sites"),
            "licences": ("Licences", "licences"), "valid_licences": ("Licences valid on the day", "licences")}
TOOLTIP = (("unit_code", "code", ""), ("within", "within", ""), ("active_sites", "active sites", ""),
           ("without_valid_licence", "without a valid licence", ""), ("licences", "licences", ""),
           ("valid_licences", "valid licences", ""))


@dataclass(frozen=True)
class LicenceUnits:
    """Sites without a valid licence and licences per admin unit of one level.

    Attributes
    ----------
    level : the admin level; None in the fallback (no admin areas).
    basis : ``"containment"`` or ``"attribute"`` (the sites' free-text admin_area).
    table : ``UNIT_COLUMNS``, one row per unit (every unit of the level; ``NOT_LOCATED`` last when a
        site or licence lies in none); ``licences`` / ``valid_licences`` NA in the fallback.
    shapes : the units' polygons (EPSG:4326) with the table's columns; None in the fallback.
    levels : the levels the admin areas hold, top first.
    note : how the units were found, for the reader.
    """

    level: str | None
    basis: str
    table: pd.DataFrame
    shapes: gpd.GeoDataFrame | None
    levels: tuple[str, ...]
    note: str


@dataclass(frozen=True)
class Registers:
    """The tables of the Registers page; a table is None when the role may not see it, and empty
    when the workspace has no such layer."""

    licences: pd.DataFrame
    expiring: pd.DataFrame
    facilities: pd.DataFrame
    miner_counts: pd.DataFrame
    unlicensed: pd.DataFrame
    units: LicenceUnits
    miners: pd.DataFrame | None  # one row per person: only for roles that see people
    trade: pd.DataFrame | None  # only for roles that may read the layer


def people_for(identity: Identity | None) -> bool:
    """True when ``identity`` sees the miners' register person by person: a role that sees every
    restricted field (analyst, admin), or the whole store (no identity)."""
    return identity is None or identity.rights.restricted == "all"


def service_registers(svc: HgWatch, *, today: date, level: str | None = None) -> Registers:
    """``registers`` of the layers ``svc``'s identity reads, kept with the view's answers
    (``HgWatch.kept``): the page reruns on every click, each run with a new service, and the sites not
    wholly covered by a licence took 2-5 s to find again at 5,382 sites (2026-11-27)."""
    people = people_for(svc.identity)
    return svc.kept("registers", (today, people, level),
                    lambda: registers(svc.frames(), today=today, people=people, level=level))


def registers(frames: Mapping[str, gpd.GeoDataFrame], *, today: date, people: bool,
              horizon_days: int = EXPIRY_DAYS, level: str | None = None) -> Registers:
    """The registers of ``frames`` (as the role reads them) on ``today``.

    Parameters
    ----------
    frames : layer type -> the layer as the role may see it.
    today : the day licences are judged valid on; ``expiring`` lists the licences valid on it
        whose ``valid_to`` is at most ``horizon_days`` days later.
    people : list the miners person by person (see ``people_for``); counts are always given.
    level : the admin level of the per-unit table (None: the highest below the country).

    Raises
    ------
    InputError
        when ``level`` is not one the admin areas hold.
    """
    licences = frames.get("licences")
    sites = frames.get("mining_sites")
    valid = _valid(licences, today)
    units = _licence_units(sites, licences, valid, frames.get(AREA_LAYER), level)
    return Registers(
        licences=_table(licences),
        expiring=_expiring(licences, valid, today, horizon_days),
        facilities=_table(frames.get("facilities")),
        miner_counts=_miner_counts(frames.get("miners")),
        unlicensed=units.table.loc[units.table["active_sites"] > 0, ["admin_unit", "active_sites",
                                                                     "without_valid_licence"]].reset_index(drop=True),
        units=units,
        miners=_table(frames.get("miners")) if people else None,
        trade=_table(frames["mercury_trade"]) if "mercury_trade" in frames else None,
    )


def _table(gdf: gpd.GeoDataFrame | None) -> pd.DataFrame:
    """The attributes of a layer as a plain table (empty when there is no layer)."""
    if gdf is None:
        return pd.DataFrame()
    return pd.DataFrame(gdf.drop(columns=gdf.geometry.name)).reset_index(drop=True)


def _valid(licences: gpd.GeoDataFrame | None, day: date) -> np.ndarray:
    """Per licence: valid on ``day`` (status ``valid`` and within its bounds)."""
    if licences is None or not len(licences):
        return np.zeros(0, dtype=bool)
    status = licences["status"] if "status" in licences else pd.Series(None, index=licences.index)
    return (status == "valid").to_numpy(dtype=bool) & valid_mask(licences, LICENCE_VALIDITY, day)


def _expiring(licences: gpd.GeoDataFrame | None, valid: np.ndarray, today: date, horizon_days: int) -> pd.DataFrame:
    """Licences valid on ``today`` whose last day is within ``horizon_days`` days, soonest first."""
    table = _table(licences)
    if not len(table) or LICENCE_VALIDITY.to_field not in table:
        return table.iloc[0:0]
    end = pd.to_datetime(table[LICENCE_VALIDITY.to_field], errors="coerce")
    soon = valid & (end <= pd.Timestamp(today + timedelta(days=horizon_days))).to_numpy(dtype=bool)
    out = table[soon].copy()
    out.insert(1, "days_left", (end[soon] - pd.Timestamp(today)).dt.days.astype(int))
    return out.sort_values("days_left", kind="stable").reset_index(drop=True)


def _miner_counts(miners: gpd.GeoDataFrame | None) -> pd.DataFrame:
    """Miners per site: how many, and how many have a location."""
    columns = ["site_id", "miners", "with_location"]
    if miners is None or not len(miners):
        return pd.DataFrame(columns=columns)
    site = miners["site_id"] if "site_id" in miners else pd.Series(None, index=miners.index)
    frame = pd.DataFrame({"site_id": site.astype(object).where(site.notna(), NO_SITE),
                          "located": (miners.geometry.notna() & ~miners.geometry.is_empty).to_numpy()})
    out = frame.groupby("site_id", sort=True).agg(miners=("located", "size"), with_location=("located", "sum"))
    return out.reset_index()[columns]


def _licence_units(sites: gpd.GeoDataFrame | None, licences: gpd.GeoDataFrame | None, valid: np.ndarray,
                   areas: gpd.GeoDataFrame | None, level: str | None) -> LicenceUnits:
    """Per unit of ``level`` (see ``LicenceUnits``): active sites, those the licences valid on the
    day do not wholly cover, and licences."""
    levels = unit_levels(areas)
    empty = gpd.GeoDataFrame(geometry=[], crs=4326)
    sites = sites if sites is not None and "status" in sites else empty
    if len(sites):  # a site surveyed again (resurvey_of): its latest survey says whether it is active now
        latest = ~resolve_links(pd.DataFrame(sites.drop(columns="geometry")), strict=False).superseded
        sites = sites[latest.to_numpy(dtype=bool)]
    active = sites[(sites["status"] == "active").to_numpy(dtype=bool)] if "status" in sites else sites
    covers = licences.geometry.to_numpy()[valid] if licences is not None and len(valid) else np.empty(0, object)
    bare = np.zeros(len(active), dtype=bool)
    if len(active):
        bare[not_covered(active.geometry.to_numpy(), covers)["subject"].to_numpy()] = True
    if levels and areas is not None:
        level = level or default_level(levels)
        if level not in levels:
            raise InputError(f"{AREA_LAYER}: field 'level': value {level!r}: expected {one_of(levels)}")
        units = level_units(areas, level)
        site_keys = unit_keys(active, areas, level)
        lic = licences if licences is not None else empty
        lic_keys = unit_keys(lic, areas, level) if len(lic) else pd.Series(dtype=object)
        basis = BASIS_CONTAINMENT
        note = (f"Sites and licences per {level}, by the unit that contains them (a licence by a point on its"
                " surface).")
    else:
        if level is not None:
            raise InputError(f"{AREA_LAYER}: the workspace holds no admin areas, so there is no level {level!r}")
        site_keys = active["admin_area"].astype(object).where(active["admin_area"].notna(), NO_AREA) \
            if "admin_area" in active else pd.Series(NO_AREA, index=active.index, dtype=object)
        codes = sorted(set(site_keys))
        units = pd.DataFrame({"unit_code": codes, "unit": codes, "within": None})
        lic_keys = None
        basis = BASIS_ATTRIBUTE
        note = ("The workspace has no admin_areas layer: sites are grouped by their free-text admin_area as typed,"
                " and licences (which name no area) are not counted per unit.")
    site_keys = pd.Series(site_keys.to_numpy(dtype=object), dtype=object)
    extra = set(site_keys) | (set(lic_keys) if lic_keys is not None else set())
    if NOT_LOCATED in extra:
        units = pd.concat([units, pd.DataFrame({"unit_code": [NOT_LOCATED], "unit": [NOT_LOCATED],
                                                "within": [None]})], ignore_index=True)
    table = units.rename(columns={"unit": "admin_unit"})
    table["active_sites"] = table["unit_code"].map(site_keys.value_counts()).fillna(0).astype(int)
    table["without_valid_licence"] = table["unit_code"].map(site_keys[bare].value_counts()).fillna(0).astype(int)
    if lic_keys is not None:
        lic_keys = pd.Series(lic_keys.to_numpy(dtype=object), dtype=object)
        table["licences"] = table["unit_code"].map(lic_keys.value_counts()).fillna(0).astype(int).astype("Int64")
        valid_keys = lic_keys[valid] if len(valid) == len(lic_keys) else lic_keys.iloc[0:0]
        table["valid_licences"] = table["unit_code"].map(valid_keys.value_counts()).fillna(0).astype(int).astype("Int64")
    else:
        table["licences"] = table["valid_licences"] = pd.Series(pd.NA, index=table.index, dtype="Int64")
    table = table[UNIT_COLUMNS].reset_index(drop=True)
    shapes = unit_shapes(table, areas, level) if basis == BASIS_CONTAINMENT else None
    return LicenceUnits(level, basis, table, shapes, levels, note)


def unit_map(units: LicenceUnits, measure: str, *, basemap: str = "osm") -> folium.Map | None:
    """The units of ``units`` coloured by ``measure`` (a key of ``MEASURES``); None in the fallback."""
    if measure not in MEASURES:
        raise InputError(f"choropleth measure {measure!r}: expected {one_of(MEASURES)}")
    if units.shapes is None:
        return None
    label, unit = MEASURES[measure]
    return choropleth_map(units.shapes, value=measure, label=label, unit=unit, name="admin_unit", tooltip=TOOLTIP,
                          basemap=basemap)
