"""The shape of the house: imports run app/cli -> layers -> geo, and geo/ opens no files."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

GEO_FORBIDDEN = {"streamlit", "folium", "streamlit_folium", "layers", "app", "cli", "pyogrio",
                 "fiona", "sqlite3", "tomllib", "reportlab"}
LAYERS_FORBIDDEN = {"streamlit", "streamlit_folium", "app", "cli"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", sorted((ROOT / "geo").glob("*.py")), ids=lambda p: p.name)
def test_geo_is_pure(path: Path) -> None:
    assert not (_imports(path) & GEO_FORBIDDEN)
    tree = ast.parse(path.read_text())
    calls = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    attrs = {n.func.attr for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)}
    assert "open" not in calls
    assert not ({"read_file", "read_dataframe", "to_file", "read_text", "write_text"} & attrs)


@pytest.mark.parametrize("path", sorted((ROOT / "layers").glob("*.py")), ids=lambda p: p.name)
def test_layers_do_not_import_the_ui(path: Path) -> None:
    assert not (_imports(path) & LAYERS_FORBIDDEN)
