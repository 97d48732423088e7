"""``benchmarks/bench_map.py --trace`` times the benchmark page's own script run (issue 13: where the
cold start's seconds go). The timed page (``TIMED_APP``) runs ``bench_app.py`` unchanged, its imports
first, and writes the imports, every ``Workspace.read``, ``build_map`` and the end of the run to
``$BENCH_RUNTIMES``; the page it draws is the page's own."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from benchmarks.bench_map import bench_app
from layers.store.workspace import DEFAULT_PATH, Workspace


def test_timed_page_runs_the_page_and_writes_its_steps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    workspace = tmp_path / "demo.gpkg"
    shutil.copyfile(DEFAULT_PATH, workspace)
    (tmp_path / "page").mkdir()
    script = bench_app(tmp_path / "page")
    runtimes = tmp_path / "runtimes.txt"
    monkeypatch.setenv("BENCH_WORKSPACE", str(workspace))
    monkeypatch.setenv("BENCH_VARIANT", "hgwatch")
    monkeypatch.setenv("BENCH_RUNTIMES", str(runtimes))
    monkeypatch.setattr(Workspace, "read", Workspace.read)  # the timed page wraps it: put back afterwards
    timed = AppTest.from_file(str(script.with_name("bench_app_timed.py")), default_timeout=120).run()
    plain = AppTest.from_file(str(script), default_timeout=120).run()
    assert not timed.exception and not plain.exception
    assert [r.value for r in timed.radio] == [r.value for r in plain.radio] == ["all"]  # the page's own widget
    steps = [line.split(" ", 2) for line in runtimes.read_text(encoding="utf-8").splitlines()]
    names = [s[2] for s in steps]
    assert names[0] == "script run: imports of the page" and names[-1] == "script run: ends"
    assert names.count("script run: Workspace.read") == len(Workspace(workspace).layers())  # every layer, once
    st.cache_resource.clear()  # the page's frames are read again
    again = AppTest.from_file(str(script.with_name("bench_app_timed.py")), default_timeout=120).run()
    assert not again.exception  # a second run in the same process times each read once, not twice
    later = runtimes.read_text(encoding="utf-8").splitlines()[len(steps):]
    assert sum(line.endswith("script run: Workspace.read") for line in later) == len(Workspace(workspace).layers())
    assert names.count("script run: build_map (archives looked up or built)") == 1
    assert all(float(begin) <= float(end) for begin, end, _ in steps)


def test_servers_read_compiled_modules_whatever_the_shell_says(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``bench_map.warm_bytecode`` compiles the page's modules into the benchmark's own cache, which
    every measured server reads (``bytecode_env``), also when the shell forbids writing compiled
    modules and names a cache of its own (a helper's shell: every server compiled pandas, folium and
    the map modules from source on its first script run)."""
    import benchmarks.bench_map as bench

    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    monkeypatch.setenv("PYTHONPYCACHEPREFIX", str(tmp_path / "shell"))
    monkeypatch.setattr(bench, "PYCACHE", tmp_path / "bench")
    env = bench.bytecode_env()
    assert env == {"PYTHONPYCACHEPREFIX": str(tmp_path / "bench"), "PYTHONDONTWRITEBYTECODE": ""}
    bench.warm_bytecode()
    import pandas

    import render.map.mapview
    for module in (render.map.mapview, pandas):
        source = Path(str(module.__file__)).resolve()
        # a cache folder mirrors the source's absolute folder: <cache>/<folder>/<stem>.<tag>.pyc
        want = tmp_path / "bench" / source.parent.relative_to("/") / f"{source.stem}.{sys.implementation.cache_tag}.pyc"
        assert want.is_file(), f"{source} not compiled into the benchmark's cache"
    assert not (tmp_path / "shell").exists()  # nothing went to the shell's cache
