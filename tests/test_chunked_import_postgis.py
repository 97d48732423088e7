"""``cli.py import`` in chunks into a PostGIS workspace (issue 13, bounded memory): a GeoParquet
imported N records at a time stores exactly what a whole-file import stores there (same rows, values,
geometry bytes, column layout and provenance), prints the same problems, refuses what a whole import
refuses with the same messages, and leaves the database as it was when any chunk holds an error.
Real PostgreSQL + PostGIS (``tests/postgis.py``); nothing mocked."""
from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
import sqlalchemy as sa
from geopandas.testing import assert_geodataframe_equal

import cli
from layers.store.postgis import PostgisStore
from services import imports
from tests.test_chunked_import import _clean, _problems, _small

ROWS = [1, 4, 100]


def _dump(url: str) -> dict[str, object]:
    """What the database holds for the sites: every column of every row in row order except the
    row number ``fid`` (a new import numbers on), the geometry as EWKB, and the layer's provenance and
    column layout without the import time."""
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as con:
            every = list(con.execute(sa.text("SELECT * FROM mining_sites LIMIT 0")).keys())
            names = [c for c in every if c not in ("fid", "geom")]
            listed = ", ".join(f'"{c}"' for c in names)
            rows = con.execute(sa.text(f"SELECT {listed}, ST_AsEWKB(geom) FROM mining_sites ORDER BY fid")).all()
            layer = con.execute(sa.text('SELECT layer, source, licence, "rows", columns, accuracy_m, accuracy_note,'
                                        " synthetic FROM hgw_layers ORDER BY layer")).all()
    finally:
        engine.dispose()
    return {"rows": [tuple(bytes(v) if isinstance(v, memoryview) else v for v in row) for row in rows],
            "layers": [tuple(r) for r in layer]}


def _import(url: str, file: Path, *extra: str) -> int:
    return cli.main(["--database-url", url, "import", str(file), "--layer", "mining_sites", *extra])


@pytest.fixture
def url(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.delenv("HGWATCH_DATABASE_URL", raising=False)
    return pg_url


@pytest.mark.parametrize("rows", ROWS)
def test_a_chunked_import_into_postgis_stores_what_a_whole_import_stores(
        tmp_path: Path, url: str, rows: int, capsys: pytest.CaptureFixture[str]) -> None:
    file = _clean(tmp_path / "sites.parquet")
    assert _import(url, file, "--chunk-rows", "0") == 0
    whole_err = capsys.readouterr().err
    whole, whole_frame = _dump(url), PostgisStore(url).read("mining_sites")
    assert _import(url, file, "--chunk-rows", str(rows)) == 0  # the same 11 rows again: no --replace-all needed
    chunked_err = capsys.readouterr().err
    assert f"reading {file} {rows} records at a time" in chunked_err and "stored 11 features" in chunked_err
    assert _dump(url) == whole
    assert len(whole["rows"]) == 11 and whole["layers"][0][3] == 11  # type: ignore[index, arg-type]
    assert_geodataframe_equal(PostgisStore(url).read("mining_sites"), whole_frame)
    assert _problems(chunked_err) == _problems(whole_err)


@pytest.mark.parametrize("rows", ROWS)
def test_an_error_in_any_chunk_leaves_postgis_as_it_was_and_says_what_a_whole_import_says(
        tmp_path: Path, url: str, rows: int, capsys: pytest.CaptureFixture[str]) -> None:
    assert _import(url, _clean(tmp_path / "old.parquet", first=100), "--chunk-rows", "0") == 0
    before = _dump(url)
    file = tmp_path / "sites.parquet"
    gdf = gpd.read_parquet(_clean(file))
    gdf.loc[9, "site_id"] = "S0"  # a duplicate of the first chunk's id, in the last chunks
    gdf.loc[10, "miners"] = "-4"
    gdf.to_parquet(file)
    capsys.readouterr()
    assert _import(url, file, "--chunk-rows", "0") != 0
    whole = capsys.readouterr().err
    assert _import(url, file, "--chunk-rows", str(rows), "--replace-all") != 0
    chunked = capsys.readouterr().err
    assert _problems(chunked) == _problems(whole) and len(_problems(whole)) == 3
    assert "duplicate id: already used by record 1" in chunked and "Traceback" not in chunked
    assert _dump(url) == before  # the rows copied before the error were rolled back


@pytest.mark.parametrize("rows", [1, 4])
def test_a_chunked_append_into_postgis_and_its_refusals_equal_the_whole_ones(
        tmp_path: Path, url: str, rows: int, capsys: pytest.CaptureFixture[str]) -> None:
    first, more = _clean(tmp_path / "first.parquet"), _clean(tmp_path / "more.parquet", first=50)
    mixed = tmp_path / "mixed.parquet"  # two ids stored already, in different chunks, and new ones
    gdf = gpd.read_parquet(_clean(tmp_path / "mixed_base.parquet", first=200))
    gdf.loc[0, "site_id"], gdf.loc[10, "site_id"] = "S52", "S3"
    gdf.to_parquet(mixed)
    dumps, errors = [], []
    for size in ("0", str(rows)):
        assert _import(url, first, "--chunk-rows", size, "--replace-all") == 0
        assert _import(url, more, "--append", "--chunk-rows", size) == 0
        capsys.readouterr()
        state = _dump(url)
        assert _import(url, first, "--append", "--chunk-rows", size) != 0  # every id is stored already
        assert _import(url, mixed, "--append", "--chunk-rows", size) != 0
        assert _import(url, _small(tmp_path), "--chunk-rows", size) != 0  # 2 rows would replace 22
        errors.append(_problems(capsys.readouterr().err))
        assert _dump(url) == state  # each refusal changed nothing
        dumps.append(state)
    assert dumps[1] == dumps[0] and len(dumps[0]["rows"]) == 22  # type: ignore[arg-type]
    assert errors[1] == errors[0]
    text = "\n".join(errors[0])
    assert "cannot append to mining_sites: 11 ids are already stored; nothing was imported" in text
    assert "cannot append to mining_sites: 2 ids are already stored" in text and "--replace-all" in text


def test_a_large_geoparquet_goes_into_postgis_in_chunks_by_itself(tmp_path: Path, url: str,
                                                                  monkeypatch: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    file = _clean(tmp_path / "sites.parquet")
    monkeypatch.setattr(imports, "AUTO_CHUNK_ABOVE", 5)
    monkeypatch.setattr(imports, "CHUNK_ROWS", 3)
    assert _import(url, file) == 0
    err = capsys.readouterr().err
    assert f"reading {file} 3 records at a time" in err and "stored 11 features" in err
    assert len(PostgisStore(url).read("mining_sites")) == 11


def test_chunks_a_whole_write_could_store_differently_are_refused_and_change_nothing(tmp_path: Path, url: str) -> None:
    assert _import(url, _clean(tmp_path / "old.parquet", first=100), "--chunk-rows", "0") == 0
    before = _dump(url)
    store = PostgisStore(url)
    site = gpd.read_parquet(_clean(tmp_path / "sites.parquet")).drop(columns=["hgw_export"])
    as_text = site.iloc[5:].assign(count_extra=site["count_extra"].iloc[5:].astype(str))  # float in the first chunk
    with pytest.raises(Exception, match=r"mining_sites: the columns of a chunk .* differ from the first chunk's"):
        store.write_layer_chunks("mining_sites", iter([site.iloc[:5], as_text]), source="s.parquet",
                                 replace_all=True)
    with pytest.raises(Exception, match="mining_sites: the file holds no records to store"):
        store.write_layer_chunks("mining_sites", iter([]), source="s.parquet", replace_all=True)
    with pytest.raises(Exception, match="must be in EPSG:4326 before it is stored"):
        store.write_layer_chunks("mining_sites", iter([site.iloc[:5], site.iloc[5:].to_crs(32630)]),
                                 source="s.parquet", replace_all=True)
    assert _dump(url) == before
