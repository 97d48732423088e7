"""Shared kit for the hostile-input tests: run the command line in-process, plant secrets,
hash files, and make small valid layers."""
from __future__ import annotations

import contextlib
import hashlib
import io
import shutil
from pathlib import Path

import geopandas as gpd
import shapely

import cli

ROOT = Path(cli.__file__).resolve().parent
DEMO = ROOT / "data" / "demo_workspace.gpkg"
SECRET = "PLANTED-SECRET-7Q3Z"


def run(*argv: str) -> tuple[int, str, str]:
    """``cli.main(argv)`` with its exit code, stdout and stderr; a traceback fails the test."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main(list(argv))
        except SystemExit as exc:  # argparse refuses a bad flag value with exit 2
            code = int(exc.code or 0)
    text = err.getvalue()
    assert "Traceback" not in text and "Traceback" not in out.getvalue(), text
    return code, out.getvalue(), text


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else "absent"


def tree_digest(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` with its hash: proves that nothing else was written."""
    return {str(p.relative_to(folder)): digest(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def demo_copy(tmp_path: Path) -> Path:
    target = tmp_path / "ws" / "workspace.gpkg"
    target.parent.mkdir()
    shutil.copyfile(DEMO, target)
    return target


def sites(n: int = 3, **columns: list[object]) -> gpd.GeoDataFrame:
    """``n`` valid active mining sites near Tarkwa (Ghana) with any extra columns."""
    data: dict[str, list[object]] = {
        "site_id": [f"S{i}" for i in range(1, n + 1)],
        "name": [f"Site {i}" for i in range(1, n + 1)],
        "status": ["active"] * n,
        "uses_mercury": [True] * n,
        "amalgamation": ["concentrate"] * n,
    }
    data.update(columns)
    return gpd.GeoDataFrame(data, geometry=[shapely.Point(-1.99 + i * 0.001, 5.30) for i in range(n)],
                            crs=4326)
