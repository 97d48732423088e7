"""The shape of the house. Imports run one way, top to bottom:

    faces (app.py, ui/, cli.py, commands/) -> services/ -> render/ -> settings/ -> layers/ -> geo/

and geo/ is pure: no I/O, no UI, no file opened.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

FLOORS = {"geo": 0, "layers": 1, "settings": 2, "render": 3, "services": 4, "ui": 5, "app": 5, "cli": 5, "commands": 5,
          "api": 5}
PACKAGES = ("geo", "layers", "settings", "render", "services", "ui", "commands", "api")
GEO_FORBIDDEN = {"streamlit", "folium", "streamlit_folium", "pyogrio", "fiona", "sqlite3", "tomllib",
                 "reportlab", "rasterio", "os", "filelock"}
BELOW_UI_FORBIDDEN = {"streamlit", "streamlit_folium"}


def _modules() -> list[Path]:
    found = [p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))]
    return found + [ROOT / "app.py", ROOT / "cli.py"]


def _imports(path: Path) -> set[str]:
    """Dotted names of every absolute import in ``path``, wherever it stands in the file."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _floor(path: Path) -> str:
    rel = path.relative_to(ROOT)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _id(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("path", _modules(), ids=_id)
def test_imports_run_one_way(path: Path) -> None:
    own = FLOORS[_floor(path)]
    upward = sorted(m for m in _imports(path) if m.split(".")[0] in FLOORS and FLOORS[m.split(".")[0]] > own)
    assert not upward, f"{_id(path)} imports from a floor above it: {upward}"


@pytest.mark.parametrize("path", sorted((ROOT / "geo").rglob("*.py")), ids=_id)
def test_geo_is_pure(path: Path) -> None:
    tops = {m.split(".")[0] for m in _imports(path)}
    assert not (tops & GEO_FORBIDDEN), f"{_id(path)} imports {sorted(tops & GEO_FORBIDDEN)}"
    tree = ast.parse(path.read_text())
    calls = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    attrs = {n.func.attr for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)}
    assert "open" not in calls
    assert not ({"read_file", "read_dataframe", "to_file", "read_text", "write_text", "read_bytes",
                 "write_bytes"} & attrs)


@pytest.mark.parametrize("path", [p for p in _modules() if FLOORS[_floor(p)] < 5], ids=_id)
def test_only_the_faces_import_streamlit(path: Path) -> None:
    tops = {m.split(".")[0] for m in _imports(path)}
    assert not (tops & BELOW_UI_FORBIDDEN), f"{_id(path)} imports {sorted(tops & BELOW_UI_FORBIDDEN)}"


def test_the_floors_catch_an_upward_import(tmp_path: Path) -> None:
    """The check itself can fail: a geo module importing a service is caught."""
    bad = tmp_path / "bad.py"
    bad.write_text("from services.view import Filters\nimport numpy\n")
    assert {m for m in _imports(bad) if FLOORS.get(m.split(".")[0], -1) > FLOORS["geo"]} == {"services.view"}


@pytest.mark.parametrize("package", ["geo/distance", "geo/rules", "geo/inventory", "geo/exposure",
                                     "geo/contamination"])
def test_geo_subpackages_name_their_public_names(package: str) -> None:
    """Each geo sub-package's ``__init__`` declares its few public names in ``__all__``."""
    tree = ast.parse((ROOT / package / "__init__.py").read_text())
    names = [t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)]
    assert "__all__" in names


def test_no_legacy_pages_folder() -> None:
    """Streamlit runs a ``pages/`` folder beside app.py on its own, without the shared sidebar."""
    assert not (ROOT / "pages").exists()
