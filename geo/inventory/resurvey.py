"""Re-surveys: one site surveyed in several rounds, each time as a record with its own ``site_id``.

A layer refuses a repeated ``site_id``, so a site surveyed again in a later round is a new record with
a new id, and the inventory would count it twice. Two things settle it:

- ``resurvey_of`` (``LINK_FIELD``): the ``site_id`` of the same site in an earlier round, given on the
  later record (a field form fills it, or an analyst from the candidates below). ``resolve_links``
  checks every link (an id the layer holds, another record's, of an earlier round, one record of a
  site per round) and names the row, field and value of each bad one; it gives every record the
  ``site_id`` of the first survey of its site (``SAME_SITE``) and marks the records a later survey of
  the same site replaces (``SUPERSEDED``). The inventory's totals count each site once, at its
  latest survey; a round counts each of its records, so a linked site counts once per round.
- ``candidates``: the pairs of records of different rounds, not linked, whose geometries (points or
  polygons) lie within a distance of each other, in exact geodesic metres on WGS84
  (``geo.distance.geodesic_distance``). The distance is the factor file's ``resurvey_distance_m``
  plus twice the layer's expected error when it is recorded (each of the two positions may be off
  by it). A pair is a lead for a person to decide on, never a link by itself.

Candidate pairs are found without degrees: each geometry is bounded by a ball in Earth-centred
(ECEF) coordinates on the WGS84 ellipsoid (a point: radius 0; a polygon: its vertices, plus the
most its geodesic edges can bow away from their chords), and the straight line between two points
of the ellipsoid is never longer than the geodesic between them, so every pair within the distance
is among the pairs whose balls lie within it of each other (a k-d tree finds those); each of these
is then measured exactly. The antimeridian and the poles need nothing special.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from geo.distance import geodesic_distance
from geo.errors import InputError, Problem
from geo.inventory.targets import round_ranks, survey_rounds
from geo.words import counted

LINK_FIELD = "resurvey_of"
"""The field of a later record naming the ``site_id`` of the same site in an earlier round."""
SUPERSEDED = "superseded"
"""Column added to the sites: True where a later survey of the same site replaces the record."""
CANDIDATE_COLUMNS = ("site_id", "survey_round", "name", "admin_area", "resurvey_of", "earlier_round",
                     "earlier_name", "earlier_admin_area", "distance_m", "within_m")
"""The candidates table: the later record, the earlier one (``resurvey_of``: its ``site_id``, so that a
confirmed row is a link as it stands), their geodesic distance and the distance searched, metres."""

_A, _F = 6_378_137.0, 1 / 298.257223563  # the WGS84 ellipsoid: semi-major axis (m), flattening
_E2 = _F * (2 - _F)
_MIN_RADIUS_M = _A * (1 - _F) ** 2  # the least radius of curvature of WGS84 (meridian, equator): b^2/a
_SLACK_M = 1e-3  # metres added to every bound: rounding of the ECEF coordinates (~1e-9 m) and more
_TOLERANCE_M = 1e-6  # metres: "within" is inclusive up to the arithmetic noise of the kernel
_SMALL_M = 1_000.0  # metres: a ball up to this radius (a point, a site's footprint) is searched for in bulk


@dataclass(frozen=True)
class Links:
    """The sites' links resolved, per record (aligned with the sites): the ``site_id`` of the first
    survey of its site (``SAME_SITE``), whether a later survey of the site replaces it, and the earlier
    record it re-surveys (its ``site_id``; None when it is the site's first survey)."""

    same_site: pd.Series
    superseded: pd.Series
    resurvey_of: pd.Series


def _text(value: object) -> str | None:
    """A cell as an id: stripped text, None where empty (None, NaN, NA, blank)."""
    if value is None or (not isinstance(value, str) and bool(pd.isna(value))):
        return None
    text = str(value).strip()
    return text or None


def _texts(values: pd.Series) -> np.ndarray:
    """Each cell as an id (see ``_text``): an object array, None where empty."""
    text = values.astype(str).str.strip().to_numpy(dtype=object)
    text[values.isna().to_numpy() | (text == "")] = None
    return text


def resolve_links(sites: pd.DataFrame, *, source: str = "mining_sites", strict: bool = True) -> Links:
    """Resolve ``resurvey_of`` over every record of ``sites`` (all areas: a link may cross them).

    Parameters
    ----------
    sites : the ``mining_sites`` records, with ``site_id``, ``survey_round`` / ``survey_date`` and
        optionally ``resurvey_of``; an optional ``_row`` column gives the records' row numbers.
    source : file or layer name used in error messages.
    strict : raise on a bad link; False: a bad link is no link (for a filtered view of the sites, which
        may leave out the earlier record; the inventory of the whole layer reports it).

    Returns
    -------
    Links. Without a ``resurvey_of`` value every record is its own site (``SAME_SITE`` is its
    ``site_id``) and none is superseded.

    Raises
    ------
    InputError
        naming the row, id, field and value of every link that is not the ``site_id`` of another
        record of an earlier round, and every second record of one site in the same round.
    """
    links = _texts(sites[LINK_FIELD]) if LINK_FIELD in sites.columns else None
    if links is None or not pd.notna(links).any():  # no link: each record a site
        own = sites["site_id"] if "site_id" in sites.columns else pd.Series(None, index=sites.index)
        return Links(own.map(_text).astype(object), pd.Series(False, index=sites.index, dtype=bool),
                     pd.Series(None, index=sites.index, dtype=object))
    n = len(sites)
    ids = _texts(sites["site_id"]) if "site_id" in sites.columns else np.full(n, None, dtype=object)
    rounds = survey_rounds(sites).to_numpy(dtype=object)
    rank_of = round_ranks(sites)
    rank = np.fromiter((rank_of[r] for r in pd.unique(rounds)), dtype=np.int64)[pd.factorize(rounds)[0]]
    rows = sites["_row"].to_numpy(dtype=object) if "_row" in sites.columns else np.arange(1, n + 1)
    problems: list[Problem] = []

    def bad(k: int, expected: str) -> None:
        problems.append(Problem(source, int(rows[k]), LINK_FIELD, links[k], expected, feature_id=ids[k],
                                kind="link"))

    held = pd.Series(np.arange(n), index=ids)[pd.notna(ids)]
    held = held[~held.index.duplicated(keep="last")]  # a repeated id: its last record (the layer refuses it)
    linked = pd.notna(links)
    target = np.full(n, -1, dtype=np.int64)
    target[linked] = pd.Index(held.index).get_indexer(links[linked])
    target[linked & (target >= 0)] = held.to_numpy()[target[linked & (target >= 0)]]
    ok = linked & (target >= 0)
    ok[ok] = (target[ok] != np.flatnonzero(ok)) & (rank[target[ok]] < rank[ok])
    for k in np.flatnonzero(linked & ~ok).tolist():  # per row only for the bad links, in row order
        j = int(target[k])
        if j < 0:
            bad(k, "the site_id of the same site in an earlier survey round: no site has this id")
        elif j == k:
            bad(k, "the site_id of the same site in an earlier survey round, not the record's own id")
        else:
            bad(k, f"the site_id of the same site in an earlier survey round: {links[k]} is of round"
                   f" {rounds[j]}, not before this record's round {rounds[k]}")
    parent = np.where(ok, target, -1)
    root = np.arange(n)
    for level in np.unique(rank):  # earlier rounds first: a parent's root is final before its children's
        here = np.flatnonzero(rank == level)
        mine = parent[here]
        root[here] = np.where(mine >= 0, root[np.maximum(mine, 0)], here)
        first = pd.Series(here).groupby(root[here]).transform("min").to_numpy()
        for k, f in zip(here[first != here], first[first != here], strict=True):  # a second record of a site
            bad(int(k), f"one record of a site per survey round: row {rows[f]} ({ids[f]}) is already"
                        f" this site in round {rounds[k]}")
            parent[k], root[k] = -1, k
    if problems and strict:
        raise InputError(f"{source}: {counted(len(problems), 're-survey link')} ({LINK_FIELD}) cannot be used", problems)
    order = np.lexsort((np.arange(n), -rank, root))  # per root: its latest round first, then the first row
    latest = np.empty(n, dtype=np.int64)
    starts = np.r_[True, root[order][1:] != root[order][:-1]]
    latest[root[order][starts]] = order[starts]
    earlier = ids[np.maximum(parent, 0)]
    earlier[parent < 0] = None
    return Links(pd.Series(ids[root], index=sites.index, dtype=object),
                 pd.Series(latest[root] != np.arange(n), index=sites.index, dtype=bool),
                 pd.Series(earlier, index=sites.index, dtype=object))


def search_distance_m(distance_m: float, expected_error_m: float | None) -> float:
    """The distance searched, metres: ``distance_m`` plus twice the layer's expected error when known."""
    return float(distance_m) + (2.0 * float(expected_error_m) if expected_error_m is not None else 0.0)


def _ecef(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Earth-centred coordinates in metres of points on the WGS84 ellipsoid (height 0), shape (n, 3)."""
    phi, lam = np.radians(lat), np.radians(lon)
    n = _A / np.sqrt(1.0 - _E2 * np.sin(phi) ** 2)
    return np.column_stack([n * np.cos(phi) * np.cos(lam), n * np.cos(phi) * np.sin(lam),
                            n * (1.0 - _E2) * np.sin(phi)])


def _balls(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per geometry, an ECEF centre and a radius (metres) of a ball holding every point of it: its
    vertices, and its geodesic edges, which bow at most L^2 / (8 R) from their chords (L the chord,
    R the least radius of curvature of WGS84)."""
    coords, owner = shapely.get_coordinates(geoms, return_index=True)
    xyz = _ecef(coords[:, 0], coords[:, 1])
    n = len(geoms)
    counts = np.bincount(owner, minlength=n)
    sums = np.column_stack([np.bincount(owner, weights=xyz[:, i], minlength=n) for i in range(3)])
    centre = sums / np.maximum(counts, 1)[:, None].astype(float)
    reach = np.zeros(n)
    np.maximum.at(reach, owner, np.linalg.norm(xyz - centre[owner], axis=1))
    same = owner[1:] == owner[:-1]  # consecutive vertices of one geometry: its edges (and a few joins)
    chord = np.linalg.norm(xyz[1:] - xyz[:-1], axis=1)
    bow = np.zeros(n)
    np.maximum.at(bow, owner[1:][same], chord[same] ** 2 / (8.0 * _MIN_RADIUS_M))
    return centre, reach + bow + _SLACK_M


def _near(centre: np.ndarray, radius: np.ndarray, distance_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Every pair (once) of balls whose gap may be at most ``distance_m``: centres within ``distance_m``
    plus both radii. Small balls (up to ``_SMALL_M``) are found in a tree of the small ones, each ball
    searching its own radius plus the largest small one; a large ball searches every ball within its
    radius plus the largest, so one large polygon does not widen every point's search."""
    small = radius <= _SMALL_M
    found = []
    for mine, theirs in ((np.arange(radius.size), np.flatnonzero(small)), (np.flatnonzero(~small),
                                                                           np.arange(radius.size))):
        if not mine.size or not theirs.size:
            continue
        hits = cKDTree(centre[theirs]).query_ball_point(
            centre[mine], distance_m + radius[mine] + radius[theirs].max() + _SLACK_M)
        a = np.repeat(mine, [len(h) for h in hits])
        b = theirs[np.fromiter((h for row in hits for h in row), dtype=np.int64, count=a.size)]
        found.append(np.column_stack([np.minimum(a, b), np.maximum(a, b)]))
    both = np.unique(np.concatenate(found), axis=0) if found else np.empty((0, 2), dtype=np.int64)
    both = both[both[:, 0] != both[:, 1]]
    return both[:, 0], both[:, 1]


def candidates(sites: pd.DataFrame, same_site: pd.Series, *, distance_m: float) -> pd.DataFrame:
    """Pairs of records of different survey rounds, of different sites, within ``distance_m``.

    Parameters
    ----------
    sites : the records with ``site_id``, the survey round fields and ``geometry`` (shapely, lon/lat
        degrees, EPSG:4326; points or polygons); empty or missing geometries are left out.
    same_site : per record, its site (``Links.same_site``): records of one site are no candidates.
    distance_m : the distance searched (``search_distance_m``), metres, inclusive.

    Returns
    -------
    DataFrame with ``CANDIDATE_COLUMNS``, one row per pair (the later record first), nearest first,
    then by ``site_id`` and ``resurvey_of``; ``distance_m`` exact geodesic metres on WGS84.
    """
    empty = pd.DataFrame(columns=list(CANDIDATE_COLUMNS))
    if "geometry" not in sites.columns or not len(sites):
        return empty
    geoms = np.asarray(sites["geometry"].to_numpy(), dtype=object)
    usable = np.flatnonzero(~(shapely.is_missing(geoms) | shapely.is_empty(geoms)))
    rounds = survey_rounds(sites).to_numpy(dtype=object)
    rank = round_ranks(sites)
    if usable.size < 2 or len({rounds[k] for k in usable}) < 2:
        return empty
    centre, radius = _balls(geoms[usable])
    a, b = _near(centre, radius, distance_m)
    order = np.array([rank[r] for r in rounds[usable]])
    flip = order[a] < order[b]  # the later record first
    a, b = np.where(flip, b, a), np.where(flip, a, b)
    same = same_site.to_numpy(dtype=object)[usable]
    keep = (order[a] > order[b]) & (same[a] != same[b])  # rounds differ; never two records of one site
    a, b = a[keep], b[keep]
    gap = np.linalg.norm(centre[a] - centre[b], axis=1)
    keep = gap <= distance_m + radius[a] + radius[b] + _SLACK_M
    found = []
    for i, j in zip(usable[a[keep]], usable[b[keep]], strict=True):
        d = geodesic_distance(geoms[i], geoms[j])
        if d <= distance_m + _TOLERANCE_M:
            found.append((int(i), int(j), d))
    if not found:
        return empty
    return _table(sites, rounds, found, distance_m)


def _table(sites: pd.DataFrame, rounds: np.ndarray, found: list[tuple[int, int, float]],
           distance_m: float) -> pd.DataFrame:
    def col(name: str, k: int) -> object:
        return sites[name].iloc[k] if name in sites.columns else None

    rows = [{"site_id": col("site_id", i), "survey_round": rounds[i], "name": col("name", i),
             "admin_area": col("admin_area", i), "resurvey_of": col("site_id", j), "earlier_round": rounds[j],
             "earlier_name": col("name", j), "earlier_admin_area": col("admin_area", j), "distance_m": d,
             "within_m": distance_m} for i, j, d in found]
    out = pd.DataFrame(rows, columns=list(CANDIDATE_COLUMNS))
    out["_a"], out["_b"] = out["site_id"].astype(str), out["resurvey_of"].astype(str)
    return out.sort_values(["distance_m", "_a", "_b"]).drop(columns=["_a", "_b"]).reset_index(drop=True)
