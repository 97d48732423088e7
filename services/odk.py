"""Publishing a field pack to an ODK Central server through pyodk (``fieldpack --odk-central``).

The cases go first, as the entity list ``cases`` (one entity per case, matched on its
``violation_id``: new cases are created, changed ones updated, and the pack's own cases no longer
open deleted), then the inspection form is created or, when the server has it, replaced by a new
version. One list serves every area: a pack for one area (and assignee) deletes only entities of
that area (and assignee), so publishing the South pack leaves the North phones' cases alone.
Central links the form's ``cases.csv`` attachment to the entity list of the same name, so the
phones always get the server's current case list.

The server and the account come from a pyodk configuration file (TOML, ``[central]`` with
``base_url``, ``username``, ``password``, ``default_project_id``), named by ``--odk-config`` or
``$HGWATCH_ODK_CONFIG``. The session token is kept in memory only. Nothing is sent anywhere
unless a command asks for it.
"""
from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pydantic
import requests
from pyodk._utils import config as pyodk_config
from pyodk._utils.session import Session
from pyodk.client import Client
from pyodk.errors import PyODKError

from geo.errors import InputError
from layers.io.xlsform import CASES_LIST
from layers.store.base import Store
from services import audit
from services.fieldpack import FORM_ID, FieldPack, share_form

CONFIG_ENV = "HGWATCH_ODK_CONFIG"
MATCH_KEY = "violation_id"
logging.getLogger("pyodk").addHandler(logging.NullHandler())  # its errors reach the user as messages, not logs


@dataclass(frozen=True)
class OdkPush:
    """What a push did on the server."""

    server: str
    project_id: int
    form_id: str
    form_created: bool      # False: a new version of the existing form
    created: int            # entities created, updated and deleted in the entity list
    updated: int
    deleted: int
    kept: int = 0           # entities of other areas (or assignees) on the server, left as they are
    form_sent: bool = True  # False: only the entity list was changed (``retire``)


def config_path(flag_value: str | None) -> Path:
    """The pyodk configuration file: ``--odk-config`` or ``$HGWATCH_ODK_CONFIG``; refused when neither names one."""
    text = flag_value or os.environ.get(CONFIG_ENV)
    if not text:
        raise InputError(f"--odk-central needs a pyodk configuration file: give --odk-config PATH or set ${CONFIG_ENV} "
                         "(TOML with [central] base_url, username, password, default_project_id)")
    path = Path(text)
    if not path.is_file():
        raise InputError(f"--odk-config {path}: no such file; expected a pyodk configuration (TOML)")
    return path


def entity_rows(rows: pd.DataFrame) -> list[dict[str, str]]:
    """The pack's case rows as entities: ``label`` and every column but ``name`` (Central names entities), as text."""
    out = []
    for record in rows.drop(columns=["name"]).to_dict("records"):
        out.append({str(k): _text(v) for k, v in record.items()})
    return out


def _text(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def push_pack(pack: FieldPack, rows: pd.DataFrame, *, config: Path, project_id: int | None = None) -> OdkPush:
    """Publish ``pack``'s form and its case ``rows`` (``services.fieldpack.pack_cases``) to ODK Central.

    The form is titled for every area before it is sent (``services.fieldpack.share_form``, once the
    entity list is updated): one form serves the phones of every area, through the one entity list.

    Raises
    ------
    InputError
        The configuration cannot be read, no project is named, or the server refused a request
        (the message says which, and what was already done).
    """
    return _publish(rows, Scope(pack.area, pack.assignee, pack.folder.name), pack, config=config, project_id=project_id)


def retire(area: str, assignee: str | None, *, config: Path, project_id: int | None = None) -> OdkPush:
    """Delete from Central's entity list the cases of ``area`` (and ``assignee``) when none is open
    any more (no pack can be made): the phones stop listing settled cases. The form is left as it is."""
    return _publish(pd.DataFrame({"name": [], "label": [], MATCH_KEY: [], "admin_area": []}),
                    Scope(area, assignee, "no open case"), None, config=config, project_id=project_id)


@dataclass(frozen=True)
class Scope:
    """Which entities a publication owns: those of its admin area and, when given, its assignee."""

    area: str
    assignee: str | None
    source: str                 # what Central records as the source of created entities

    def owns(self, entity: dict[str, object], rows: pd.DataFrame) -> bool:
        """Whether a server entity the rows do not hold is this publication's to delete: one of its
        area (or an area of its rows) and, for a pack made for one assignee, of that assignee."""
        areas = {self.area, *(str(a) for a in rows.get("admin_area", pd.Series(dtype=object)).dropna())} - {""}
        if str(entity.get("admin_area") or "") not in areas:
            return False
        return self.assignee is None or str(entity.get("assignee") or "") == self.assignee


def _publish(rows: pd.DataFrame, scope: Scope, pack: FieldPack | None, *, config: Path,
             project_id: int | None) -> OdkPush:
    """Merge ``rows`` into the entity list (deleting only what ``scope`` owns), then send the form
    ``pack``'s form, titled for every area, when one is given."""
    try:
        settings = pyodk_config.read_config(config_path=config)
    except (PyODKError, KeyError, TypeError, ValueError) as exc:
        raise InputError(f"--odk-config {config.name}: cannot be read as a pyodk configuration ({exc}); expected "
                         "TOML with [central] base_url, username, password, default_project_id") from None
    server = settings.central.base_url
    pid = project_id if project_id is not None else settings.central.default_project_id
    if pid is None:
        raise InputError(f"--odk-config {config.name}: names no default_project_id; give --odk-project ID")
    session = Session(base_url=server, api_version="v1", username=settings.central.username,
                      password=settings.central.password, cache_path=None)
    done = "nothing was changed"
    exists = True
    try:
        with Client(config=settings, session=session, project_id=pid) as client:
            if CASES_LIST not in {el.name for el in client.entity_lists.list(project_id=pid)}:
                client.entity_lists.create(entity_list_name=CASES_LIST, project_id=pid)
            actions = client.entities.merge(
                entity_rows(rows), entity_list_name=CASES_LIST, project_id=pid, match_keys=[MATCH_KEY],
                add_new_properties=True, update_matched=True, delete_not_matched=False,
                create_source=f"hgwatch fieldpack {scope.source}", source_size=str(len(rows)))
            others = list(actions.to_delete.values())
            gone = [entity for entity in others if scope.owns(entity, rows)]
            for entity in gone:
                client.entities.delete(uuid=entity["__id"], entity_list_name=CASES_LIST, project_id=pid)
            done = f"the entity list {CASES_LIST!r} was updated, the form was not"
            if pack is not None:
                definition = share_form(pack)
                exists = FORM_ID in {f.xmlFormId for f in client.forms.list(project_id=pid)}
                if exists:
                    client.forms.update(FORM_ID, project_id=pid, definition=definition)
                else:
                    client.forms.create(definition=definition, form_id=FORM_ID, project_id=pid)
    except (PyODKError, requests.RequestException, pydantic.ValidationError) as exc:  # last: an answer unlike Central's
        raise InputError(f"ODK Central {server}: {_reason(exc)}; {done}") from None
    return OdkPush(server, pid, FORM_ID, not exists, len(actions.to_insert), len(actions.to_update), len(gone),
                   len(others) - len(gone), pack is not None)


def _reason(exc: Exception) -> str:
    """A short reason without a traceback (the first line of pyodk's or requests' message)."""
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__


def record_push(store: Store, pushed: OdkPush) -> None:
    """Name the push in the audit trail: which server, project and form got the cases."""
    audit.record_output(store, "export", "odk-central", after={
        "server": pushed.server, "project": pushed.project_id, "form": pushed.form_id, "created": pushed.created,
        "updated": pushed.updated, "deleted": pushed.deleted, "kept": pushed.kept,
        "form_sent": pushed.form_sent})
