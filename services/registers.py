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
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.admin_units import report_levels, unit_labels
from geo.distance.area import not_covered
from geo.rules.model import Validity
from geo.rules.validity import valid_mask
from services.areas import AREA_LAYER, with_units
from services.auth import Identity

EXPIRY_DAYS = 90  # licences ending within this many days are listed (issue 15)
LICENCE_VALIDITY = Validity()  # valid_from / valid_to, as the rules read them
NO_AREA = "(no admin unit)"
NO_SITE = "(no site)"


@dataclass(frozen=True)
class Registers:
    """The tables of the Registers page; a table is None when the role may not see it, and empty
    when the workspace has no such layer."""

    licences: pd.DataFrame
    expiring: pd.DataFrame
    facilities: pd.DataFrame
    miner_counts: pd.DataFrame
    unlicensed: pd.DataFrame
    miners: pd.DataFrame | None  # one row per person: only for roles that see people
    trade: pd.DataFrame | None  # only for roles that may read the layer


def people_for(identity: Identity | None) -> bool:
    """True when ``identity`` sees the miners' register person by person: a role that sees every
    restricted field (analyst, admin), or the whole store (no identity)."""
    return identity is None or identity.rights.restricted == "all"


def registers(frames: Mapping[str, gpd.GeoDataFrame], *, today: date, people: bool,
              horizon_days: int = EXPIRY_DAYS) -> Registers:
    """The registers of ``frames`` (as the role reads them) on ``today``.

    Parameters
    ----------
    frames : layer type -> the layer as the role may see it.
    today : the day licences are judged valid on; ``expiring`` lists the licences valid on it
        whose ``valid_to`` is at most ``horizon_days`` days later.
    people : list the miners person by person (see ``people_for``); counts are always given.
    """
    licences = frames.get("licences")
    sites = frames.get("mining_sites")
    valid = _valid(licences, today)
    return Registers(
        licences=_table(licences),
        expiring=_expiring(licences, valid, today, horizon_days),
        facilities=_table(frames.get("facilities")),
        miner_counts=_miner_counts(frames.get("miners")),
        unlicensed=_unlicensed(sites, licences, valid, frames.get(AREA_LAYER)),
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


def _unlicensed(sites: gpd.GeoDataFrame | None, licences: gpd.GeoDataFrame | None, valid: np.ndarray,
                areas: gpd.GeoDataFrame | None) -> pd.DataFrame:
    """Per admin unit (the top reporting level, else the sites' ``admin_area``): active sites and
    those that the licences valid on the day do not wholly cover."""
    columns = ["admin_unit", "active_sites", "without_valid_licence"]
    if sites is None or not len(sites) or "status" not in sites:
        return pd.DataFrame(columns=columns)
    active = sites[(sites["status"] == "active").to_numpy(dtype=bool)]
    covers = licences.geometry.to_numpy()[valid] if licences is not None and len(valid) else np.empty(0, object)
    bare = np.zeros(len(active), dtype=bool)
    bare[not_covered(active.geometry.to_numpy(), covers)["subject"].to_numpy()] = True
    unit = _units(active, areas)
    table = pd.DataFrame({"admin_unit": unit.to_numpy(), "bare": bare})
    out = table.groupby("admin_unit", sort=True).agg(active_sites=("bare", "size"), without_valid_licence=("bare", "sum"))
    return out.reset_index()[columns]


def _units(sites: gpd.GeoDataFrame, areas: gpd.GeoDataFrame | None) -> pd.Series:
    """Each site's unit at the top reporting level by containment (``services.areas``), else its
    ``admin_area`` text, else ``NO_AREA``."""
    placed = with_units(sites, areas)
    levels = report_levels(placed)
    if levels is not None:
        return unit_labels(placed, [levels[0]])[levels[0]].replace("(not located)", NO_AREA)
    text = sites["admin_area"] if "admin_area" in sites else pd.Series(None, index=sites.index)
    return text.astype(object).where(text.notna(), NO_AREA)
