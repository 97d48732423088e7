"""A GeoPackage left in WAL mode with its ``-wal`` beside it (see ``tests/test_wal_geopackages.py``)
is copied ONCE per import, validation or chunked read (``layers.io.containers.shared_copies``): the
table check, the layer listings and every layer's read share the copy, which is deleted at the end;
the result is the same as before, the edits in the ``-wal`` included. Copies are counted by wrapping
the real copy function (it still copies), and the temporary folders are watched.
"""
from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from geo.errors import InputError
from layers.io import containers
from layers.io.chunked import count_records, read_chunks
from layers.io.readers import load_layer
from services import imports
from tests.api_kit import SECRET, planted
from tests.test_wal_geopackages import VERIFIED, program, sites  # noqa: F401 - the fixture

DELETED = "DELETE FROM tailings WHERE rowid = (SELECT min(rowid) FROM tailings)"


class Copies:
    """How many times the GeoPackage and its -wal were copied, and the temporary folders left."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, tmp: Path) -> None:
        self.made: list[Path] = []
        self.tmp = tmp
        real = containers._copy_with_wal

        def counted(path: Path, copy: Path) -> Path:
            self.made.append(copy)
            return real(path, copy)

        monkeypatch.setattr(containers, "_copy_with_wal", counted)
        monkeypatch.setattr(tempfile, "tempdir", str(tmp))

    def left(self) -> list[str]:
        return sorted(p.name for p in self.tmp.iterdir() if p.name.startswith("hgwatch-"))


@pytest.fixture
def in_wal(sites: Path) -> Iterator[Path]:  # noqa: F811 - the imported fixture
    """``sites`` (mining sites and tailings) with an edit and a deletion saved in its -wal (a QGIS that died)."""
    with program(sites, VERIFIED, DELETED) as other:
        other.kill()
    assert containers.pending_wal(sites) is not None
    yield sites


@pytest.fixture
def one_layer(tmp_path: Path) -> Iterator[Path]:
    """A GeoPackage of mining sites alone (what a chunked check reads) with an edit saved in its -wal."""
    path = tmp_path / "officer" / "mining_sites.gpkg"
    path.parent.mkdir()
    frame = planted()["mining_sites"]
    frame.drop(columns=[c for c in frame.columns if SECRET in str(frame[c].iloc[0])]).to_file(path, driver="GPKG")
    with program(path, VERIFIED) as other:
        other.kill()
    yield path


@pytest.fixture
def copies(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Copies:
    (tmp_path / "tmp").mkdir()
    return Copies(monkeypatch, tmp_path / "tmp")


def _names(frame: Any) -> dict[str, str]:
    return dict(zip(frame["site_id"], frame["name"]))


def test_an_import_of_every_layer_copies_the_file_once(in_wal: Path, copies: Copies) -> None:
    assert imports.chunk_rows(in_wal, None) == 0  # what `cli.py import` asks first
    loaded = imports.load_file(in_wal)
    assert len(copies.made) == 1
    assert copies.left() == []  # deleted at the end
    by_layer = {item.layer: item.gdf for item in loaded}
    assert sorted(by_layer) == ["mining_sites", "tailings"]
    assert _names(by_layer["mining_sites"])["S1"] == "Alpha (verified)"  # the -wal's edits
    whole = {layer: load_layer(in_wal, layer).gdf for layer in by_layer}  # a read of its own: the same rows
    for layer, frame in by_layer.items():
        assert frame.equals(whole[layer]), layer
    assert len(by_layer["tailings"]) == len(whole["tailings"])


def test_an_import_of_one_layer_and_a_validation_copy_it_once_each(in_wal: Path, copies: Copies) -> None:
    (item,) = imports.load_file(in_wal, "mining_sites")
    assert len(copies.made) == 1 and _names(item.gdf)["S1"] == "Alpha (verified)"
    lines, problems = imports.validate_file(in_wal)
    assert len(copies.made) == 2 and copies.left() == []
    assert [line.split(": ")[1] for line in lines] == [f"{len(item.gdf)} mining_sites features are valid",
                                                       lines[1].split(": ")[1]]
    assert not [p for p in problems if p.severity == "error"]


def test_a_chunked_read_copies_once_for_the_count_and_once_for_the_pages(one_layer: Path, copies: Copies) -> None:
    total = count_records(one_layer)
    assert total == 3
    assert len(copies.made) == 1 and copies.left() == []
    chunks = list(read_chunks(one_layer, 1))
    assert len(copies.made) == 2 and copies.left() == []
    assert len(chunks) == total
    assert any(_names(gdf).get("S1") == "Alpha (verified)" for gdf, _ in chunks)


def test_a_chunked_read_left_early_deletes_its_copy(one_layer: Path, copies: Copies) -> None:
    pages = read_chunks(one_layer, 1)
    next(pages)
    assert len(copies.made) == 1 and len(copies.left()) == 1
    assert containers.shared_copy(one_layer) is None  # the reader's copy is its own: not seen between its pages
    pages.close()
    assert copies.left() == []


def test_another_thread_never_reads_an_import_s_copy(in_wal: Path, copies: Copies) -> None:
    seen: list[Path | None] = []
    with containers.shared_copies():
        with containers.with_wal(in_wal, "upload.gpkg") as mine:
            assert mine != in_wal
        worker = threading.Thread(target=lambda: seen.append(containers.shared_copy(in_wal)))
        worker.start()
        worker.join()
        assert containers.shared_copy(in_wal) == mine and mine.exists()
    assert seen == [None]
    assert not mine.exists() and copies.left() == []


def test_a_file_that_keeps_changing_is_still_refused_after_five_tries(
        in_wal: Path, copies: Copies, monkeypatch: pytest.MonkeyPatch) -> None:
    real = containers._states
    calls = iter(range(10 ** 6))

    def saving(*paths: Path) -> Any:  # every look at the files sees them changed: a program saving all along
        found = real(*paths)
        return tuple((ino, size, mtime + next(calls)) for ino, size, mtime in found)

    monkeypatch.setattr(containers, "_states", saving)
    beside = sorted(os.listdir(in_wal.parent))
    with pytest.raises(InputError) as refused:
        imports.load_file(in_wal)
    assert "a program kept saving into it and its sites.gpkg-wal while HgWatch copied them (5 tries)" in str(refused.value)
    assert len(copies.made) == 1  # one copy, taken five times
    assert copies.left() == [] and sorted(os.listdir(in_wal.parent)) == beside


def test_a_check_of_a_file_copies_it_once(in_wal: Path, copies: Copies) -> None:
    from services.checks import _from_files

    frames, _, _, _ = _from_files([("mining_sites", in_wal)], {}, False)
    assert len(copies.made) == 1 and copies.left() == []
    assert _names(frames["mining_sites"])["S1"] == "Alpha (verified)"  # the -wal's edits
