"""Monitoring gaps: high-pressure sites with no recent sample nearby, ranked.

This answers "where should we sample next". ``monitoring_gaps`` ranks sites, ``reach_gaps``
ranks downstream river reaches. A site has a gap when no sample of the counted
media lies within ``max_distance_m`` (exact geodesic metres, ``geo.distance.geodesic``) that was taken
within ``max_age_years`` before ``today``. Gaps are ranked by estimated mercury use (central,
then high), then by people downstream when given.
"""
from __future__ import annotations

from datetime import date

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.distance import nearest_within

COLUMNS = ["rank", "site_id", "name", "used_kg", "used_low", "used_high", "people_downstream",
           "nearest_sample_m", "nearest_sample_id", "latest_nearby", "reason"]


def monitoring_gaps(sites: gpd.GeoDataFrame, samples: gpd.GeoDataFrame, *, max_distance_m: float,
                    max_age_years: float, today: date, media: list[str],
                    people: pd.Series | None = None) -> pd.DataFrame:
    """Rank the mercury-using sites that lack a recent sample within ``max_distance_m``.

    Parameters
    ----------
    sites : lon/lat sites with ``site_id``, ``name`` and estimated use ``used_kg``,
        ``used_low``, ``used_high`` (kg Hg a year); sites with no positive central use are
        not listed.
    samples : lon/lat samples with ``sample_id``, ``medium`` and ``sampled_on`` (a sample with
        no date never counts as recent).
    max_distance_m : metres. max_age_years : years (365.25 days). today : reference date.
    media : media that count as monitoring.
    people : optional people downstream per site_id, used to break ties and shown.

    Returns
    -------
    One row per gap (columns ``COLUMNS``), rank 1 first; ``nearest_sample_m`` is the distance to
    the nearest counted sample of any age (NaN when none within 10 x ``max_distance_m``).
    """
    used = pd.to_numeric(sites["used_kg"], errors="coerce")
    chosen = sites[(used > 0).to_numpy()].to_crs(4326).reset_index(drop=True)
    counted, when, recent = _counted_and_recent(samples, media, today, max_age_years)
    covered = nearest_within(chosen.geometry.values, recent.geometry.values,
                             max_distance_m=max_distance_m)
    gap = chosen.drop(index=covered["subject"].to_numpy()).reset_index(drop=True)
    if gap.empty:
        return pd.DataFrame(columns=COLUMNS)
    any_age = nearest_within(gap.geometry.values, counted.geometry.values,
                             max_distance_m=10 * max_distance_m).set_index("subject")
    nearby = nearest_within(gap.geometry.values, counted.geometry.values,
                            max_distance_m=max_distance_m)
    out = pd.DataFrame({
        "site_id": gap["site_id"].astype(str), "name": gap.get("name"),
        "used_kg": gap["used_kg"], "used_low": gap["used_low"], "used_high": gap["used_high"],
        "people_downstream": (gap["site_id"].astype(str).map(people).fillna(0).astype(int)
                              if people is not None else 0),
    })
    idx = np.arange(len(gap))
    out["nearest_sample_m"] = [any_age["distance_m"].get(i, np.nan) for i in idx]
    out["nearest_sample_id"] = [counted["sample_id"].iloc[int(any_age["target"][i])]
                                if i in any_age.index else None for i in idx]
    latest = []
    for i in idx:
        # the newest counted sample within reach, if any (all of them are too old)
        dist = nearby[nearby["subject"] == i]
        latest.append(None if dist.empty else _newest_within(gap.geometry.iloc[i], counted, when,
                                                             max_distance_m))
    out["latest_nearby"] = latest
    within = f"within {max_distance_m / 1000:g} km"
    out["reason"] = [
        f"newest sample {within} is from {d}, older than {max_age_years:g} years" if d is not None
        else f"no dated sample {within}" if (nearby["subject"] == i).any()
        else f"no sample {within}" for i, d in zip(idx, latest)]
    out = out.sort_values(["used_kg", "used_high", "people_downstream"],
                          ascending=False, kind="stable").reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out[COLUMNS]


def _newest_within(point, samples: gpd.GeoDataFrame, when: pd.Series,
                   max_distance_m: float) -> str | None:
    """ISO date of the newest sample within ``max_distance_m`` of ``point``."""
    found = nearest_within(samples.geometry.values, [point], max_distance_m=max_distance_m)
    dates = when.iloc[found["subject"].to_numpy()].dropna()
    return None if dates.empty else dates.max().date().isoformat()


REACH_COLUMNS = ["rank", "source_id", "people_downstream", "reach_km", "nearest_sample_m",
                 "reason"]


def reach_gaps(reaches: gpd.GeoDataFrame, samples: gpd.GeoDataFrame, *, max_distance_m: float,
               max_age_years: float, today: date, media: list[str]) -> pd.DataFrame:
    """Rank downstream reaches with no recent sample within ``max_distance_m`` of the river.

    Parameters
    ----------
    reaches : lon/lat reach lines with ``source_id``, ``people_downstream`` and ``reach_km``.
    samples, max_distance_m, max_age_years, today, media : as in ``monitoring_gaps``.

    Returns
    -------
    One row per reach without a counted sample taken within ``max_age_years`` lying within
    ``max_distance_m`` (exact geodesic metres) of any part of it, ranked by people downstream.
    """
    counted, _, recent = _counted_and_recent(samples, media, today, max_age_years)
    lines = reaches.to_crs(4326).reset_index(drop=True)
    covered = nearest_within(lines.geometry.values, recent.geometry.values,
                             max_distance_m=max_distance_m)
    gap = lines.drop(index=covered["subject"].to_numpy()).reset_index(drop=True)
    if gap.empty:
        return pd.DataFrame(columns=REACH_COLUMNS)
    any_age = nearest_within(gap.geometry.values, counted.geometry.values,
                             max_distance_m=10 * max_distance_m).set_index("subject")
    out = pd.DataFrame({
        "source_id": gap["source_id"].astype(str),
        "people_downstream": gap["people_downstream"].astype(int),
        "reach_km": gap["reach_km"].astype(float),
        "nearest_sample_m": [any_age["distance_m"].get(i, np.nan) for i in range(len(gap))],
    })
    out["reason"] = (f"no sample within {max_distance_m / 1000:g} km of the reach taken in the "
                     f"last {max_age_years:g} years")
    out = out.sort_values(["people_downstream", "reach_km"], ascending=False,
                          kind="stable").reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out[REACH_COLUMNS]


def _counted_and_recent(samples: gpd.GeoDataFrame, media: list[str], today: date,
                        max_age_years: float) -> tuple[gpd.GeoDataFrame, pd.Series, gpd.GeoDataFrame]:
    """Samples of ``media`` in lon/lat, their dates (NaT when not given, or when the layer has no
    ``sampled_on`` at all), and those taken within ``max_age_years`` before ``today``."""
    counted = samples[samples["medium"].isin(media)].to_crs(4326).reset_index(drop=True)
    when = (pd.to_datetime(counted["sampled_on"], errors="coerce") if "sampled_on" in counted
            else pd.Series(pd.NaT, index=counted.index, dtype="datetime64[ns]"))
    cutoff = pd.Timestamp(today) - pd.Timedelta(days=365.25 * max_age_years)
    recent = counted[(when >= cutoff).to_numpy(dtype=bool)].reset_index(drop=True)
    return counted, when, recent
