"""A check a field coordinator runs (``cli.py check --no-record``, ``HgWatch.check(record=False)``) reads
the store as that role sees it (``services.auth.read_layer``): the restricted values of other areas are
never read for it (``tests.test_attack_field_reads``), and the rules still give the analyst's answer.

None of the built-in rules reads a restricted field (``layers.catalogue``: the rules read mercury use,
amalgamation, burning, status, kind, width, zone and licence fields; the restricted ones are names and
contacts of people), and geometry is never restricted, so a field coordinator's check flags the same
features at the same distances as an analyst's on the demo workspace. A layer the role may not see at all
(``mercury_trade``, wholly restricted) is not read: its rules are skipped with a warning saying why, and a
rule named with ``--only`` that needs it is refused.
"""
from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pandas as pd
import pytest

from geo.errors import InputError
from layers.store.open import open_store
from services import auth
from services.hgwatch import HgWatch
from settings import Settings

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "demo_workspace.gpkg"
FIELD = auth.Identity("kofi", "field", ("DEMO North",))
ANALYST = auth.Identity("ana", "analyst")

TRADE_RULE = '''
[[rules]]
id = "TRADE-SEIZURE"
version = 1
title = "Mercury seized"
severity = "high"
citation = "test rule on the wholly restricted mercury_trade layer"
relation = "attribute"

[rules.subject]
layer = "mercury_trade"
filter = { field = "record_type", equals = "seizure" }

[[rules.examples]]
expect = "flagged"
note = "a seizure"
subject = { wkt = "POINT (0 0)", fields = { record_type = "seizure" } }

[[rules.examples]]
expect = "clear"
note = "a trader"
subject = { wkt = "POINT (0 0)", fields = { record_type = "trader" } }
'''


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A copy of the demo workspace, and the built-in rules plus one on ``mercury_trade``."""
    where = tmp_path_factory.mktemp("demo")
    shutil.copy(DEMO, where / "ws.gpkg")
    rules = where / "rules.toml"
    rules.write_text((ROOT / "config" / "rules.toml").read_text(encoding="utf-8") + TRADE_RULE, encoding="utf-8")
    return dataclasses.replace(Settings.from_env({}, workspace=str(where / "ws.gpkg")), rules_path=rules)


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values("violation_id").reset_index(drop=True)


def test_a_field_coordinators_check_flags_what_an_analysts_flags(demo: Settings) -> None:
    field = HgWatch(demo, FIELD).check(record=False)
    analyst = HgWatch(demo, ANALYST).check(record=False)
    counts = {k: v for k, v in analyst.evaluation.counts.items() if k != "TRADE-SEIZURE"}
    assert counts["HG-WATER-100"] == 46 and counts["TAILINGS-WATER-100"] == 11 and counts["HG-BURN-RESIDENTIAL"] == 25
    assert field.evaluation.counts == counts  # the trade rule is not run for it
    assert analyst.evaluation.counts["TRADE-SEIZURE"] > 0
    got, whole_run = field.evaluation.violations, analyst.evaluation.violations
    assert list(got.columns) == list(whole_run.columns) and got["record_id"].isna().all()  # the trade rule's ids
    pd.testing.assert_frame_equal(_sorted(got.drop(columns="record_id")), _sorted(
        whole_run[whole_run["rule_id"] != "TRADE-SEIZURE"].drop(columns="record_id")))
    # the same geometries, read as the role sees them: other areas' informants are not there
    sites, whole = field.layers["mining_sites"], analyst.layers["mining_sites"]
    assert list(sites.geometry.to_wkb()) == list(whole.geometry.to_wkb())
    assert list(field.layers["water_bodies"].geometry.to_wkb()) == list(analyst.layers["water_bodies"].geometry.to_wkb())
    outside = sites["admin_area"] != "DEMO North"
    assert whole.loc[outside, "informant_name"].notna().any()
    assert sites.loc[outside, "informant_name"].isna().all()
    assert sites.loc[~outside, "informant_name"].tolist() == whole.loc[~outside, "informant_name"].tolist()
    assert "mercury_trade" not in field.layers and "mercury_trade" in analyst.layers
    assert [(w.value, w.severity, w.kind) for w in field.warnings] == [("mercury_trade", "warning", "restricted")]
    assert "role 'field' may not see it" in str(field.warnings[0])
    assert analyst.warnings == []


def test_a_rule_on_a_layer_the_role_may_not_see_is_refused_by_name(demo: Settings) -> None:
    with pytest.raises(InputError, match=r"rule TRADE-SEIZURE reads layer mercury_trade, which role 'field' may not"
                                         " see: an analyst or an admin runs them"):
        HgWatch(demo, FIELD).check(record=False, only=["TRADE-SEIZURE", "HG-WATER-100"])
    assert HgWatch(demo, ANALYST).check(record=False, only=["TRADE-SEIZURE"]).evaluation.counts["TRADE-SEIZURE"] > 0


def test_a_partners_check_reads_the_partner_view_and_flags_the_same(demo: Settings) -> None:
    partner = HgWatch(demo, auth.Identity("unep", "partner")).check(record=False, only=["HG-WATER-100"])
    analyst = HgWatch(demo, ANALYST).check(record=False, only=["HG-WATER-100"])
    assert "informant_name" not in partner.layers["mining_sites"].columns
    assert open_store(demo.workspace).columns("mining_sites").count("informant_name") == 1
    pd.testing.assert_frame_equal(_sorted(partner.evaluation.violations), _sorted(analyst.evaluation.violations))
