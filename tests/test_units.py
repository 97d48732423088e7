"""Units, guideline classes and the guideline file: known answers and refusals."""
from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from geo.contamination import ClassSettings, Guideline, check_unit, classify, classify_samples, convert, convert_samples
from geo.errors import ConfigError, InputError
from settings.guidelines import load_guidelines

TARGETS = {"water": "ug/L", "air": "ug/m^3", "fish": "mg/kg", "hair": "ug/g",
           "sediment": "mg/kg", "soil": "mg/kg"}
SETTINGS = ClassSettings(near_fraction=0.5, several_times=5.0)


@pytest.mark.parametrize(("value", "src", "dst", "expected"), [
    (0.006, "mg/L", "ug/L", 6.0),
    (6.0, "µg/L", "ng/L", 6000.0),
    (1.0, "ppm", "mg/kg", 1.0),
    (250.0, "ng/g", "mg/kg", 0.25),
    (1.0, "ppb", "ug/kg", 1.0),
    (1.0, "ug/m3", "ng/m^3", 1000.0),
    (2.0, "mg kg-1", "ug/g", 2.0),
])
def test_convert_known_answers(value: float, src: str, dst: str, expected: float) -> None:
    assert convert(value, src, dst) == expected


@pytest.mark.parametrize(("medium", "unit"), [
    ("soil", "ug/L"), ("water", "mg/kg"), ("water", "ppb"), ("air", "ug/g"),
    ("fish", "m/km"), ("hair", "furlong"), ("water", ""), ("water", None), ("lava", "ug/L"),
])
def test_mismatched_or_unknown_units_are_refused(medium: str, unit: str | None) -> None:
    assert check_unit(medium, unit) is not None


def test_convert_refuses_different_kinds() -> None:
    with pytest.raises(ValueError):
        convert(1.0, "ug/L", "mg/kg")


def test_convert_samples_names_every_bad_row() -> None:
    frame = pd.DataFrame({
        "sample_id": ["a", "b", "c", "d"], "medium": ["water", "soil", "fish", "water"],
        "hg": [0.5, 3.0, 0.2, 1.0], "unit": ["ug/L", "ug/L", "mg/kg", "bogus"],
    })
    with pytest.raises(InputError) as err:
        convert_samples(frame, TARGETS, source="samples.csv")
    problems = err.value.problems
    assert [(p.row, p.field, p.value, p.feature_id) for p in problems] == [
        (2, "unit", "ug/L", "b"), (4, "unit", "bogus", "d")]
    assert all(p.file == "samples.csv" for p in problems)
    assert "mass per mass" in problems[0].expected
    assert "Traceback" not in str(err.value)


def test_convert_samples_converts_to_the_guideline_unit() -> None:
    frame = pd.DataFrame({"sample_id": ["a", "b"], "medium": ["water", "fish"],
                          "hg": [0.006, 300.0], "unit": ["mg/L", "ug/kg"], "_row": [7, 9]})
    out = convert_samples(frame, TARGETS, source="s.csv")
    assert out["hg_value"].tolist() == [6.0, 0.3]
    assert out["hg_unit"].tolist() == ["ug/L", "mg/kg"]


@pytest.mark.parametrize(("value", "bd", "expected"), [
    (2.9, False, "below"), (3.0, False, "near"), (6.0, False, "near"), (6.01, False, "above"),
    (29.9, False, "above"), (30.0, False, "several_times_above"),
    (0.1, True, "below"), (3.0, True, "below"), (4.0, True, "near"), (6.0, True, "near"),
    (10.0, True, "inconclusive"),
])
def test_classify_against_six_ug_per_litre(value: float, bd: bool, expected: str) -> None:
    assert classify(value, below_detection=bd, level=6.0, settings=SETTINGS) == expected


def test_no_guideline_is_never_below() -> None:
    assert classify(0.001, below_detection=False, level=None, settings=SETTINGS) == "no_guideline"


def test_below_detection_keeps_its_limit_not_zero() -> None:
    water = Guideline("water", 6.0, "ug/L", "inorganic", "guideline", "WHO GDWQ")
    fish = Guideline("fish", 0.5, "mg/kg", "methyl", "standard", "Codex", predatory_value=1.0)
    frame = pd.DataFrame({
        "sample_id": ["w1", "f1", "f2"], "medium": ["water", "fish", "fish"],
        "hg_value": [0.1, 0.8, 0.8], "hg_unit": ["ug/L", "mg/kg", "mg/kg"],
        "below_detection": pd.array([True, False, False], dtype="boolean"),
        "fish_predatory": pd.array([pd.NA, False, True], dtype="boolean"),
        "species": ["inorganic", "total", "methyl"],
    })
    out = classify_samples(frame, {"water": water, "fish": fish}, SETTINGS)
    assert out["hg_text"].tolist() == ["<0.1 ug/L", "0.8 mg/kg", "0.8 mg/kg"]
    assert out["hg_value"].iloc[0] == 0.1
    # non-predatory fish: 0.8 > 0.5 is above; predatory: 0.8 <= 1.0 is near
    assert out["hg_class"].tolist() == ["below", "above", "near"]
    assert out["guideline"].tolist() == [6.0, 0.5, 1.0]
    assert "conservative" in out["basis"].iloc[1]
    assert math.isclose(out["ratio"].iloc[1], 1.6)


def test_shipped_guideline_file() -> None:
    guidelines, settings = load_guidelines()
    assert guidelines["water"].value == 6.0 and guidelines["water"].unit == "ug/L"
    assert (guidelines["fish"].value, guidelines["fish"].predatory_value) == (0.5, 1.0)
    assert guidelines["air"].value == 1.0 and guidelines["hair"].value == 1.0
    assert guidelines["sediment"].value is None and guidelines["sediment"].kind == "setting"
    assert all(g.citation for g in guidelines.values() if g.value is not None)
    assert settings == SETTINGS


@pytest.mark.parametrize("text", [
    '[medium.soil]\nvalue = 1.0\nunit = "ug/L"\ncitation = "x"\n',
    '[medium.water]\nvalue = 6.0\nunit = "ug/L"\n',
    '[medium.water]\nvalue = 6.0\nunit = "ug/L"\ncitation = "x"\ncolour = "red"\n',
    '[medium.lava]\nunit = "mg/kg"\n',
    '[classes]\nnear_fraction = 2.0\n',
])
def test_bad_guideline_files_are_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "g.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=str(path)):
        load_guidelines(path)


@given(st.text(max_size=12), st.sampled_from(sorted(TARGETS)))
def test_any_unit_text_is_accepted_or_explained(text: str, medium: str) -> None:
    why = check_unit(medium, text)
    assert why is None or medium in why


@given(st.floats(min_value=1e-6, max_value=1e6))
def test_round_trip_conversion(value: float) -> None:
    back = convert(convert(value, "mg/kg", "ng/g"), "ng/g", "mg/kg")
    assert math.isclose(back, value, rel_tol=1e-11)


@given(st.lists(st.tuples(st.sampled_from(["water", "soil", "fish", "hair", "air", "lava", ""]),
                          st.floats(min_value=0, max_value=1e6),
                          st.one_of(st.none(), st.text(max_size=8),
                                    st.sampled_from(["ug/L", "mg/kg", "ug/g", "ug/m3"]))),
                max_size=6))
def test_convert_samples_never_crashes(rows: list[tuple[str, float, str | None]]) -> None:
    frame = pd.DataFrame({"sample_id": [f"s{i}" for i in range(len(rows))],
                          "medium": [r[0] for r in rows], "hg": [r[1] for r in rows],
                          "unit": [r[2] for r in rows]})
    try:
        out = convert_samples(frame, TARGETS, source="g.csv")
    except InputError as err:
        assert err.problems and all(p.file == "g.csv" and p.row for p in err.problems)
    else:
        assert len(out) == len(rows) and out["hg_value"].notna().all()
