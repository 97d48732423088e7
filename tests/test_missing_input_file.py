"""A file that is not there is named as such, first: ``import`` and ``validate`` of a missing file said
"cannot tell the layer type from the file name" (without ``--layer``), which sent the user to the wrong
fix, and ``validate --layer`` printed the path twice ("/x/a.csv: /x/a.csv: no such file")."""
from __future__ import annotations

from pathlib import Path

import pytest

import cli
from tests.conftest import ROOT


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A copy of the demo workspace."""
    path = tmp_path / "ws.gpkg"
    path.write_bytes((ROOT / "data" / "demo_workspace.gpkg").read_bytes())
    return path


@pytest.mark.parametrize("command, code", [("import", 2), ("validate", 1)])
@pytest.mark.parametrize("layer", [[], ["--layer", "mining_sites"]])
def test_a_missing_file_is_named_once_as_missing(command: str, code: int, layer: list[str], workspace: Path,
                                                  tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "survey_2026.csv"  # no layer type in its name
    before = workspace.read_bytes()
    assert cli.main(["--workspace", str(workspace), command, str(missing), *layer]) == code
    err = capsys.readouterr()
    said = err.err + err.out
    assert "no such file" in said and "cannot tell the layer type" not in said, said
    assert all(line.count(str(missing)) <= 1 for line in said.splitlines()) and "Traceback" not in said, said
    assert workspace.read_bytes() == before


def test_a_folder_is_not_a_file(workspace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    assert cli.main(["--workspace", str(workspace), "validate", str(folder)]) == 1
    said = capsys.readouterr().out
    assert "is a folder" in said and "cannot tell the layer type" not in said, said


def test_a_missing_file_in_chunks_is_named_as_missing(workspace: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "national_2026.parquet"
    assert cli.main(["--workspace", str(workspace), "import", str(missing), "--chunk-rows", "5"]) == 2
    said = capsys.readouterr().err
    assert "no such file" in said and "cannot tell the layer type" not in said, said
