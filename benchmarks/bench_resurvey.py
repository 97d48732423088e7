"""resolve_links at national size: the whole-column version against the per-record loop it replaced
(the oracle kept in tests/test_hi2_links_whole_column.py), in the same run, on n records in 4 yearly
rounds where each record of a later round links to one of the round before.

    .venv/bin/python -m benchmarks.bench_resurvey --n 100000 1000000
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from geo.inventory.resurvey import resolve_links
from tests.test_hi2_links_whole_column import oracle_links


def _sites(n: int) -> pd.DataFrame:
    per = n // 4
    rounds = np.repeat(["2019", "2020", "2021", "2022"], per)
    ids = np.array([f"S{k}" for k in range(per * 4)], dtype=object)
    links = np.concatenate([np.full(per, None, dtype=object), ids[: per * 3]])
    return pd.DataFrame({"site_id": ids, "resurvey_of": links, "survey_round": rounds})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, nargs="+", default=[100_000, 1_000_000])
    for n in parser.parse_args().n:
        sites = _sites(n)
        for name, fn in (("loop (before)", oracle_links), ("whole-column", resolve_links)):
            start = time.perf_counter()
            fn(sites)
            print(f"n={n:>9,} {name:>14}: {time.perf_counter() - start:.2f} s", flush=True)


if __name__ == "__main__":
    main()
