"""Which column of a form export holds which question: ODK Central's layout or KoBoToolbox's.

The inspection form's question names are fixed (``QUESTIONS``); each may sit inside a group of
any name, so a question ``q`` is the column ``q`` or ``<groups><sep>q``:

==============  ==========================================  =====================================================
server          group separator, geopoint ``g``              extra columns (the ones read)
==============  ==========================================  =====================================================
ODK Central     ``-``; ``<groups>-g-Latitude``, ``-Longitude``,  ``KEY`` (or ``meta-instanceID``): the key;
                ``-Altitude``, ``-Accuracy``                 ``SubmitterName``; ``ReviewState``; ``Edits``
KoBoToolbox     ``/``; raw ``g`` ("lat lon alt precision",   ``_uuid``: the key; ``_submitted_by``;
                written without the group path) and          ``_validation_status``
                ``<groups>/_g_latitude``, ``_longitude``,
                ``_altitude``, ``_precision``
==============  ==========================================  =====================================================

With groups turned off in a KoBo export the group paths disappear (``_g_latitude``, ``outcome``).
The server is told by its own extra columns, never guessed.

ODK Central's ``KEY`` is the submission's own id, kept when a reviewer edits it on the server; the
``meta-instanceID`` of the form's data changes with each edit (``KEY`` is written from the
submission's ``instanceId``: central-backend ``lib/data/briefcase.js``, ``writeMetadata``). So the
key is ``KEY``: keyed on ``meta-instanceID``, an edited submission was imported a second time (a
second visit). An unedited submission has the same value in both, so keys stored before stay valid.
``Edits`` (how many times it was edited on the server) lets an import say that an edit made after
the submission was imported is not applied.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from geo.errors import InputError
from geo.words import listed

QUESTIONS = ("violation_id", "outcome", "reason", "visit_location", "visited_at", "photo", "notes")
OUTCOMES = ("confirmed", "false_positive", "not_accessible", "remediated")  # the outcome question's choices
REQUIRED = ("violation_id", "outcome")
POINT = "visit_location"
ODK, KOBO = "ODK Central", "KoBoToolbox"
_MARKERS = {ODK: ("meta-instanceID", "KEY", "SubmissionDate", "SubmitterName", "ReviewState"),
            KOBO: ("_uuid", "_id", "_submission_time", "_submitted_by", "_validation_status")}
_SEPARATOR = {ODK: "-", KOBO: "/"}
_KEYS = {ODK: ("KEY", "meta-instanceID"), KOBO: ("_uuid",)}
_EDITS = {ODK: "Edits"}  # times the submission was edited on the server (KoBo's exports carry no count)
_SUBMITTER = {ODK: "SubmitterName", KOBO: "_submitted_by"}
_REVIEW = {ODK: "ReviewState", KOBO: "_validation_status"}
# the split geopoint columns, by the part they hold
_SPLIT = {ODK: {"lat": f"{POINT}-Latitude", "lon": f"{POINT}-Longitude", "accuracy": f"{POINT}-Accuracy"},
          KOBO: {"lat": f"_{POINT}_latitude", "lon": f"_{POINT}_longitude", "accuracy": f"_{POINT}_precision"}}
# review states that mean a reviewer turned the submission down: read, reported, never applied
REJECTED = {ODK: ("rejected",), KOBO: ("validation_status_not_approved", "Not Approved")}


@dataclass(frozen=True)
class Layout:
    """Where each part of a submission is in one export.

    server : ``ODK`` or ``KOBO``.
    columns : part -> column index; parts are the ``QUESTIONS`` (``visit_location`` only when the point
        is one text column), ``lat``/``lon``/``accuracy`` (split geopoint), ``key``, ``submitter``, ``review``,
        ``edits``.
    header : the export's column names, for messages.
    """

    server: str
    columns: dict[str, int]
    header: tuple[str, ...]

    def name(self, part: str) -> str:
        """The column name of ``part``, as the file spells it."""
        return self.header[self.columns[part]]


def layout(source: str, header: Sequence[str]) -> Layout:
    """The layout of an export whose first row is ``header``; InputError when it is neither server's."""
    names = tuple(str(h).strip() for h in header)
    server = _server(source, names)
    sep = _SEPARATOR[server]
    columns: dict[str, int] = {}
    for question in QUESTIONS:
        found = _question(source, names, question, sep)
        if found is not None:
            columns[question] = found
    for part, suffix in _SPLIT[server].items():
        found = _question(source, names, suffix, sep)
        if found is not None:
            columns[part] = found
    if "lat" in columns or "lon" in columns:
        columns.pop(POINT, None)  # KoBo writes both the raw point and its split columns: read the split ones
    key = next((names.index(k) for k in _KEYS[server] if k in names), None)
    missing = [q for q in REQUIRED if q not in columns] + ([] if key is not None else [" or ".join(_KEYS[server])])
    if missing:
        raise InputError(f"{source}: this {server} export has no column for {', '.join(map(repr, missing))}; "
                         f"expected the inspection form's questions {listed(QUESTIONS)} (inside any group) and "
                         f"{server}'s own columns, exported with XML names rather than labels")
    columns["key"] = key  # type: ignore[assignment]  # not None: checked above
    for part, column in (("submitter", _SUBMITTER[server]), ("review", _REVIEW[server]),
                         ("edits", _EDITS.get(server, ""))):
        if column in names:
            columns[part] = names.index(column)
    return Layout(server, columns, names)


def _server(source: str, names: tuple[str, ...]) -> str:
    found = [server for server, markers in _MARKERS.items() if any(m in names for m in markers)]
    if len(found) != 1:
        what = "columns of both" if found else "none of the columns"
        raise InputError(f"{source}: cannot tell which server exported it: it has {what} "
                         f"ODK Central's ({listed(_MARKERS[ODK])}) and KoBoToolbox's ({listed(_MARKERS[KOBO])}); "
                         "expected an ODK Central CSV or ZIP, or a KoBoToolbox CSV or XLSX export, as downloaded")
    return found[0]


def _question(source: str, names: tuple[str, ...], question: str, sep: str) -> int | None:
    """The one column holding ``question`` (at top level or inside groups joined by ``sep``)."""
    hits = [i for i, n in enumerate(names) if n == question or n.endswith(sep + question)]
    if len(hits) > 1:
        raise InputError(f"{source}: several columns hold the question {question!r}: "
                         f"{[names[i] for i in hits]}; expected one (a question name is used once in the form)")
    return hits[0] if hits else None
