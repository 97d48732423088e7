"""Hypothesis fuzz across the hostile-input classes: restricted-name variants, spreadsheet
formulas, and KML that must stay well-formed (the driver-confusion fuzz, disguised VRTs under
every accepted extension, is ``test_hostile_readers.test_no_disguise_opens_another_driver``).
Each property must hold for every draw, not only for the examples the issue listed."""
from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from layers.catalogue import CATALOGUE
from layers.io.csvfile import csv_bytes
from layers.io.export import apply_profile, to_bytes
from layers.io.readers import load_layer
from tests.hostile_kit import SECRET

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

PEOPLE = ["informant", "inspector", "collector", "participant", "enumerator", "interviewer", "respondent"]
WHAT = ["name", "contact", "id", "phone", "email", "address"]


@st.composite
def person_column(draw: st.DrawFn) -> str:
    """A column name meaning a person, spelled as exports from KoBo, ODK, Excel or a Shapefile do."""
    who, what = draw(st.sampled_from(PEOPLE)), draw(st.sampled_from(WHAT))
    style = draw(st.sampled_from(["snake", "camel", "title", "upper", "dash", "dot", "truncate"]))
    name = {"snake": f"{who}_{what}", "camel": who + what.capitalize(), "title": f"{who.title()} {what.title()}",
            "upper": f"{who}_{what}".upper(), "dash": f"{who}-{what}", "dot": f"{who}.{what}",
            "truncate": f"{who}_{what}"[:10]}[style]
    prefix = draw(st.sampled_from(["", "interview/", "grp-", "group_1/", "meta-", "survey/section_b/"]))
    return prefix + name


@FUZZ
@given(column=person_column(), profile=st.sampled_from(["partner", "public"]),  # a wholly restricted layer never
       layer=st.sampled_from(sorted(n for n, s in CATALOGUE.items() if not s.restricted)))  # leaves: test_layers_new*
def test_person_columns_never_pass_a_partner_profile(column: str, layer: str, profile: str) -> None:
    frame = gpd.GeoDataFrame({column: [SECRET]}, geometry=[shapely.Point(0, 0)], crs=4326)
    kept = apply_profile(frame, CATALOGUE[layer], profile)
    assert column not in kept.columns
    assert SECRET not in kept.to_json()


FORMULA = st.tuples(st.sampled_from(["=", "+", "-", "@", "\t", "\r", "\t=", " ="]),
                    st.text(min_size=0, max_size=20)).map("".join)


@FUZZ
@given(values=st.lists(FORMULA, min_size=1, max_size=5), header=FORMULA)
def test_no_csv_cell_or_header_can_run_as_a_formula(values: list[str], header: str) -> None:
    frame = pd.DataFrame({header or "=x": values, "ok": ["plain"] * len(values)})
    text = csv_bytes(frame).decode("utf-8-sig")
    for row in csv.reader(io.StringIO(text)):
        for cell in row:
            stripped = cell.lstrip(" ")
            if stripped[:1] in ("=", "+", "-", "@", "\t", "\r"):
                try:
                    float(stripped)
                except ValueError:
                    raise AssertionError(f"armed cell {cell!r}") from None


XML_TEXT = st.text(st.characters(codec="utf-8"), max_size=30)  # any character but a lone surrogate


@FUZZ
@given(names=st.lists(XML_TEXT, min_size=1, max_size=4), column=XML_TEXT.filter(lambda s: s.strip() != ""))
def test_kml_stays_well_formed_and_reimports(tmp_path_factory: object, names: list[str], column: str) -> None:
    n = len(names)
    frame = gpd.GeoDataFrame({"site_id": [f"S{i}" for i in range(n)], "name": names, "status": ["active"] * n,
                              "extra " + column: names},
                             geometry=[shapely.Point(-1.99 + i * 1e-3, 5.3) for i in range(n)], crs=4326)
    data = to_bytes(frame, "kml", spec=CATALOGUE["mining_sites"], profile="internal")
    ET.fromstring(data)
    folder = Path(str(tmp_path_factory.mktemp("kml")))  # type: ignore[attr-defined]
    path = folder / "mining_sites.kml"
    path.write_bytes(data)
    back = load_layer(path, "mining_sites")
    printable = [re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]", "", v) for v in names]
    # GDAL reads a KML whose every <name> is empty without a name column (KML's empty defaults
    # are dropped): the names are then all empty, which is what was written.
    got = back.gdf["name"] if "name" in back.gdf else pd.Series([""] * len(back.gdf), dtype=object)
    assert sorted(str(v) if v is not None else "" for v in got.fillna("")) == sorted(
        v.strip() for v in printable) or sorted(got.fillna("")) == sorted(printable)
