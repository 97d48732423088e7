"""The PostGIS store's command: db upgrade."""
from __future__ import annotations

import argparse


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    """Create or update the PostGIS schema; with --from-workspace, copy a GeoPackage workspace in."""
    from services import auth, db
    from settings import Settings

    url = Settings.from_env(None, database_url=args.database_url).database_url
    print("\n".join(db.upgrade(url, args.from_workspace, auth.cli_identity().name).lines()))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("db", help="the PostGIS store (--database-url): its schema")
    db_sub = p.add_subparsers(dest="db_command", required=True)
    p = db_sub.add_parser("upgrade", help="create or update the schema; optionally copy a workspace in")
    p.add_argument("--from-workspace", metavar="PATH",
                   help="copy this GeoPackage workspace (layers, provenance, runs, accounts, API keys, cases,"
                        " audit trail) into the empty database")
    p.set_defaults(func=cmd_db_upgrade)
