"""People downstream of the sites in view: the headline figure and one site's detail.

Wiring over ``services.exposure.downstream`` (which traces the reach over ``geo.exposure.network`` and
``geo.exposure.reach``). The sources are the mercury-using sites and tailings that pass the sidebar
filters; settlements are counted wherever they lie, also outside a filtered admin area, since
a river carries mercury across boundaries. Reach length, settlement distance and entry distance
come from the exposure settings (config/exposure.toml). Drinking-water intakes (``receptors`` of
type ``water_intake``) on a source's reach are listed with its people (``intakes_downstream``), by
the same test as settlements. No Streamlit here.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import geopandas as gpd
import pandas as pd

from geo.exposure import RECEPTOR_COLUMNS, receptors_downstream
from geo.words import counted
from services.exposure import Downstream, downstream
from settings.exposure import ExposureSettings

DETAIL_COLUMNS = ["name", "area_id", "population", "along_river_m", "distance_to_river_m"]
SOURCE_LAYERS = {"mining_sites": "mining_site", "tailings": "tailings"}
INTAKE = "water_intake"  # the receptor_type of a drinking-water intake (layers.catalogue.RECEPTOR_TYPES)
INTAKE_COLUMNS = ["receptor_id", "name", "population", "along_river_m", "distance_to_river_m"]


@dataclass(frozen=True)
class PeopleFigure:
    """People downstream of the sources in view.

    ``people`` sums the known populations of ``settlements`` distinct residential areas
    (``unknown_population`` of them have none recorded and add 0); ``sources`` is the number of
    sources traced (within ``entry_m`` metres of a river line). Distances in metres.
    """

    people: int
    settlements: int
    unknown_population: int
    sources: int
    reach_m: float
    buffer_m: float
    entry_m: float
    rivers: bool

    def help(self) -> str:
        """What the figure counts and the assumptions it rests on, in one paragraph."""
        if not self.rivers:
            return "No river lines in the workspace, so nothing can be traced downstream."
        unknown = (" Of them, those with no population recorded add 0: "
                   f"{counted(self.unknown_population, 'area')}." if self.unknown_population else "")
        return (f"Known population of the {counted(self.settlements, 'residential area')} within "
                f"{self.buffer_m / 1000:g} km of the river for {self.reach_m / 1000:g} km "
                f"downstream of the {counted(self.sources, 'mercury source')} in view (mercury-using sites and tailings) "
                f"that lie within {self.entry_m:g} m of a river line; each area counted once, "
                f"wherever it lies; areas upstream are never counted.{unknown} The reach "
                "and the buffer are assumptions of this product (config/exposure.toml), "
                "not law.")


@dataclass(frozen=True)
class SourcePeople:
    """People downstream of one source: ``traced`` is False when it is not a mercury source
    within the entry distance of a river; ``settlements`` has ``DETAIL_COLUMNS`` and ``intakes``
    (the drinking-water intakes on its reach) ``INTAKE_COLUMNS`` (metres)."""

    source_id: str
    traced: bool
    people: int
    settlements: pd.DataFrame
    intakes: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=INTAKE_COLUMNS))


def trace_view(frames: Mapping[str, gpd.GeoDataFrame], settings: ExposureSettings, *,
               areas: gpd.GeoDataFrame | None = None, reach_m: float | None = None,
               buffer_m: float | None = None) -> Downstream | None:
    """The downstream reach of the sources in ``frames`` (the filtered view).

    ``areas`` replaces the view's residential areas when given (pass the whole workspace's
    layer so that settlements outside a filtered admin area still count). ``reach_m`` and
    ``buffer_m`` (metres) replace the settings' reach length and settlement distance. None
    without rivers.
    """
    layers = dict(frames)
    if areas is not None:
        layers["residential_areas"] = areas
    return downstream(layers, settings, reach_m=reach_m, buffer_m=buffer_m)


def people_figure(down: Downstream | None, settings: ExposureSettings, *,
                  reach_m: float | None = None, buffer_m: float | None = None) -> PeopleFigure:
    """The headline figure of ``down`` (None: no river lines), each settlement counted once;
    ``reach_m`` / ``buffer_m`` are the distances it was traced with when not the settings'."""
    cfg = settings.downstream
    people, settlements = down.people_total() if down is not None else (0, 0)
    unknown = 0
    if down is not None and not down.people.empty:
        unique = down.people.drop_duplicates("area_id")
        unknown = int(pd.to_numeric(unique["population"], errors="coerce").isna().sum())
    return PeopleFigure(people, settlements, unknown, len(down.reaches) if down else 0,
                        float(reach_m or cfg["reach_m"]),
                        float(buffer_m or cfg["settlement_buffer_m"]),
                        float(cfg["entry_distance_m"]), down is not None)


def headline_people(frames: Mapping[str, gpd.GeoDataFrame], settings: ExposureSettings, *,
                    areas: gpd.GeoDataFrame | None = None) -> PeopleFigure:
    """``people_figure(trace_view(frames, settings, areas=areas), settings)``."""
    return people_figure(trace_view(frames, settings, areas=areas), settings)


def intakes_downstream(down: Downstream | None, receptors: gpd.GeoDataFrame | None,
                       settings: ExposureSettings, *, buffer_m: float | None = None) -> pd.DataFrame:
    """The drinking-water intakes on the reaches of ``down``: within ``buffer_m`` metres (default the
    settings' settlement distance) of a source's reach, nearest river point on it; one row per
    (source, intake), ``geo.exposure.reach.RECEPTOR_COLUMNS``."""
    intakes = None if receptors is None or "receptor_type" not in receptors else \
        receptors[receptors["receptor_type"] == INTAKE]
    if down is None or intakes is None or intakes.empty:
        return pd.DataFrame(columns=RECEPTOR_COLUMNS)
    return receptors_downstream(down.network, down.reaches, intakes,
                                buffer_m=float(buffer_m or settings.downstream["settlement_buffer_m"]))


def source_people(down: Downstream | None, source_id: str, *, intakes: pd.DataFrame | None = None) -> SourcePeople:
    """The settlements downstream of source ``source_id`` (a site_id or tailings_id), nearest
    along the river first, with the intakes of ``intakes`` (``intakes_downstream``) on its reach."""
    traced = down is not None and any(r.source_id == source_id for r in down.reaches)
    mine = pd.DataFrame(columns=INTAKE_COLUMNS)
    if traced and intakes is not None and not intakes.empty:
        mine = intakes[intakes["source_id"] == source_id][INTAKE_COLUMNS].sort_values("along_river_m")
        mine = mine.reset_index(drop=True)
    if not traced or down is None or down.people.empty:
        return SourcePeople(source_id, traced, 0, pd.DataFrame(columns=DETAIL_COLUMNS), mine)
    rows = down.people[down.people["source_id"] == source_id]
    table = rows[DETAIL_COLUMNS].sort_values("along_river_m").reset_index(drop=True)
    return SourcePeople(source_id, True, int(down.people_by_source().get(source_id, 0)), table, mine)


def violation_source(record: Mapping[str, object]) -> str | None:
    """The source id a violation is about: its subject when that is a site or a tailings."""
    layer, subject = record.get("subject_layer"), record.get("subject_id")
    if layer in SOURCE_LAYERS and subject is not None and not pd.isna(subject):
        return str(subject)
    return None


def detail_lines(found: SourcePeople, figure: PeopleFigure) -> list[str]:
    """Plain-text lines for a site's detail: the number, then each settlement with its
    distance along the river and from the river (km / m)."""
    if not figure.rivers:
        return ["People downstream: no river lines in the workspace."]
    if not found.traced:
        return [f"People downstream: not traced ({found.source_id} is not a mercury-using "
                f"site or tailings within {figure.entry_m:g} m of a river line)."]
    head = (f"People downstream: {found.people:,} in {counted(len(found.settlements), 'settlement')} "
            f"within {figure.buffer_m / 1000:g} km of the river, "
            f"{figure.reach_m / 1000:g} km downstream (assumptions, config/exposure.toml)")
    lines = [head]
    for row in found.settlements.itertuples(index=False):
        pop = "population unknown" if pd.isna(row.population) else counted(int(row.population), "person")
        lines.append(f"  {_labelled(row.name, row.area_id)}: {pop}, {row.along_river_m / 1000:.2f} km "
                     f"along the river, {row.distance_to_river_m:,.0f} m from it")
    if len(found.intakes):
        lines.append(f"Drinking-water intakes downstream: {len(found.intakes)}")
    for row in found.intakes.itertuples(index=False):
        served = "" if pd.isna(row.population) else f", serving {counted(int(row.population), 'person')}"
        lines.append(f"  water intake {_labelled(row.name, row.receptor_id)}{served}: {row.along_river_m / 1000:.2f} km "
                     f"along the river, {row.distance_to_river_m:,.0f} m from it")
    return lines


def _labelled(name: object, key: object) -> str:
    """"Name (id)", or the id alone for a place with no name (an OSM place printed "None (osm_places-1847)")."""
    text = "" if name is None or pd.isna(name) else str(name).strip()
    return f"{text} ({key})" if text else str(key)
