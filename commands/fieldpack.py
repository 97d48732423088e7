"""The field pack: ``fieldpack --area NAME [--assignee USER] --out DIR [--odk-central]``."""
from __future__ import annotations

import argparse

from commands.common import service
from geo.words import counted
from services import outputs


def cmd_fieldpack(args: argparse.Namespace) -> int:
    """Write the form, the case list, the map and the GeoPackage for an area's open cases;
    with ``--odk-central``, publish the form and the cases to the configured server too."""
    from services import fieldpack, odk

    folder = outputs.output_folder(args.out, flag="--out")
    config = odk.config_path(args.odk_config) if args.odk_central else None  # refused before anything is written
    try:
        svc = service(args)  # the rule file of --rules / $HGWATCH settings: what each case label says a flag is worth
        pack, rows = fieldpack.field_pack(svc.store, args.identity, area=args.area,
                                          assignee=args.assignee, folder=folder, rules=svc.settings.rules)
    except fieldpack.NoOpenCase as none_open:
        if config is None:
            raise
        retired = odk.retire(args.area, args.assignee, config=config, project_id=args.odk_project)  # phones forget them
        odk.record_push(service(args).store, retired)
        print(f"{none_open.message}; ODK Central {retired.server} project {retired.project_id}: entity list cases: "
              f"{counted(retired.deleted, 'settled case')} removed, {retired.kept:,} of other areas or assignees kept; "
              "the form was left as it is")
        return 0
    print(f"wrote the field pack of {counted(pack.cases, 'open case')} in {args.area} to {pack.folder}: "
          f"{', '.join(p.name for p in pack.files)}")
    if config is not None:
        pushed = odk.push_pack(pack, rows, config=config, project_id=args.odk_project)
        odk.record_push(service(args).store, pushed)
        print(f"published to ODK Central {pushed.server} project {pushed.project_id}: form {pushed.form_id} "
              f"({'created' if pushed.form_created else 'new version'}); entity list cases: {pushed.created} created, "
              f"{pushed.updated} updated, {pushed.deleted} removed, {pushed.kept} of other areas or assignees kept")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("fieldpack", help="XLSForm, case list, offline map and GeoPackage of an area's open cases")
    p.add_argument("--area", required=True, help="admin_area whose open cases go into the pack")
    p.add_argument("--assignee", metavar="USER", help="only the cases assigned to this account")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for inspection.xlsx, cases.csv, map.html, cases.gpkg")
    p.add_argument("--odk-central", action="store_true",
                   help="also publish the form and the cases (as the entity list 'cases') to ODK Central")
    p.add_argument("--odk-config", metavar="TOML", help="pyodk configuration file (default: $HGWATCH_ODK_CONFIG)")
    p.add_argument("--odk-project", type=int, metavar="ID", help="Central project id (default: the configuration's)")
    p.set_defaults(func=cmd_fieldpack)
