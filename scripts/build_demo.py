"""Build the demo workspace: real GSHHG rivers and a lake, and SYNTHETIC mining data around them.

Water: GSHHG 2.3.7 (WDBII rivers, level-2 lake shorelines) for a box in south-western Ghana
(-2.4/-1.3/5.9/6.7), read with GMT from Debian's packages:

    apt-get install -y gmt gmt-gshhg-full

Everything else (mining sites, tailings, residential areas, deposits, samples, and the registers of
issue 15: admin areas, a protected area, licences, receptors, a facility, mercury trade records and
miners) is synthetic, made with fixed seeds, placed at known geodesic distances from the real rivers
and sites, and flagged as synthetic in the workspace metadata, the names ("DEMO ...") and the
README. The built file is committed, so `make run` needs no system package; run `make demo` to
rebuild it, or `--water-from data/demo_workspace.gpkg` to rebuild it without GMT from the water
layer already built (the same rivers, so the same synthetic layers).
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Geod

from layers.store.workspace import Workspace

REGION = "-2.4/-1.3/5.9/6.7"
GEOD = Geod(ellps="WGS84")
AREAS = ("DEMO North", "DEMO Centre", "DEMO South")
GSHHG = dict(source="GSHHG 2.3.7 (WDBII) via GMT, Debian gmt-gshhg-full", licence="LGPL-3.0-or-later",
             accuracy_m=500.0, accuracy_note="GSHHG river lines are small-scale: expect hundreds of "
             "metres of error; the demo's 100 m flags are a demonstration, not field truth")
SYNTHETIC = dict(source="HgWatch synthetic demo data (scripts/build_demo.py, seed 7)",
                 licence="CC0-1.0", accuracy_m=None, synthetic=True,
                 accuracy_note="synthetic: placed at known distances from the GSHHG rivers")


def gmt_segments(args: list[str]) -> list[np.ndarray]:
    """Run `gmt coast ... -M` and split its multi-segment text into (n, 2) lon/lat arrays."""
    if shutil.which("gmt") is None:
        sys.exit("build_demo: GMT is missing; run `apt-get install -y gmt gmt-gshhg-full`")
    text = subprocess.run(["gmt", "coast", f"-R{REGION}", "-Df", "-M", *args], check=True,
                          capture_output=True, text=True).stdout
    segments: list[np.ndarray] = []
    current: list[list[float]] = []
    for line in text.splitlines():
        if line.startswith(">"):
            if len(current) > 1:
                segments.append(np.array(current, dtype=float))
            current = []
        elif line.strip():
            current.append([float(v) for v in line.split()[:2]])
    if len(current) > 1:
        segments.append(np.array(current, dtype=float))
    return segments


def water(from_workspace: Path | None = None) -> gpd.GeoDataFrame:
    """GSHHG rivers as lines and lake shorelines as polygons (read back from ``from_workspace``,
    a workspace this script built, when given)."""
    if from_workspace is not None:
        kept = Workspace(from_workspace).read("water_bodies")
        return gpd.GeoDataFrame(kept[["water_id", "name", "kind"]], geometry=kept.geometry.to_numpy(), crs=4326)
    lines = [shapely.LineString(s) for s in gmt_segments(["-Ia"])]
    rivers = [g for g in lines if g.length > 0]  # drop GMT's zero-length bin-edge stubs
    lakes = [shapely.Polygon(s) for s in gmt_segments(["-W2", "-A0/2/2"])]
    rows = [{"water_id": f"R{i + 1:03d}", "name": None, "kind": "river"} for i in range(len(rivers))]
    rows += [{"water_id": f"L{i + 1:03d}", "name": "Lake Bosumtwi" if i == 0 else None,
              "kind": "lake"} for i in range(len(lakes))]
    return gpd.GeoDataFrame(rows, geometry=rivers + lakes, crs=4326)


def beside(rng: np.random.Generator, rivers: list[shapely.LineString], distance_m: float) -> tuple[float, float]:
    """A point ``distance_m`` metres (geodesic) sideways from the middle of a random river segment."""
    line = rivers[rng.integers(len(rivers))]
    coords = np.asarray(line.coords)
    k = rng.integers(len(coords) - 1)
    (x1, y1), (x2, y2) = coords[k], coords[k + 1]
    mx, my = GEOD.fwd(x1, y1, GEOD.inv(x1, y1, x2, y2)[0], GEOD.inv(x1, y1, x2, y2)[2] / 2)[:2]
    az = GEOD.inv(mx, my, x2, y2)[0] + rng.choice([-90.0, 90.0])
    x, y, _ = GEOD.fwd(mx, my, az, distance_m)
    return float(x), float(y)


def sites(rng: np.random.Generator, rivers: list[shapely.LineString], n: int = 150) -> gpd.GeoDataFrame:
    """Synthetic sites: a third within 100 m of a river, the rest 150 m to 3 km away."""
    rows, geoms = [], []
    for i in range(n):
        near = rng.random() < 0.33
        x, y = beside(rng, rivers, rng.uniform(10, 90) if near else rng.uniform(150, 3000))
        amalgamation = rng.choice(["none", "whole_ore", "concentrate", "partial", "unknown"],
                                  p=[0.2, 0.25, 0.35, 0.1, 0.1])
        burning = "none" if amalgamation == "none" else rng.choice(["open", "retort", "unknown"],
                                                                    p=[0.6, 0.3, 0.1])
        gold = None if rng.random() < 0.1 else round(float(rng.lognormal(1.0, 0.9)), 2)
        survey_round = rng.choice(["2022", "2024"])
        rows.append({
            "site_id": f"DEMO-S{i + 1:03d}", "name": f"DEMO site {i + 1}",
            "status": rng.choice(["active", "inactive", "abandoned", "unknown"], p=[0.7, 0.15, 0.1, 0.05]),
            "uses_mercury": bool(amalgamation in ("whole_ore", "concentrate", "partial")),
            "amalgamation": amalgamation, "burning": burning,
            "burning_in_residential": bool(burning == "open" and rng.random() < 0.3),
            "cyanide_leaching": bool(rng.random() < 0.1),
            "processing_method": "amalgamation" if amalgamation != "none" else rng.choice(["gravity", "cyanidation"]),
            "gold_kg_per_year": gold,
            "mercury_kg_per_year": round(gold * 0.6, 2) if gold and rng.random() < 0.15 else None,
            "miners": int(rng.integers(5, 300)),
            "women_miners": int(rng.integers(0, 60)),
            "size_class": rng.choice(["small", "average", "large"], p=[0.6, 0.3, 0.1]),
            "licence_status": rng.choice(["licensed", "unlicensed", "pending"], p=[0.2, 0.7, 0.1]),
            "registered": bool(rng.random() < 0.3),
            "season": rng.choice(["year_round", "dry", "wet"]),
            "admin_area": AREAS[0] if y > 6.45 else AREAS[1] if y > 6.2 else AREAS[2],
            "survey_date": f"{survey_round}-{int(rng.integers(1, 13)):02d}-{int(rng.integers(1, 28)):02d}",
            "survey_round": survey_round,
            "informant_name": f"DEMO informant {i + 1}",
            "informant_contact": f"+000 000 {i + 1:04d}",
            "notes": "synthetic demo record",
        })
        geom = shapely.Point(x, y)
        if rng.random() < 0.25:  # some sites are footprints, not points
            geom = shapely.Polygon(_square(x, y, rng.uniform(20, 60)))
        geoms.append(geom)
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=4326)


def _square(x: float, y: float, half_m: float) -> list[tuple[float, float]]:
    """Corners of a square of half-side ``half_m`` metres centred on (x, y), anticlockwise."""
    corners = []
    for az in (225.0, 135.0, 45.0, 315.0):
        cx, cy, _ = GEOD.fwd(x, y, az, half_m * np.sqrt(2))
        corners.append((float(cx), float(cy)))
    return corners


def tailings(rng: np.random.Generator, rivers: list[shapely.LineString], site_ids: list[str]) -> gpd.GeoDataFrame:
    rows, geoms = [], []
    for i, site_id in enumerate(rng.choice(site_ids, size=40, replace=False)):
        x, y = beside(rng, rivers, rng.uniform(20, 90) if rng.random() < 0.35 else rng.uniform(150, 2000))
        rows.append({"tailings_id": f"DEMO-T{i + 1:03d}", "site_id": site_id,
                     "lined": bool(rng.random() < 0.2), "capped": bool(rng.random() < 0.1),
                     "hg_mg_per_kg": round(float(rng.lognormal(1.5, 1.0)), 2),
                     "status": rng.choice(["active", "closed", "abandoned"])})
        geoms.append(shapely.Polygon(_square(x, y, rng.uniform(10, 30))))
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=4326)


def villages(rng: np.random.Generator, rivers: list[shapely.LineString]) -> gpd.GeoDataFrame:
    rows, geoms = [], []
    for i in range(30):
        x, y = beside(rng, rivers, rng.uniform(200, 2500))
        rows.append({"area_id": f"DEMO-V{i + 1:03d}", "name": f"DEMO village {i + 1}",
                     "population": int(rng.integers(80, 6000)),
                     "place": rng.choice(["village", "hamlet", "town", "camp"], p=[0.6, 0.2, 0.1, 0.1]),
                     "admin_area": AREAS[0] if y > 6.45 else AREAS[1] if y > 6.2 else AREAS[2]})
        geoms.append(shapely.Polygon(_square(x, y, rng.uniform(150, 400))) if rng.random() < 0.5
                     else shapely.Point(x, y))
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=4326)


def deposits(rng: np.random.Generator, rivers: list[shapely.LineString]) -> gpd.GeoDataFrame:
    rows, geoms = [], []
    for i in range(8):
        alluvial = i % 2 == 0
        x, y = beside(rng, rivers, rng.uniform(0, 300) if alluvial else rng.uniform(1000, 4000))
        rows.append({"deposit_id": f"DEMO-D{i + 1:02d}", "name": f"DEMO deposit {i + 1}",
                     "deposit_type": "alluvial" if alluvial else "hard_rock", "commodity": "gold"})
        geoms.append(shapely.Polygon(_square(x, y, rng.uniform(500, 1500))))
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=4326)


MEDIA = {  # medium: (unit, lognormal mu, sigma, detection limit)
    "water": ("ug/L", 0.8, 1.2, 0.1), "sediment": ("mg/kg", -0.5, 1.0, 0.01),
    "fish": ("mg/kg", -1.0, 0.8, 0.01), "hair": ("ug/g", 0.3, 0.8, 0.05),
    "soil": ("mg/kg", -0.8, 1.0, 0.01),
}


def samples(rng: np.random.Generator, rivers: list[shapely.LineString]) -> gpd.GeoDataFrame:
    rows, geoms = [], []
    counts = {"water": 80, "sediment": 40, "fish": 20, "hair": 20, "soil": 20}
    k = 0
    for medium, n in counts.items():
        unit, mu, sigma, dl = MEDIA[medium]
        for _ in range(n):
            k += 1
            x, y = beside(rng, rivers, rng.uniform(0, 30) if medium in ("water", "sediment", "fish")
                          else rng.uniform(200, 2000))
            value = float(rng.lognormal(mu, sigma))
            below = value < dl
            rows.append({"sample_id": f"DEMO-H{k:03d}", "medium": medium,
                         "hg": f"<{dl}" if below else round(value, 3), "unit": unit,
                         "species": "methyl" if medium == "fish" else "total",
                         "sampled_on": f"{rng.choice([2023, 2024, 2025])}-{int(rng.integers(1, 13)):02d}-15",
                         "lab": "DEMO lab", "fish_predatory": bool(rng.random() < 0.4) if medium == "fish" else None,
                         "collector_name": "DEMO collector",
                         "participant_id": f"P{k:03d}" if medium == "hair" else None})
            geoms.append(shapely.Point(x, y))
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=4326)

# ---------------------------------------------------------------- the registers (issue 15)
REGISTER_SEED = 15  # a generator of its own: the layers above stay as they were before issue 15
DEMO_DATE = date(2026, 11, 26)  # the day the demo was built: one licence expires 45 days after it
COUNTRY_BOX = (-3.2, 4.9, -0.8, 7.1)  # lon/lat; covers every demo site
REGIONS = (("DEMO-N", AREAS[0], 6.45, 7.1), ("DEMO-C", AREAS[1], 6.2, 6.45), ("DEMO-S", AREAS[2], 4.9, 6.2))
DISTRICT_SPLIT = -1.9  # longitude between each region's West and East district
STEP_DEG = 0.01  # boundary vertices at most this far apart: a geodesic edge then sags < 1 mm off the lon/lat line
PROTECTED_LEGAL = ("SYNTHETIC demo zone. Bans modelled on the Kyrgyz NAP (003 L972-988): artisanal alluvial "
                   "mining is banned in specially protected natural areas")


def _box(w: float, s: float, e: float, n: float) -> shapely.Polygon:
    """A lon/lat box with a vertex every ``STEP_DEG`` along its edges."""
    return shapely.Polygon(shapely.segmentize(shapely.box(w, s, e, n), STEP_DEG).exterior)


def admin_areas() -> gpd.GeoDataFrame:
    """A country, three regions (the bands the sites' ``admin_area`` names) and two districts each."""
    w, s, e, n = COUNTRY_BOX
    rows = [{"area_code": "DEMO", "name": "DEMO Country", "level": "country", "parent_code": None}]
    geoms = [_box(w, s, e, n)]
    for code, name, south, north in REGIONS:
        rows.append({"area_code": code, "name": name, "level": "region", "parent_code": "DEMO"})
        geoms.append(_box(w, south, e, north))
        for side, (west, east) in (("W", (w, DISTRICT_SPLIT)), ("E", (DISTRICT_SPLIT, e))):
            rows.append({"area_code": f"{code}-{side}", "name": f"{name} {'West' if side == 'W' else 'East'}",
                         "level": "district", "parent_code": code})
            geoms.append(_box(west, south, east, north))
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=4326)


def _around(point: shapely.Point, half_m: float) -> shapely.Polygon:
    return shapely.Polygon(_square(point.x, point.y, half_m))


def registers(rng: np.random.Generator, rivers: list[shapely.LineString], sites: gpd.GeoDataFrame,
              villages: gpd.GeoDataFrame) -> dict[str, gpd.GeoDataFrame]:
    """Admin areas, a protected area, licences, receptors, a facility, trade records and miners."""
    active = sites[(sites["status"] == "active") & sites["uses_mercury"]].reset_index(drop=True)
    where = active.geometry.representative_point()
    zone = gpd.GeoDataFrame([{"zone_id": "DEMO-Z1", "name": "DEMO protected forest", "zone_type": "protected_area",
                              "prohibits_mining": True, "legal_source": PROTECTED_LEGAL}],
                            geometry=[_around(where[0], 3000.0)], crs=4326)
    statuses = [("valid", date(2023, 1, 1), date(2028, 12, 31)), ("valid", date(2024, 6, 1), date(2029, 5, 31)),
                ("valid", date(2022, 3, 1), DEMO_DATE + timedelta(days=45)),  # expires within 90 days
                ("expired", date(2020, 1, 1), date(2025, 6, 30)), ("suspended", date(2023, 5, 1), date(2027, 4, 30)),
                ("valid", date(2025, 1, 1), None)]
    licences = gpd.GeoDataFrame([{
        "licence_id": f"DEMO-L{i + 1}", "holder": f"DEMO holder {i + 1}",
        "holder_type": ("individual", "cooperative", "company")[i % 3],
        "licence_type": "processing" if i == 5 else "mining", "valid_from": start, "valid_to": end,
        "status": status, "authority": "DEMO mining cadastre"} for i, (status, start, end) in enumerate(statuses)],
        geometry=[_around(where[i + 1], 400.0) for i in range(len(statuses))], crs=4326)
    school = GEOD.fwd(where[1].x, where[1].y, 90.0, 300.0)[:2]  # 300 m from a mercury-using site
    intake = beside(rng, rivers, 20.0)
    receptors = gpd.GeoDataFrame([
        {"receptor_id": "DEMO-R1", "name": "DEMO primary school", "receptor_type": "school", "population": 240},
        {"receptor_id": "DEMO-R2", "name": "DEMO water intake", "receptor_type": "water_intake", "population": 3500}],
        geometry=[shapely.Point(school), shapely.Point(intake)], crs=4326)
    hub = villages.geometry.representative_point().iloc[0]
    facility = gpd.GeoDataFrame([{
        "facility_id": "DEMO-F1", "name": "DEMO centralized amalgamation facility",
        "facility_type": "centralized_amalgamation", "licence_id": "DEMO-L6", "capacity": 5.0, "storage_kg": 50.0,
        "operator": "DEMO cooperative", "status": "operating"}], geometry=[shapely.Point(hub.x, hub.y)], crs=4326)
    return {"admin_areas": admin_areas(), "zones": zone, "licences": licences, "receptors": receptors,
            "facilities": facility, "mercury_trade": trade(rng, villages), "miners": miners(rng, active)}


def trade(rng: np.random.Generator, villages: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Traders, transactions, a seizure, an entry point and the route from it (all DEMO)."""
    places = villages.geometry.representative_point().to_numpy()
    entry = shapely.Point(COUNTRY_BOX[0] + 0.05, 6.0)
    rows: list[dict[str, object]] = [
        {"record_type": "entry_point", "place": "DEMO border crossing"},
        {"record_type": "route", "place": "DEMO border crossing to DEMO village 1", "date": "2025-02-10"},
        {"record_type": "trader", "seller": "DEMO trader A", "place": "DEMO village 1 market"},
        {"record_type": "trader", "seller": "DEMO trader B", "place": "DEMO village 2 market"},
        {"record_type": "seizure", "kg": 40.0, "date": "2025-03-14", "seller": "DEMO trader B",
         "place": "DEMO road check"}]
    geoms = [entry, shapely.LineString([(entry.x, entry.y), (places[0].x, places[0].y)]), places[0], places[1],
             places[2]]
    for k in range(3):
        rows.append({"record_type": "transaction", "kg": round(float(rng.uniform(0.15, 3.0)), 2),
                     "date": f"2025-0{k + 4}-0{k + 1}", "seller": "DEMO trader A", "buyer": f"DEMO buyer {k + 1}",
                     "place": "DEMO village 1 market"})
        geoms.append(places[0])
    rows = [{"record_id": f"DEMO-M{i + 1:02d}", **row} for i, row in enumerate(rows)]
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=4326)


def miners(rng: np.random.Generator, active: gpd.GeoDataFrame, n: int = 40) -> gpd.GeoDataFrame:
    """Register entries for people at the active sites; a third have no location."""
    rows, geoms = [], []
    for i in range(n):
        k = int(rng.integers(len(active)))
        rows.append({"miner_id": f"DEMO-P{i + 1:03d}", "site_id": active["site_id"].iloc[k],
                     "certificate_no": f"DEMO-CERT-{i + 1:04d}",
                     "registered_on": f"2024-{int(rng.integers(1, 13)):02d}-{int(rng.integers(1, 28)):02d}",
                     "sex": rng.choice(["female", "male"], p=[0.3, 0.7]),
                     "age_band": rng.choice(["15_17", "18_24", "25_49", "50_plus"], p=[0.05, 0.3, 0.5, 0.15]),
                     "activity": rng.choice(["digging", "processing", "amalgamation"])})
        geoms.append(None if rng.random() < 0.33 else active.geometry.representative_point().iloc[k])
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=4326)


def build(out: Path, water_from: Path | None = None) -> None:
    """Build every layer, validate it through the same path as user imports, and store it."""
    from layers.catalogue import spec_for
    from layers.io.validate import validate

    rng = np.random.default_rng(7)
    water_gdf = water(water_from)
    rivers = [g for g, kind in zip(water_gdf.geometry, water_gdf["kind"]) if kind == "river"]
    site_gdf = sites(rng, rivers)
    layers = {
        "water_bodies": water_gdf,
        "mining_sites": site_gdf,
        "tailings": tailings(rng, rivers, list(site_gdf["site_id"])),
        "residential_areas": villages(rng, rivers),
        "deposits": deposits(rng, rivers),
        "samples": samples(rng, rivers),
    }
    layers.update(registers(np.random.default_rng(REGISTER_SEED), rivers, site_gdf, layers["residential_areas"]))
    layers["tailings"]["au_g_per_t"] = np.round(np.random.default_rng(REGISTER_SEED + 1).lognormal(
        0.0, 0.8, len(layers["tailings"])), 2)
    tmp = out.with_name(out.stem + ".building.gpkg")
    tmp.unlink(missing_ok=True)
    ws = Workspace(tmp)
    for name, gdf in layers.items():
        clean, problems = validate(gdf, spec_for(name), source=f"demo:{name}")
        errors = [p for p in problems if p.severity == "error"]
        if errors:
            sys.exit("build_demo: generated data failed validation:\n" + "\n".join(map(str, errors)))
        meta = GSHHG if name == "water_bodies" else SYNTHETIC
        ws.write_layer(name, gpd.GeoDataFrame(pd.DataFrame(clean), crs=4326), **meta)
        print(f"{name}: {len(clean)} features")
    tmp.replace(out)
    tmp.with_name(tmp.name + ".lock").unlink(missing_ok=True)
    print(f"wrote {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("data/demo_workspace.gpkg"))
    parser.add_argument("--force", action="store_true", help="rebuild even if the file exists")
    parser.add_argument("--water-from", type=Path, default=None,
                        help="read the GSHHG water layer from a workspace this script built, instead of running GMT")
    args = parser.parse_args()
    if args.out.exists() and not args.force:
        print(f"{args.out} exists; use --force to rebuild")
        return
    build(args.out, args.water_from)


if __name__ == "__main__":
    main()
