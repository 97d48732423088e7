"""The tiles command: build the vector tiles of the dashboard's first map ahead of the first visitor."""
from __future__ import annotations

import argparse

from commands.common import service


def cmd_tiles(args: argparse.Namespace) -> int:
    """Build (or find on disk) the PMTiles archives of the unfiltered map with every rule."""
    from services.hgwatch import HgWatch
    from services.tiles import prebuild  # the map modules load with this command only (issue 13)

    base = service(args)
    done = prebuild(HgWatch(base.settings, args.identity))
    for name, features in done.layers:
        print(f"vector tiles: {name}: {features:,} features")
    if done.reason:
        print(f"no vector tiles built: {done.reason}")
    else:
        print(f"tiles of the first map ready in {done.seconds:.1f} s")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tiles", help="build the dashboard's vector tiles now (after an import), not on the first map")
    p.set_defaults(func=cmd_tiles)
