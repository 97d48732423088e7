"""River network and downstream reach on a hand-made network with known answers.

The main river runs along the equator, where a degree of longitude is exactly
6378137 * pi / 180 metres on the WGS84 ellipsoid, so distances along it are known exactly.
"""
from __future__ import annotations

import math

import geopandas as gpd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod
from shapely.geometry import LineString, Point

from geo.exposure import build_network, downstream_reach, find_entry, mercury_sources, people_downstream, trace_downstream

DEG = 6378137.0 * math.pi / 180.0  # metres per degree of longitude on the equator
GEOD = Geod(ellps="WGS84")


def water(rows: list[tuple[str, LineString, str | None]]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"water_id": [r[0] for r in rows], "name": [r[0] for r in rows],
                             "flow": [r[2] for r in rows]},
                            geometry=[r[1] for r in rows], crs=4326)


def network_rows(m2_flow: str | None = "reverse") -> list[tuple[str, LineString, str | None]]:
    m2 = LineString([(0.3, 0.0), (0.1, 0.0)])  # drawn against the flow
    return [
        ("M1", LineString([(0.0, 0.0), (0.1, 0.0)]), None),
        ("M2", m2, m2_flow),
        ("T", LineString([(0.1, 0.05), (0.1, 0.0)]), "forward"),      # confluence at an end point
        ("T2", LineString([(0.15, -0.05), (0.15, 0.0)]), None),        # joins M2 mid-line
        ("B", LineString([(0.2, 0.0), (0.22, 0.01), (0.24, 0.0)]), None),  # braid: a loop
        ("D", LineString([(0.05, 0.2), (0.1, 0.2)]), None),            # disconnected
        ("LAKE", Point(0.5, 0.5).buffer(0.01), None),                  # polygons are skipped
    ]


AREAS = gpd.GeoDataFrame({
    "area_id": ["up", "down", "trib", "beyond", "braid", "far", "disc"],
    "name": ["Upstream", "Downstream", "On T2", "Beyond reach", "On braid", "Far", "Disconnected"],
    "population": [100, 200, 300, 400, 500, 600, 700],
}, geometry=[Point(0.045, 0.003), Point(0.12, -0.005), Point(0.1535, -0.006),
             Point(0.232, -0.003), Point(0.22, 0.012), Point(0.12, 0.05), Point(0.07, 0.201)],
    crs=4326)
SITE = Point(0.05, 0.0005)


def test_graph_joins_confluences_and_splits_at_tributaries() -> None:
    net = build_network(water(network_rows()), snap_tolerance_m=25.0)
    g = net.graph
    # M1, M2 (split at 0.15, 0.2 and 0.24 -> 4 pieces), T, T2, B, D
    assert g.number_of_edges() == 9  # M1 + 4 pieces of M2 + T + T2 + B + D
    assert any("polygon" in n for n in net.notes)
    pieces = {tuple(round(c, 6) for c in a["geometry"].coords[0]): (u, v)
              for u, v, a in g.edges(data=True)}
    # every M2 piece runs west to east after the reversal
    m2 = [a for _, _, a in g.edges(data=True) if a["water_id"] == "M2"]
    assert all(a["geometry"].coords[0][0] < a["geometry"].coords[-1][0] for a in m2)
    assert sum(a["length_m"] for a in m2) == pytest.approx(0.2 * DEG, abs=0.01)
    # confluence at (0.1, 0): M1 and T flow in, the first M2 piece flows out
    node = pieces[(0.1, 0.0)][0]
    assert g.in_degree(node) == 2 and g.out_degree(node) == 1
    # the disconnected line is its own component
    assert len(list(__import__("networkx").weakly_connected_components(g))) == 2


def test_entry_point_distance_and_offset() -> None:
    net = build_network(water(network_rows()))
    entry = find_entry(net, SITE, max_distance_m=100.0)
    assert entry is not None and net.edge(entry.edge)["water_id"] == "M1"
    assert entry.offset_m == pytest.approx(0.05 * DEG, abs=0.01)
    assert entry.distance_m == pytest.approx(GEOD.inv(0.05, 0.0, 0.05, 0.0005)[2], abs=0.01)
    assert find_entry(net, SITE, max_distance_m=50.0) is None


def test_reach_follows_flow_through_confluence_and_both_braid_branches() -> None:
    net = build_network(water(network_rows()))
    entry = find_entry(net, SITE, max_distance_m=100.0)
    reach = downstream_reach(net, entry, reach_m=20_000.0, source_id="S")
    ids = {net.edge(p.edge)["water_id"] for p in reach.pieces}
    assert ids == {"M1", "M2", "B"}  # never T, T2 (upstream) or D (disconnected)
    main_end = max(p.geometry.coords[-1][0] for p in reach.pieces
                   if net.edge(p.edge)["water_id"] == "M2")
    assert main_end * DEG == pytest.approx(0.05 * DEG + 20_000.0, abs=0.01)
    assert all(p.along_m + p.length_m <= 20_000.0 + 1e-6 for p in reach.pieces)


def test_people_downstream_never_upstream_never_beyond() -> None:
    net = build_network(water(network_rows()))
    entry = find_entry(net, SITE, max_distance_m=100.0)
    reach = downstream_reach(net, entry, reach_m=20_000.0, source_id="S")
    people = people_downstream(net, reach, AREAS, buffer_m=1000.0)
    assert people["area_id"].tolist() == ["down", "braid"]
    down = people.iloc[0]
    assert down["along_river_m"] == pytest.approx(0.07 * DEG, abs=0.01)
    assert down["distance_to_river_m"] == pytest.approx(GEOD.inv(0.12, 0, 0.12, -0.005)[2], abs=0.01)
    assert down["population"] == 200
    braid = people.iloc[1]
    expected = 0.15 * DEG + GEOD.inv(0.2, 0.0, 0.22, 0.01)[2]
    assert braid["along_river_m"] == pytest.approx(expected, abs=0.05)


def test_reversed_line_matters() -> None:
    # without flow=reverse, M2 flows west into the confluence: nothing is downstream of it
    net = build_network(water(network_rows(m2_flow=None)))
    entry = find_entry(net, SITE, max_distance_m=100.0)
    reach = downstream_reach(net, entry, reach_m=20_000.0)
    assert {net.edge(p.edge)["water_id"] for p in reach.pieces} == {"M1"}
    assert people_downstream(net, reach, AREAS, buffer_m=1000.0).empty


def test_directed_cycle_terminates_and_covers_each_edge_once() -> None:
    rows = [("A", LineString([(0, 0), (0.01, 0)]), None),
            ("B", LineString([(0.01, 0), (0.005, 0.01)]), None),
            ("C", LineString([(0.005, 0.01), (0, 0)]), None)]
    net = build_network(water(rows))
    entry = find_entry(net, Point(0.005, 0.0001), max_distance_m=100.0)
    reach = downstream_reach(net, entry, reach_m=1_000_000.0)
    assert sorted(net.edge(p.edge)["water_id"] for p in reach.pieces) == ["A", "A", "B", "C"]
    total = sum(p.length_m for p in reach.pieces)
    assert total == pytest.approx(sum(a["length_m"] for *_, a in net.graph.edges(data=True)),
                                  abs=0.01)


@pytest.mark.parametrize(("tolerance", "joined"), [(25.0, True), (5.0, False)])
def test_end_points_join_within_tolerance(tolerance: float, joined: bool) -> None:
    gap = 0.0001  # 11.13 m on the equator
    rows = [("A", LineString([(0, 0), (0.01, 0)]), None),
            ("B", LineString([(0.01 + gap, 0), (0.02, 0)]), None)]
    net = build_network(water(rows), snap_tolerance_m=tolerance)
    assert (net.graph.number_of_nodes() == 3) is joined
    entry = find_entry(net, Point(0.005, 0.0), max_distance_m=10.0)
    reach = downstream_reach(net, entry, reach_m=5000.0)
    assert ({net.edge(p.edge)["water_id"] for p in reach.pieces} == {"A", "B"}) is joined


def test_trace_only_mercury_sources_near_a_river() -> None:
    sites = gpd.GeoDataFrame({
        "site_id": ["hg", "clean", "far"], "name": ["a", "b", "c"],
        "uses_mercury": [True, False, True], "amalgamation": ["none", "none", "whole_ore"],
    }, geometry=[SITE, Point(0.06, 0.0005), Point(0.05, 0.1)], crs=4326)
    sources = mercury_sources(sites, None)
    assert sources["source_id"].tolist() == ["hg", "far"]
    net = build_network(water(network_rows()))
    reaches, people = trace_downstream(net, sources, AREAS, entry_distance_m=100.0,
                                       reach_m=20_000.0, buffer_m=1000.0)
    assert [r.source_id for r in reaches] == ["hg"]
    assert people["area_id"].tolist() == ["down", "braid"]
    assert set(people["source_id"]) == {"hg"}


def test_sources_follow_the_one_definition_of_mercury_use() -> None:
    # geo.sites: burning amalgam (open or in a retort) or amalgamating is using mercury, whatever
    # uses_mercury says; "none" with no burning is not; unknown practice is not recorded
    sites = gpd.GeoDataFrame({
        "site_id": ["retort", "says-no-amalgamates", "none", "unrecorded"],
        "uses_mercury": [None, False, False, None],
        "amalgamation": [None, "concentrate", "none", "unknown"],
        "burning": ["retort", None, "none", None],
    }, geometry=[Point(0.0, 0.0)] * 4, crs=4326)
    assert mercury_sources(sites, None)["source_id"].tolist() == ["retort", "says-no-amalgamates"]


def test_entry_uses_the_bank_of_a_wide_river_as_the_rules_do() -> None:
    from services.exposure import downstream
    from settings.exposure import load_exposure

    rows = water(network_rows())
    sites = gpd.GeoDataFrame({"site_id": ["s"], "name": ["s"], "uses_mercury": [True]},
                             geometry=[Point(0.05, 150 / 110574.0)], crs=4326)  # ~150 m north
    frames = {"water_bodies": rows, "mining_sites": sites, "residential_areas": AREAS}
    assert not downstream(frames, load_exposure()).reaches  # 150 m > 100 m from a centre line
    frames["water_bodies"] = rows.assign(width_m=[120.0] + [None] * (len(rows) - 1))
    down = downstream(frames, load_exposure())  # 150 - 60 = 90 m from the bank of M1
    assert [r.source_id for r in down.reaches] == ["s"]
    assert down.people["area_id"].tolist() == ["down", "braid"]
    assert down.people_total() == (700, 2)


@settings(max_examples=10, deadline=None)
@given(st.permutations(range(7)), st.permutations(range(7)))
def test_people_downstream_do_not_depend_on_input_order(w_order: list[int],
                                                        a_order: list[int]) -> None:
    net = build_network(water([network_rows()[i] for i in w_order]))
    entry = find_entry(net, SITE, max_distance_m=100.0)
    reach = downstream_reach(net, entry, reach_m=20_000.0)
    people = people_downstream(net, reach, AREAS.iloc[list(a_order)], buffer_m=1000.0)
    assert people["area_id"].tolist() == ["down", "braid"]
    assert people["along_river_m"].iloc[0] == pytest.approx(0.07 * DEG, abs=0.01)
