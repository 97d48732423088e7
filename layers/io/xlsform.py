"""The inspection form as an XLSForm workbook (survey, choices, settings), for ODK and KoBoToolbox.

The question names are fixed (``layers.io.submission_layout.QUESTIONS``), so that every
server's export maps back (``layers.io.submissions``). They sit in the group ``visit``:

==================  =============================================  ====================================
question            type                                           rule
==================  =============================================  ====================================
``violation_id``    ``select_one_from_file cases.csv``             required; the value is the file's
                                                                   ``violation_id`` column (an ODK
                                                                   Central entity list serves it too)
``outcome``         ``select_one outcome``                         required; ``OUTCOMES``
``reason``          ``text``                                       required unless outcome is confirmed
``visit_location``  ``geopoint``                                   required
``visited_at``      ``dateTime``                                   required
``photo``           ``image``
``notes``           ``text``
==================  =============================================  ====================================

Every cell is written as text (``data_type`` "s"), so a title that starts with ``=`` is never a
formula. The workbook is written to a temporary file renamed into place.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import openpyxl
from openpyxl.worksheet.worksheet import Worksheet

from layers.io.safefile import atomic_path
from layers.io.submission_layout import OUTCOMES, QUESTIONS

GROUP = "visit"
CASES_FILE = "cases.csv"
CASES_LIST = "cases"   # the ODK Central entity list that serves CASES_FILE
CHOICES = {"confirmed": "Confirmed: the violation is there",
           "false_positive": "False positive: no violation at this place",
           "not_accessible": "Not accessible: could not reach the site",
           "remediated": "Remediated: the violation has been put right"}
NEEDS_REASON = f"${{outcome}} != '{OUTCOMES[0]}'"
_SURVEY_HEADER = ("type", "name", "label", "hint", "required", "required_message", "constraint",
                  "constraint_message", "parameters", "appearance")
# name -> (type, label, hint, required, parameters)
_QUESTIONS = {
    "violation_id": (f"select_one_from_file {CASES_FILE}", "Case",
                     "The flagged violation you are at. Its distance is to mapped positions, whose expected error"
                     " its label gives: a flag is a lead to check on the ground, not proof",
                     "yes", "value=violation_id label=label"),
    "outcome": ("select_one outcome", "What did you find?", "", "yes", ""),
    "reason": ("text", "Reason", "Why: required unless the violation is confirmed", NEEDS_REASON, ""),
    "visit_location": ("geopoint", "Where you stand", "Wait for an accuracy of 10 m or better", "yes", ""),
    "visited_at": ("dateTime", "Time of the visit", "", "yes", ""),
    "photo": ("image", "Photo of the site", "", "", "max-pixels=2048"),
    "notes": ("text", "Notes", "", "", ""),
}
assert tuple(_QUESTIONS) == QUESTIONS  # one home for the names: the form reads back what it asks
assert tuple(CHOICES) == OUTCOMES


def survey_rows() -> list[dict[str, str]]:
    """The survey sheet as rows of column -> text (the ``visit`` group around the questions)."""
    rows = [{"type": "begin_group", "name": GROUP, "label": "Site visit"}]
    for name, (kind, label, hint, required, parameters) in _QUESTIONS.items():
        row = {"type": kind, "name": name, "label": label, "hint": hint, "required": required,
               "parameters": parameters}
        if required == NEEDS_REASON:
            row["required_message"] = "Give a reason: the outcome is not 'confirmed'"
            row["constraint"] = "normalize-space(.) != ''"
            row["constraint_message"] = "A reason cannot be only spaces"
        rows.append(row)
    rows.append({"type": "end_group", "name": GROUP})
    return rows


def write_xlsform(path: Path, *, title: str, form_id: str, version: str) -> Path:
    """Write the inspection form to ``path`` (.xlsx).

    Parameters
    ----------
    path : the workbook to write (replaced atomically).
    title : the form title shown on the phone, e.g. "HgWatch inspection: Amansie West".
    form_id : the form's id on the server (letters, digits, ``_``).
    version : the form version; a server refuses a new form with the version of an older one.
    """
    book = openpyxl.Workbook()
    survey = book.active
    assert survey is not None  # a new workbook always has one sheet
    survey.title = "survey"
    _write_rows(survey, [_SURVEY_HEADER, *([row.get(c, "") for c in _SURVEY_HEADER] for row in survey_rows())])
    _write_rows(book.create_sheet("choices"),
                [("list_name", "name", "label"), *(("outcome", n, label) for n, label in CHOICES.items())])
    _write_rows(book.create_sheet("settings"), [("form_title", "form_id", "version", "instance_name"),
                                                (title, form_id, version, "concat(${violation_id}, ' ', ${outcome})")])
    with atomic_path(Path(path)) as tmp:
        book.save(tmp)
    return Path(path)


def _write_rows(sheet: Worksheet, rows: Iterable[Sequence[str]]) -> None:
    """Rows of text cells (never a formula, whatever the text starts with)."""
    for r, values in enumerate(rows, start=1):
        for c, value in enumerate(values, start=1):
            if value:
                cell = sheet.cell(row=r, column=c)
                cell.value = value
                cell.data_type = "s"
