"""Issue 13: the command line starts without the heavy modules only some commands need.

``cli.py check`` paid ~0.9 s of start-up for folium (the map), networkx (people downstream),
rasterio and scipy (surfaces) and openpyxl (workbooks) before reading a single row. They now load
where they are used; these tests import in a fresh interpreter and list what got loaded, and check
that the lazily loaded names still resolve to the same objects.
"""
from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("folium", "networkx", "rasterio", "openpyxl", "scipy.spatial", "geo.contamination.surface",
         "services.tiles", "services.people", "services.contamination", "reportlab")


def _loaded_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", f"{code}\nimport json, sys; print(json.dumps(sorted(sys.modules)))"],
                         cwd=ROOT, capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout.splitlines()[-1]))


def test_the_command_line_loads_no_map_surface_network_or_workbook_module() -> None:
    loaded = _loaded_after("import cli; cli.build_parser()")
    assert "services.hgwatch" in loaded and "services.checks" in loaded  # the check path itself is there
    assert sorted(m for m in HEAVY if m in loaded) == []


def test_no_password_is_hashed_at_start_up() -> None:
    """The unknown-name dummy hash (argon2, ~0.15 s and 64 MB) is made on the first sign-in, not on import."""
    code = "import cli, services.auth as a; print(a._dummy_hash.cache_info().currsize)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["0"]


def test_the_lazy_names_are_the_same_objects() -> None:
    import geo.contamination as gc
    from geo.contamination import guidelines, surface, units

    for name in gc.__all__:
        home = next(m for m in (guidelines, surface, units) if hasattr(m, name))
        assert getattr(gc, name) is getattr(home, name), name
    assert not hasattr(gc, "no_such_name")


def test_an_xlsx_read_error_is_still_caught_after_the_lazy_openpyxl(tmp_path: Path) -> None:
    import pytest

    from geo.errors import InputError
    from layers.io import tables

    bad = tmp_path / "sites.xlsx"
    with zipfile.ZipFile(bad, "w") as z:  # a zip, but not a workbook: openpyxl raises its own error
        z.writestr("hello.txt", "no workbook here")
    with pytest.raises(InputError, match="sites.xlsx: cannot read the file as an Excel workbook"):
        tables.read_xlsx(bad, None)
    garbled = tmp_path / "garbled.xlsx"  # not a zip at all: a BadZipFile from the zip reader
    garbled.write_bytes(b"PK\x03\x04 this is not a workbook")
    with pytest.raises(InputError, match="garbled.xlsx: cannot read the file as an Excel workbook"):
        tables.read_xlsx(garbled, None)
    assert "get_column_letter" not in dir(tables)  # the letters load only for a duplicate header
    problems = tables.duplicate_headers("f.csv", ["a", "b", "a"])
    assert [p.expected for p in problems] == [
        "duplicate column header: 2 columns (A, C) are named 'a'; rename all but one so that no value is lost"]
