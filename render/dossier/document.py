"""The case dossier as PDF (ReportLab) or one self-contained HTML page, modelled on MapBiomas'
alert reports: the site and the rule with its citation, the distance to 0.01 m, a map with the
shortest line, the visits and photos with their SHA-256, the people downstream and the full
history from the audit trail.

Every value that comes from a user's file, a form or a comment is escaped before it reaches PDF
markup or HTML; in the HTML a photo is an inline ``data:`` image of its own bytes (JPEG, PNG,
GIF or WebP only, by their signature; anything else is listed, never inlined). The file is
written atomically. Nothing here reads a store: ``services.dossier`` assembles a ``Dossier``.
"""
from __future__ import annotations

import base64
import html
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Image, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from shapely.geometry.base import BaseGeometry

from geo.errors import InputError
from layers.io.image_types import image_type as photo_type
from layers.io.safefile import atomic_path
from layers.store.audit import AuditRow
from layers.store.cases import Case, Comment, Photo, Visit
from render.dossier.casemap import case_map
from render.fonts import fonts, paragraph, stylesheet
from render.report.areamap import map_svg

DOSSIER_SUFFIXES = (".pdf", ".html", ".htm")
INLINE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")  # what a browser draws (not HEIC)
MAX_TEXT = 2000  # longest user text printed in one PDF paragraph, characters


@dataclass(frozen=True)
class Measured:
    """The violation as the current data measure it (``geo.rules.run_rules`` on the one site):
    distance in metres (0.01 m), the rule's threshold in metres, how it was measured and the
    feature it was measured to; ``line`` the shortest line, ``other`` that feature's geometry."""

    distance_m: float | None
    threshold_m: float | None
    basis: str | None
    nearest_layer: str | None
    nearest_id: str | None
    nearest_name: str | None
    line: BaseGeometry | None = None
    other: BaseGeometry | None = None


@dataclass(frozen=True)
class Dossier:
    """Everything one dossier prints (plain values; ``services.dossier.dossier`` builds it).

    ``rule`` holds the rule's id, version, title, citation and severity as text (None when the
    rule file no longer has it); ``measured`` is None when the current data no longer flag the
    site; ``site`` the site's geometry (EPSG:4326); ``people`` lines from
    ``services.people.detail_lines``; ``photos`` carry their bytes; ``far_limit_m`` the case file's
    ``[visits] max_distance_m``, beyond which a visit is marked far, as ``submissions import`` flags it.
    """

    case: Case
    rule: dict[str, str] | None
    measured: Measured | None
    site: BaseGeometry | None
    visits: list[Visit]
    photos: list[Photo]
    comments: list[Comment]
    history: list[AuditRow]
    people: list[str] = field(default_factory=list)
    made_at: str = ""
    made_by: str = ""
    source: str = ""
    far_limit_m: float | None = None  # a visit farther than this from its site is a far visit (flagged)
    worth: str | None = None  # what the flag is worth given the layers' expected error (services.worth.case_worth)


def image_type(data: bytes) -> str | None:
    """The MIME type of a JPEG, PNG, GIF or WebP by its signature (``layers.io.image_types``), the
    types a browser draws inline; None for anything else (HEIC/HEIF included)."""
    mime = photo_type(data)
    return mime if mime in INLINE_TYPES else None


def far_visits(d: Dossier) -> list[Visit]:
    """The visits made farther from the site than ``d.far_limit_m`` (none without a limit)."""
    limit = d.far_limit_m
    return [] if limit is None else [v for v in d.visits if v.distance_m is not None and v.distance_m > limit]


def _far_fact(d: Dossier) -> tuple[str, str] | None:
    """The 'Far visits' fact: how many, how far, and which outcome each gave; None when none is far."""
    far = far_visits(d)
    if not far:
        return None
    each = "; ".join(f"{_v(v.visited_at) or 'time unknown'} by {v.who}, {_v(v.outcome) or 'no outcome'},"
                     f" {metres(v.distance_m)} from the site" for v in far)
    return ("Far visits", f"FLAGGED: {len(far)} of {len(d.visits)} visit(s) more than {metres(d.far_limit_m)} from the"
            f" site (the case file's [visits] max_distance_m): {each}. Check the position before relying on the outcome.")


def metres(value: float | None) -> str:
    """A distance to 0.01 m ("not measured" for None)."""
    return "not measured" if value is None else f"{value:,.2f} m"


def _v(value: object) -> str:
    return "" if value is None else str(value)


def facts(d: Dossier) -> list[tuple[str, str]]:
    """The case's headline facts as (label, plain text) pairs, in print order."""
    c, m, r = d.case, d.measured, d.rule or {}
    distance = m.distance_m if m is not None else c.distance_m
    rows = [
        ("Case", c.violation_id),
        ("Status", f"{c.status}" + (f" ({c.reason})" if c.reason else "")),
        ("Assignee", _v(c.assignee) or "-"), ("Due", _v(c.due_date) or "-"),
        ("Opened", f"{c.opened_at} (run {_v(c.first_run)})"),
        ("Last changed", c.updated_at),
        ("Site", f"{c.site_id} {_v(c.site_name)} ({c.subject_layer})"),
        ("Admin area", _v(c.admin_area) or "-"),
        ("Position", f"lat {c.lat:.6f}, lon {c.lon:.6f} (WGS84, a point on the site)"
         if c.lat is not None and c.lon is not None else "unknown"),
        ("Rule", f"{c.rule_id} version {c.rule_version}" + (f": {r['title']}" if r else
                                                             " (no longer in the rule file)")),
        ("Citation", r.get("citation", "not available: the rule is no longer in the rule file")),
        ("Severity", r.get("severity", "-")),
        ("Distance", f"{metres(distance)} on the WGS84 ellipsoid"
         + (f", {m.basis}" if m is not None and m.basis else "")
         + (f"; the rule's distance is {metres(m.threshold_m)}" if m is not None and m.threshold_m is not None else "")),
    ]
    if m is not None and m.nearest_id:
        rows.append(("Measured to", f"{m.nearest_layer} {m.nearest_id} {_v(m.nearest_name)}".strip()))
    if d.worth:
        rows.append(("Accuracy", d.worth))
    if m is None:
        rows.append(("Current data", "the current data no longer flag this site; the distance is the one the"
                                     f" last run that flagged it measured (run {_v(c.last_run)})"))
    elif c.distance_m is not None and m.distance_m is not None and round(c.distance_m, 2) != round(m.distance_m, 2):
        rows.append(("At the last run", f"{metres(c.distance_m)} (run {_v(c.last_run)}); the data changed since"))
    if far := _far_fact(d):
        rows.append(far)
    if c.review:
        rows.append(("Review", c.review))
    return rows


def _drawing(d: Dossier) -> Drawing:
    m = d.measured
    label = m.nearest_name or m.nearest_id or m.nearest_layer or "measured to" if m is not None else "measured to"
    distance = metres(m.distance_m) if m is not None else ""
    return case_map(d.site, m.other if m else None, m.line if m else None, distance_text=distance,
                    other_label=str(label))


def _visit_rows(d: Dossier) -> list[list[str]]:
    rows = [["visited at", "who", "outcome", "position (lat, lon)", "accuracy", "from the site", "notes"]]
    far = {id(v) for v in far_visits(d)}
    for v in d.visits:
        pos = f"{v.lat:.6f}, {v.lon:.6f}" if v.lat is not None and v.lon is not None else "-"
        away = metres(v.distance_m) if v.distance_m is not None else "-"
        if id(v) in far:
            away += f" FAR (more than {metres(d.far_limit_m)})"
        rows.append([_v(v.visited_at) or "-", v.who, _v(v.outcome) or "-", pos,
                     metres(v.accuracy_m) if v.accuracy_m is not None else "-", away, _v(v.notes)])
    return rows


def _photo_lines(p: Photo) -> list[str]:
    where = f"EXIF position {p.lat:.6f}, {p.lon:.6f}" if p.lat is not None and p.lon is not None else "no EXIF position"
    return [f"{p.name}: added {p.added_at} by {p.who}; taken {p.taken_at or 'unknown (no EXIF time)'}; {where}",
            f"SHA-256 {p.sha256}"]


def _history_line(row: AuditRow, case: Case) -> str:
    """One audit row as text; a rule run says only what it did to this case (its row counts them all)."""
    head = f"#{row.seq} {row.at} {row.who}: {row.action} ({row.target})"
    if row.action != "rule run":
        return f"{head} before {row.before} after {row.after}"
    try:
        synced = (json.loads(row.after) or {}).get("cases") or {}
    except (ValueError, AttributeError):
        synced = {}
    did = [k.replace("_", " ") for k, v in synced.items() if isinstance(v, list) and case.violation_id in v]
    if not did and row.target == f"run {case.first_run}":
        did = ["opened this case"]
    return f"{head}: {', '.join(did) or 'flagged it'}"


# ------------------------------------------------------------------ writing
def write_dossier(d: Dossier, out: str | os.PathLike[str]) -> Path:
    """Write the dossier to ``out``: PDF for ``.pdf``, HTML for ``.html``/``.htm`` (atomically)."""
    path = Path(out)
    suffix = path.suffix.lower()
    if suffix not in DOSSIER_SUFFIXES:
        raise InputError(f"--out {path.name}: expected a file name ending in .pdf or .html")
    with atomic_path(path) as tmp:
        if suffix == ".pdf":
            _pdf(d, tmp)
        else:
            tmp.write_text(dossier_html(d), encoding="utf-8")
    return path


def dossier_bytes(d: Dossier, suffix: str) -> bytes:
    """The dossier as bytes (``suffix`` ".pdf" or ".html"), for a download button."""
    if suffix == ".pdf":
        buffer = io.BytesIO()
        _pdf(d, buffer)
        return buffer.getvalue()
    return dossier_html(d).encode("utf-8")


def _pdf(d: Dossier, target: Path | io.BytesIO) -> None:
    styles = stylesheet()
    body, small = styles["BodyText"], styles["BodyText"].clone("small", fontSize=7.5, leading=9)
    mono = small.clone("mono", fontName=fonts().mono, fontSize=7, leading=8.5)
    doc = SimpleDocTemplate(target if isinstance(target, io.BytesIO) else str(target), pagesize=A4,
                            leftMargin=15 * mm, rightMargin=15 * mm, topMargin=14 * mm, bottomMargin=14 * mm,
                            title=f"Case dossier {d.case.violation_id}", author="HgWatch")

    def para(text: str, style: ParagraphStyle = body) -> Paragraph:
        return paragraph(text[:MAX_TEXT], style)

    story: list[object] = [
        para(f"Case dossier: {d.case.rule_id} at {d.case.site_id} {_v(d.case.site_name)}", styles["Title"]),
        para(f"Made {d.made_at} by {d.made_by} from {d.source}. Distances are geodesic, in metres on the WGS84"
             " ellipsoid, to 0.01 m.", small)]
    grid = Table([[para(k, small), para(v, small)] for k, v in facts(d)], colWidths=[32 * mm, doc.width - 32 * mm])
    grid.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.25, colors.grey), ("VALIGN", (0, 0), (-1, -1), "TOP"),
                              ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#eeeeee"))]))
    story += [grid, Spacer(1, 4 * mm), para("Map: the site and the shortest line", styles["Heading2"]), _drawing(d)]
    story.append(para("Visits", styles["Heading2"]))
    if d.visits:
        rows = [[para(c, small) for c in row] for row in _visit_rows(d)]
        table = Table(rows, repeatRows=1, colWidths=[w * doc.width for w in (.17, .1, .1, .17, .09, .1, .27)])
        table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                                   ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee"))]))
        story.append(table)
    else:
        story.append(para("No visit recorded.", small))
    story.append(para("Photos and their SHA-256", styles["Heading2"]))
    if not d.photos:
        story.append(para("No photo attached.", small))
    for p in d.photos:
        first, digest = _photo_lines(p)
        block: list[object] = [para(first, small), para(digest, mono)]
        if image_type(p.data) in ("image/jpeg", "image/png", "image/gif"):  # what ReportLab draws
            try:
                picture = Image(io.BytesIO(p.data))
                scale = min(70 * mm / picture.imageWidth, 55 * mm / picture.imageHeight, 1.0)
                picture.drawWidth, picture.drawHeight = picture.imageWidth * scale, picture.imageHeight * scale
                block.append(picture)
            except Exception:  # a picture Pillow cannot decode is listed with its hash, not drawn
                block.append(para("(the picture cannot be decoded; its bytes are kept, with the hash above)", small))
        story.append(KeepTogether(block + [Spacer(1, 2 * mm)]))
    story.append(para("People downstream", styles["Heading2"]))
    story += [para(line, small) for line in d.people or ["not traced"]]
    story.append(para("Comments", styles["Heading2"]))
    story += [para(f"{c.at} {c.who}: {c.text}", small) for c in d.comments] or [para("No comment.", small)]
    story.append(para("History (audit trail)", styles["Heading2"]))
    story += [para(_history_line(r, d.case), small) for r in d.history] or [para("No history recorded.", small)]
    doc.build(story)


def dossier_html(d: Dossier) -> str:
    """The dossier as one self-contained HTML page; every value is escaped."""
    e = html.escape
    svg = map_svg(_drawing(d))
    title = f"Case dossier: {d.case.rule_id} at {d.case.site_id} {_v(d.case.site_name)}"
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{e(title)}</title>",
        "<style>body{font-family:sans-serif;margin:2em;max-width:1000px}table{border-collapse:collapse;"
        "font-size:13px;margin-bottom:1em}td,th{border:1px solid #bbb;padding:2px 6px;text-align:left;"
        "overflow-wrap:anywhere;vertical-align:top}th{background:#eee}code{font-size:12px}"
        "img{max-width:320px;max-height:240px;display:block}</style></head><body>",
        f"<h1>{e(title)}</h1>",
        f"<p>{e(f'Made {d.made_at} by {d.made_by} from {d.source}.')} Distances are geodesic, in metres on the"
        " WGS84 ellipsoid, to 0.01 m.</p>",
        "<table>" + "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in facts(d)) + "</table>",
        f"<h2>Map: the site and the shortest line</h2><figure>{svg[svg.find('<svg'):]}</figure>",
        "<h2>Visits</h2>",
    ]
    rows = _visit_rows(d)
    parts.append("<table><tr>" + "".join(f"<th>{e(c)}</th>" for c in rows[0]) + "</tr>"
                 + "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in r) + "</tr>" for r in rows[1:]) + "</table>"
                 if d.visits else "<p>No visit recorded.</p>")
    parts.append("<h2>Photos and their SHA-256</h2>")
    for p in d.photos:
        first, digest = _photo_lines(p)
        mime = image_type(p.data)
        img = (f"<img alt='{e(p.name)}' src='data:{mime};base64,{base64.b64encode(p.data).decode('ascii')}'>"
               if mime else "")
        parts.append(f"<figure>{img}<figcaption>{e(first)}<br><code>{e(digest)}</code></figcaption></figure>")
    if not d.photos:
        parts.append("<p>No photo attached.</p>")
    parts.append("<h2>People downstream</h2><ul>" + "".join(f"<li>{e(x)}</li>" for x in d.people or ["not traced"])
                 + "</ul>")
    parts.append("<h2>Comments</h2><ul>" + "".join(f"<li>{e(f'{c.at} {c.who}: {c.text}')}</li>" for c in d.comments)
                 + "</ul>" if d.comments else "<h2>Comments</h2><p>No comment.</p>")
    parts.append("<h2>History (audit trail)</h2><ol>" + "".join(f"<li>{e(_history_line(r, d.case))}</li>" for r in d.history)
                 + "</ol></body></html>")
    return "\n".join(parts)
