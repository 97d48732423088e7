"""An output path HgWatch cannot write to is refused before anything runs, naming the flag and the path.

``os.access`` says yes to root for any folder, /proc and read-only mounts included, and CI and the Docker
image run as root: `check --out /proc/v.csv` ran the rules, recorded the run and then failed naming a
temporary file (`/proc/.v-bfiygsz2.csv: No such file or directory`); `dossier --out` and `fieldpack --out`
named that temporary file or no flag (found by HF). The output check now makes and drops a file in the
folder. And `submissions import` of a folder said "no such file"."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import cli
from layers.io.safefile import atomic_path
from layers.store.open import open_store
from layers.store.workspace import DEFAULT_PATH

UNWRITABLE = Path("/proc")  # no new file can be made there, by root either (Linux)
pytestmark = [pytest.mark.skipif(not UNWRITABLE.is_dir(), reason="needs Linux's /proc"),
              pytest.mark.skipif(not DEFAULT_PATH.exists(), reason="demo workspace missing (make install builds it)")]


@pytest.fixture
def ws(tmp_path: Path) -> str:
    path = tmp_path / "ws.gpkg"
    shutil.copyfile(DEFAULT_PATH, path)
    return str(path)


@pytest.mark.parametrize("argv", [["check", "--out", "/proc/v.csv"], ["report", "--out", "/proc/r.pdf"],
                                  ["export", "mining_sites", "--out", "/proc/s.geojson"],
                                  ["fieldpack", "--area", "DEMO North", "--out", "/proc/pack"]])
def test_an_unwritable_output_is_refused_first(ws: str, argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    runs = len(open_store(ws).runs(10))
    assert cli.main(["--workspace", ws, *argv]) == 2
    err = capsys.readouterr().err
    out = argv[argv.index("--out") + 1]
    assert f"--out {out}: the folder /proc cannot be written to" in err and "/proc/." not in err
    assert len(open_store(ws).runs(10)) == runs  # nothing recorded


def test_a_dossier_to_an_unwritable_folder_names_the_flag(ws: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--workspace", ws, "check"]) == 0
    capsys.readouterr()
    assert cli.main(["--workspace", ws, "cases", "list", "--format", "csv"]) == 0
    case = capsys.readouterr().out.splitlines()[1].split(",")[0]
    assert cli.main(["--workspace", ws, "dossier", case, "--out", "/proc/x.pdf"]) == 2
    err = capsys.readouterr().err
    assert "--out /proc/x.pdf: the folder /proc cannot be written to" in err and "/proc/." not in err


def test_an_atomic_write_names_the_file_asked_for() -> None:
    with pytest.raises(Exception, match=r"^/proc/y\.csv: cannot be written"), atomic_path(Path("/proc/y.csv")) as tmp:
        tmp.write_text("x")


def test_a_folder_given_as_an_export_of_submissions(ws: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--workspace", ws, "submissions", "import", str(tmp_path)]) == 2
    assert f"{tmp_path}: is a folder; expected an ODK Central CSV or ZIP" in capsys.readouterr().err
