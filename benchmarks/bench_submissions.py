"""Benchmark: reading field submissions (``layers.io.submissions.read_submissions``), no store.

Writes, in a temporary folder, N submissions in ODK Central's CSV layout, the same N in an ODK
ZIP where every tenth row names a 16 x 16 JPEG in ``media/``, and in KoBoToolbox's XLSX layout
(``tests/field_exports.py``: the servers' exact columns), then times one read of each and prints
seconds and rows per second. A benchmark, not a test: it prints, never asserts.

Usage: ``python benchmarks/bench_submissions.py [--n 10000]``
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from layers.io.submissions import read_submissions  # noqa: E402
from tests import field_exports as fx  # noqa: E402


def _rows(n: int) -> list[dict[str, object]]:
    return [{"key": f"uuid:{i:08d}", "violation_id": f"HG-WATER-100/{i:016x}", "outcome": "false_positive",
             "reason": "an old dry pit", "lat": -5.5 + i * 1e-6, "lon": -1.25, "alt": 310.0, "accuracy": 4.5,
             "visited_at": "2024-05-01T10:15:00.000+02:00", "photo": f"{i}.jpg" if i % 10 == 0 else None,
             "notes": "owner met", "submitter": "kofi"} for i in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=10_000)
    n = parser.parse_args().n
    rows = _rows(n)
    photo = fx.jpeg(-5.5, -1.25)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = {
            "ODK Central CSV": fx.odk_csv(folder / "odk.csv", rows),
            "ODK Central ZIP (a photo every 10th row)": fx.odk_zip(
                folder / "odk.zip", rows, {f"{i}.jpg": photo for i in range(0, n, 10)}),
            "KoBoToolbox XLSX": fx.kobo_xlsx(folder / "kobo.xlsx", rows),
        }
        print(f"{n:,} submissions")
        for label, path in files.items():
            started = time.perf_counter()
            subs, problems = read_submissions(path)
            seconds = time.perf_counter() - started
            errors = sum(p.severity == "error" for p in problems)
            print(f"{label:<42} {path.stat().st_size / 2**20:7.2f} MiB  {seconds:7.2f} s  "
                  f"{len(subs) / seconds:10,.0f} rows/s  ({len(subs):,} read, {errors} errors)")


if __name__ == "__main__":
    main()
