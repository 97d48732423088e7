"""A chunked ``check`` does per chunk only the work a whole-file check does once per record (HC, 2026-11-28).

Found by profiling ``cli.py check`` of 2e6 GeoParquet sites against 1e5 water segments, chunks of 250,000
against the file read whole (``/tmp/hc``, the profile in the commit): each chunk of points was decoded
record by record from WKB (``shapely.from_wkb``, a Python ``bytes`` per record) where a whole read makes
them from their coordinates; its bounds were computed twice (the CRS tally and the validation);
the cyclic garbage collector, paused while a whole file is read, walked every geometry alive
(the water, the chunks' violations) again and again while the chunks were made; and the subject
ids were hashed again per chunk by the rules, although the chunked read finds a missing or
repeated id over the whole file. The result is the whole-file check's, as before (tested here too).
"""
from __future__ import annotations

import gc
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo.errors import Problem
from services import chunked_check
from services.checks import check
from settings import Settings
from tests.shapely_calls import counting
from tests.test_check_chunked import _others

RULE = "HG-WATER-100"
ROWS = 1_237  # a chunk's size, which no other array of the check has


def _points_file(folder: Path, n: int) -> str:
    rng = np.random.default_rng(7)
    lon, lat = rng.uniform(-0.35, 0.45, n), rng.uniform(-0.012, 0.012, n)
    sites = gpd.GeoDataFrame({"site_id": [f"S{i}" for i in range(n)], "uses_mercury": True},
                             geometry=shapely.points(lon, lat), crs="EPSG:4326")
    sites.to_parquet(folder / "sites.parquet")
    return str(folder / "sites.parquet")


def test_chunks_of_points_are_made_from_their_coordinates_with_their_facts_known(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = [("mining_sites", _points_file(tmp_path, 4 * ROWS)), *_others(tmp_path)]
    settings = Settings(workspace=tmp_path / "none.gpkg", threads_value="1")
    whole = check(settings, only=[RULE], files=files, record=False, chunk_rows=0)
    calls = counting(monkeypatch, ["from_wkb", "bounds", "get_type_id"], ROWS)
    chunked = check(settings, only=[RULE], files=files, record=False, chunk_rows=ROWS)
    assert calls["from_wkb"] == 0  # before: one per chunk
    assert calls["bounds"] == 0  # before: two per chunk (the CRS tally, the validation)
    assert calls["get_type_id"] == 0
    pd.testing.assert_frame_equal(chunked.evaluation.violations, whole.evaluation.violations, check_exact=True)
    assert chunked.evaluation.summaries == whole.evaluation.summaries
    assert 0 < chunked.evaluation.summaries[0].violations < 4 * ROWS


def test_the_collector_walks_no_older_generation_while_the_chunks_are_checked(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = [("mining_sites", _points_file(tmp_path, 20 * ROWS)), *_others(tmp_path)]
    settings = Settings(workspace=tmp_path / "none.gpkg", threads_value="1")
    whole = check(settings, only=[RULE], files=files, record=False, chunk_rows=0)
    generations: list[int] = []
    real = chunked_check.run_chunked

    def watched(*args: object, **kwargs: object) -> object:
        def note(phase: str, info: dict[str, int]) -> None:
            if phase == "start":
                generations.append(info["generation"])
        gc.callbacks.append(note)
        try:
            return real(*args, **kwargs)  # type: ignore[arg-type]
        finally:
            gc.callbacks.remove(note)
    monkeypatch.setattr(chunked_check, "run_chunked", watched)
    was = gc.isenabled()
    gc.enable()
    try:
        chunked = check(settings, only=[RULE], files=files, record=False, chunk_rows=ROWS)
    finally:
        if not was:
            gc.disable()
    assert generations, "the young objects of each chunk are collected"
    assert max(generations) == 0, generations  # before: passes over the middle and the old generations too
    assert len(generations) <= 20 + 1  # one young pass a chunk, no more
    pd.testing.assert_frame_equal(chunked.evaluation.violations, whole.evaluation.violations, check_exact=True)
    assert chunked.evaluation.summaries == whole.evaluation.summaries


def test_the_rules_do_not_hash_the_ids_of_a_chunk_again_yet_a_repeated_id_is_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from geo.rules import evaluate

    files = [("mining_sites", _points_file(tmp_path, 4 * ROWS)), *_others(tmp_path)]
    settings = Settings(workspace=tmp_path / "none.gpkg", threads_value="1")
    hashed: list[str] = []
    real = evaluate._id_problems

    def counted(frame: pd.DataFrame, layer: str, id_field: str) -> list[object]:
        hashed.append(layer)
        return real(frame, layer, id_field)  # type: ignore[return-value]
    monkeypatch.setattr(evaluate, "_id_problems", counted)
    chunked = check(settings, only=[RULE], files=files, record=False, chunk_rows=ROWS)
    assert "mining_sites" not in hashed  # before: once per chunk
    assert chunked.evaluation.summaries[0].checked == 4 * ROWS
    sites = gpd.read_parquet(files[0][1])
    sites.loc[3 * ROWS + 5, "site_id"] = "S7"  # in the last chunk, the id of a row of the first
    sites.to_parquet(files[0][1])
    from geo.errors import InputError

    with pytest.raises(InputError) as refused:
        check(settings, only=[RULE], files=files, record=False, chunk_rows=ROWS)
    assert any(p.kind == "duplicate" and p.row == 3 * ROWS + 6 for p in refused.value.problems)


def test_with_two_threads_the_rules_run_on_a_worker_and_give_the_whole_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    from geo.rules import evaluate

    files = [("mining_sites", _points_file(tmp_path, 20 * ROWS)), *_others(tmp_path)]
    settings = Settings(workspace=tmp_path / "none.gpkg", threads_value="2")
    whole = check(settings, only=[RULE], files=files, record=False, chunk_rows=0)
    where: list[str] = []
    real = chunked_check.run_rules

    def noted(*args: object, **kwargs: object) -> evaluate.Evaluation:
        where.append(threading.current_thread().name)
        return real(*args, **kwargs)  # type: ignore[arg-type]
    monkeypatch.setattr(chunked_check, "run_rules", noted)
    chunked = check(settings, only=[RULE], files=files, record=False, chunk_rows=ROWS)
    assert len(where) == 20 and all(name.startswith("chunk-rules") for name in where), where  # before: MainThread
    assert not [t for t in threading.enumerate() if t.name.startswith("chunk-rules")]  # joined: cli.py may end at once
    pd.testing.assert_frame_equal(chunked.evaluation.violations, whole.evaluation.violations, check_exact=True)
    assert chunked.evaluation.summaries == whole.evaluation.summaries
    assert chunked.warnings == whole.warnings


def test_with_a_worker_an_error_in_the_last_chunk_refuses_the_file_and_a_missing_layer_comes_after_it(
        tmp_path: Path) -> None:
    from geo.errors import InputError

    path = _points_file(tmp_path, 6 * ROWS)
    water = _others(tmp_path)[:1]
    settings = Settings(workspace=tmp_path / "none.gpkg", threads_value="2")
    sites = gpd.read_parquet(path)
    sites.loc[6 * ROWS - 2, "geometry"] = shapely.Point(200.0, 0.0)  # out of range, in the last chunk
    sites.to_parquet(path)
    outcomes = []
    for rows in (0, ROWS):
        with pytest.raises(InputError) as refused:
            check(settings, only=[RULE], files=[("mining_sites", path), *water], record=False, chunk_rows=rows)
        outcomes.append(refused.value)
    whole, chunked = outcomes
    assert str(chunked) == str(whole) and chunked.problems == whole.problems
    assert [p.row for p in chunked.problems if p.severity == "error"] == [6 * ROWS - 1]
    sites.loc[6 * ROWS - 2, "geometry"] = shapely.Point(0.0, 0.0)
    sites.to_parquet(path)
    with pytest.raises(InputError) as missing:  # the rule needs the protected areas: refused once the file is read
        check(settings, only=["SITE-IN-PROHIBITED-ZONE"], files=[("mining_sites", path), *water], record=False,
              chunk_rows=ROWS)
    assert [(p.file, p.kind) for p in missing.value.problems] == [("layer zones", "missing")]


def test_the_ids_of_a_chunk_become_arrow_text_without_a_python_string_each_and_repeats_are_found(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from geo.errors import InputError

    path = _points_file(tmp_path, 4 * ROWS)
    files = [("mining_sites", path), *_others(tmp_path)]
    settings = Settings(workspace=tmp_path / "none.gpkg", threads_value="1")
    made: list[int] = []
    real = pd.arrays.ArrowStringArray.to_numpy

    def counted(self: pd.arrays.ArrowStringArray, *args: object, **kwargs: object) -> np.ndarray:
        made.append(len(self))
        return real(self, *args, **kwargs)
    monkeypatch.setattr(pd.arrays.ArrowStringArray, "to_numpy", counted)
    check(settings, only=[RULE], files=files, record=False, chunk_rows=ROWS)
    assert ROWS not in made  # before: the parsed ids and the ids as written, each chunk
    sites = gpd.read_parquet(path)
    sites.loc[[ROWS + 3, 3 * ROWS + 9], "site_id"] = ["S2", "S2"]  # a first chunk's id, again in two later chunks
    sites.to_parquet(path)
    refusals = []
    for rows in (0, ROWS):
        with pytest.raises(InputError) as refused:
            check(settings, only=[RULE], files=files, record=False, chunk_rows=rows)
        refusals.append(refused.value.problems)
    assert refusals[1] == refusals[0]
    assert [(p.row, p.feature_id, p.expected) for p in refusals[1]] == [
        (ROWS + 4, "S2", "duplicate id: already used by record 3"),
        (3 * ROWS + 10, "S2", "duplicate id: already used by record 3")]


def test_each_chunk_s_ids_are_hashed_as_it_is_validated_not_all_at_the_end(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from layers.catalogue import spec_for
    from layers.io.chunked import read_chunks, validated_chunks

    path = Path(_points_file(tmp_path, 3 * ROWS))
    hashed: list[int] = []
    real = pd.util.hash_array

    def counted(values: np.ndarray, *args: object, **kwargs: object) -> np.ndarray:
        hashed.append(len(values))
        return real(values, *args, **kwargs)
    monkeypatch.setattr(pd.util, "hash_array", counted)
    problems: list[Problem] = []
    seen = []
    for part in validated_chunks(read_chunks(path, ROWS), spec_for("mining_sites"), source=path.name,
                                 problems=problems):
        seen.append(list(hashed))
        assert len(part) == ROWS
    assert seen == [[ROWS], [ROWS, ROWS], [ROWS, ROWS, ROWS]]  # before: none until the last chunk was read
    assert problems == []
