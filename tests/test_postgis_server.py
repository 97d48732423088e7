"""The test server itself: without PostgreSQL and PostGIS installed, the PostGIS tests fail and
name the package to install; they are never skipped."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT
from tests.postgis import PACKAGE


def test_without_the_server_binaries_the_postgis_tests_fail_naming_the_package(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "tests/test_postgis.py::test_a_database_at_another_revision_is_refused"],
        cwd=ROOT, env={**os.environ, "HGWATCH_PG_BIN": str(tmp_path / "no-server")},
        capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stdout
    assert "1 error" in done.stdout and "skipped" not in done.stdout
    assert (f"PostgreSQL server binaries not found in {tmp_path / 'no-server'}; install Debian's {PACKAGE}"
            f" (`make test-deps` does: apt-get install {PACKAGE})") in done.stdout
