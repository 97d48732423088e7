"""Exposure overlays for the CLI and the dashboard: downstream reach, pressure, monitoring gaps.

Thin wiring from workspace layers and the settings files to ``geo.exposure.network``, ``geo.exposure.reach``,
``geo.exposure.pressure`` and ``geo.exposure.gaps``. Site mercury use comes from the inventory estimate
(``geo.inventory.estimate`` with the factors passed in): low, central and high kg a year.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.distance import centred_crs, nearest_within
from geo.exposure import (
    Pressure,
    Reach,
    RiverNetwork,
    build_network,
    mercury_sources,
    monitoring_gaps,
    pressure_surface,
    reach_gaps,
    trace_downstream,
)
from geo.inventory import Factors, estimate_sites
from settings.exposure import ExposureSettings


@dataclass(frozen=True)
class Downstream:
    """Reaches and people downstream of every traced source."""

    network: RiverNetwork
    reaches: list[Reach]
    people: pd.DataFrame  # geo.exposure.reach.PEOPLE_COLUMNS plus source_type

    def people_by_source(self) -> pd.Series:
        """People downstream per source id (known populations summed; NA counted as 0)."""
        if self.people.empty:
            return pd.Series(dtype="int64")
        pop = pd.to_numeric(self.people["population"], errors="coerce").fillna(0)
        return pop.groupby(self.people["source_id"]).sum().astype("int64")

    def people_total(self) -> tuple[int, int]:
        """(people, settlements) downstream of any source, each settlement counted once."""
        if self.people.empty:
            return 0, 0
        unique = self.people.drop_duplicates("area_id")
        pop = pd.to_numeric(unique["population"], errors="coerce").fillna(0)
        return int(pop.sum()), len(unique)


def site_estimates(sites: gpd.GeoDataFrame, factors: Factors) -> gpd.GeoDataFrame:
    """Sites with the inventory's mercury use estimate (``used_kg``, ``used_low``, ``used_high``,
    kg a year) from the factor file's ``factors``."""
    est = estimate_sites(sites, factors, source="mining_sites")
    keep = ["basis", "used_kg", "used_low", "used_high"]
    return gpd.GeoDataFrame(pd.concat([sites.reset_index(drop=True),
                                       est[keep].reset_index(drop=True)], axis=1),
                            geometry=sites.geometry.name, crs=sites.crs)


def downstream(frames: dict[str, gpd.GeoDataFrame], exposure: ExposureSettings, *,
               reach_m: float | None = None, buffer_m: float | None = None) -> Downstream | None:
    """Trace every mercury source within the entry distance of a river; None without rivers."""
    water = frames.get("water_bodies")
    if water is None or water.empty:
        return None
    cfg = exposure.downstream
    network = build_network(water, snap_tolerance_m=cfg["snap_tolerance_m"])
    sources = mercury_sources(frames.get("mining_sites"), frames.get("tailings"))
    near, half_width = _near_a_river(sources, water, cfg["entry_distance_m"])
    reaches, people = trace_downstream(
        network, sources.iloc[near], frames.get("residential_areas"),
        entry_distance_m=cfg["entry_distance_m"] + half_width,
        reach_m=reach_m or cfg["reach_m"], buffer_m=buffer_m or cfg["settlement_buffer_m"])
    kinds = dict(zip(sources["source_id"], sources["source_type"]))
    people = people.assign(source_type=people["source_id"].map(kinds))
    return Downstream(network, reaches, people)


def _near_a_river(sources: gpd.GeoDataFrame, water: gpd.GeoDataFrame,
                  distance_m: float) -> tuple[np.ndarray, float]:
    """Positions of the sources within ``distance_m`` of a river line's bank, measured exactly
    on the ellipsoid as the rules do (``geo.distance.geodesic``, half ``width_m`` off a centre line), and
    the largest half width (so the reach can start from the centre line)."""
    lines = water[water.geom_type.isin(["LineString", "MultiLineString"])].to_crs(4326)
    width = pd.to_numeric(lines["width_m"], errors="coerce") if "width_m" in lines else None
    half = (width.fillna(0.0) / 2).to_numpy(float) if width is not None else np.zeros(len(lines))
    if lines.empty or sources.empty:
        return np.array([], dtype=int), 0.0
    found = nearest_within(sources.geometry.values, lines.geometry.values,
                           max_distance_m=distance_m, target_offset_m=half)
    return np.sort(found["subject"].to_numpy(dtype=int)), float(half.max(initial=0.0))


def pressure(sites: gpd.GeoDataFrame, exposure: ExposureSettings, factors: Factors, *,
             kernel_width_m: float | None = None) -> Pressure | None:
    """Kernel-spread estimated mercury use of the sites; None without sites."""
    if sites is None or sites.empty:
        return None
    est = site_estimates(sites, factors)
    crs = centred_crs(est)
    pts = est.to_crs(crs).geometry.representative_point()
    xy = np.column_stack([pts.x.to_numpy(), pts.y.to_numpy()])
    cfg = exposure.pressure
    return pressure_surface(
        xy, est["used_low"].to_numpy(float), est["used_kg"].to_numpy(float),
        est["used_high"].to_numpy(float), crs=crs,
        kernel_width_m=kernel_width_m or cfg["kernel_width_m"], cell_m=cfg["cell_m"])


def gaps(sites: gpd.GeoDataFrame, samples: gpd.GeoDataFrame | None, exposure: ExposureSettings,
         factors: Factors, *, today: date, people: pd.Series | None = None) -> pd.DataFrame:
    """Ranked monitoring gaps of the mercury-using sites (see ``geo.exposure.gaps``)."""
    cfg = exposure.gaps
    est = site_estimates(sites, factors)
    est = est.set_geometry(est.geometry.representative_point())
    if samples is None:
        samples = _no_samples()
    return monitoring_gaps(est, samples, max_distance_m=cfg["max_distance_m"],
                           max_age_years=cfg["max_age_years"], today=today,
                           media=list(cfg["media"]), people=people)


def river_gaps(down: Downstream, samples: gpd.GeoDataFrame | None, exposure: ExposureSettings,
               *, today: date) -> pd.DataFrame:
    """Ranked downstream reaches with no recent sample near them (see ``geo.exposure.gaps``)."""
    cfg = exposure.gaps
    if not down.reaches:
        return reach_gaps(gpd.GeoDataFrame({"source_id": [], "people_downstream": [],
                                            "reach_km": []}, geometry=[], crs=4326),
                          _no_samples() if samples is None else samples,
                          max_distance_m=cfg["max_distance_m"],
                          max_age_years=cfg["max_age_years"], today=today,
                          media=list(cfg["media"]))
    people = down.people_by_source()
    lines = gpd.GeoDataFrame({
        "source_id": [r.source_id for r in down.reaches],
        "people_downstream": [int(people.get(r.source_id, 0)) for r in down.reaches],
        "reach_km": [sum(p.length_m for p in r.pieces) / 1000 for r in down.reaches],
    }, geometry=[r.geometry for r in down.reaches], crs=4326)
    return reach_gaps(lines, _no_samples() if samples is None else samples,
                      max_distance_m=cfg["max_distance_m"], max_age_years=cfg["max_age_years"],
                      today=today, media=list(cfg["media"]))


def _no_samples() -> gpd.GeoDataFrame:
    """An empty samples layer."""
    return gpd.GeoDataFrame({"sample_id": [], "medium": [], "sampled_on": []}, geometry=[],
                            crs=4326)
