"""The store's commands: db upgrade (PostGIS schema, moving a workspace in), db backup (a GeoPackage)."""
from __future__ import annotations

import argparse


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    """Create or update the PostGIS schema; with --from-workspace, copy a GeoPackage workspace in."""
    from services import auth, db
    from settings import Settings

    url = Settings.from_env(None, database_url=args.database_url).database_url
    print("\n".join(db.upgrade(url, args.from_workspace, auth.cli_identity().name).lines()))
    return 0


def cmd_db_backup(args: argparse.Namespace) -> int:
    """Copy the GeoPackage workspace to --out as one consistent, checked snapshot (safe while it is in use)."""
    from commands.common import service
    from geo.errors import InputError
    from services import db

    if args.as_name and not args.identity.rights.manage_accounts:  # the copy holds every account's hash
        raise InputError(f"--as {args.as_name!r}: role {args.identity.role!r} may not back the store up; an admin may")
    print("\n".join(db.backup(service(args).store, args.out).lines()))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("db", help="the store: the PostGIS schema (--database-url), a GeoPackage's backup")
    db_sub = p.add_subparsers(dest="db_command", required=True)
    p = db_sub.add_parser("upgrade", help="create or update the schema; optionally copy a workspace in")
    p.add_argument("--from-workspace", metavar="PATH",
                   help="copy this GeoPackage workspace (layers, provenance, runs, accounts, API keys, cases,"
                        " audit trail) into the empty database")
    p.set_defaults(func=cmd_db_upgrade)
    p = db_sub.add_parser("backup", help="copy the GeoPackage workspace to a file, safely while it is in use")
    p.add_argument("--out", required=True, metavar="FILE.gpkg", help="the copy (replaced atomically once checked)")
    p.set_defaults(func=cmd_db_backup)
