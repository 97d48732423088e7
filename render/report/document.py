"""Printable mercury inventory report: PDF (ReportLab) or HTML, from ``render.report.tables``.

Both carry the area, the data date, the totals with their ranges, our estimate beside the
published ones, register counts, trends against targets, a map with legend, scale bar and north
arrow, the factor sources and the assumptions in plain words. Every value that comes from a
user's file is escaped before it reaches PDF markup or HTML. Long text never breaks the layout:
in the PDF a cell holds at most ``CELL_CHARS`` characters (the rest cut, with an ellipsis) and
wraps inside columns sized to the page; in the HTML it wraps anywhere. The file is written
atomically: it appears only once it is complete.
"""
from __future__ import annotations

import html
import os
from datetime import date
from pathlib import Path
from xml.sax.saxutils import escape

import geopandas as gpd
import pandas as pd
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.platypus import LongTable, PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from geo.errors import InputError
from geo.inventory import METRICS, QUANTITIES
from geo.words import agree, counted
from layers.io.safefile import atomic_path
from render.fonts import paragraph, stylesheet
from render.report.areamap import area_groups, area_map, classes_for, map_svg
from render.report.tables import TABLE_TITLES, Inventory, assumptions

MAX_SITE_ROWS = 300
SYNTHETIC_NOTE = ("SYNTHETIC DEMO DATA: the mining sites in this report are made up (scripts/build_demo.py);"
                  " no figure in it describes a real place.")
NOT_ESTIMABLE = "not estimable"  # a total with no figure behind it (every site not estimable)
REPORT_SUFFIXES = (".pdf", ".html", ".htm")
CELL_CHARS = 80  # longest text in a PDF table cell, characters
LINE_CHARS = 240  # longest user text in a PDF heading or caption, characters
_MIN_COL_PT = 24.0  # narrowest PDF table column, points
_HEAD_PT_PER_CHAR = 4.6  # width of a character of a bold 7 pt heading, points (a generous average)
_LONG_WORD = 14  # a cell's word longer than this may break (an id, a path): it would take the page
_MAIN = ("totals", "resurveys", "comparison", "register", "targets", "trends", "by_method", "by_round",
         "by_area")


def fmt(value: object) -> str:
    """A cell as text: numbers to 4 significant figures, shares kept, empty for missing."""
    if value is None or (isinstance(value, float) and value != value) or value is pd.NA:
        return ""
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e6 else f"{value:,.0f}"
    return str(value)


def clip(text: str, limit: int) -> str:
    """``text`` when it has at most ``limit`` characters, else its start and an ellipsis."""
    return text if len(text) <= limit else text[:max(limit - 1, 0)] + "\u2026"


def column_widths(table: pd.DataFrame, width: float) -> list[float]:
    """Widths in points of ``table``'s columns sharing ``width`` points: each at least as wide as
    the longest word of its heading and of its cells (up to ``_LONG_WORD`` characters; and
    ``_MIN_COL_PT``) unless the page is too narrow for that, the rest shared in proportion to its
    longest text (a heading's longest word or a cell, at most ``CELL_CHARS``)."""
    weights, floors = [], []
    for i, name in enumerate(table.columns):
        texts = [fmt(v) for v in table.iloc[:, i]]
        word = max((len(w) for w in str(name).split()), default=1)  # a heading wraps between its words
        longest = max((len(w) for t in texts for w in t.split()), default=0)  # so does a cell
        weights.append(min(max([word, *map(len, texts), 1]), CELL_CHARS / 2) + 2)
        floors.append(max(_MIN_COL_PT, word * _HEAD_PT_PER_CHAR + 6,  # longest words unbroken
                          min(longest, _LONG_WORD) * _HEAD_PT_PER_CHAR + 6))
    if sum(floors) > width:  # too narrow a page for every word: share it in proportion
        floors = [f * width / sum(floors) for f in floors]
    spare = width - sum(floors)
    total = sum(weights) or 1.0
    return [f + spare * w / total for f, w in zip(floors, weights, strict=True)]


def dates_line(inv: Inventory, when: str) -> str:
    """The data date, the day the targets were judged on (``--today``) and the report date."""
    judged = f" Targets judged on {inv.judged_on.isoformat()}." if inv.judged_on else ""
    return f"Data date (latest survey): {inv.data_date}.{judged} Report made {when}."


def factor_file(inv: Inventory) -> str:
    """The factor file by its name only: the report names no folder of the server."""
    return Path(inv.factors.source_file).name


def _kg(value: float) -> str:
    """Kilograms to one decimal; a quantity under 0.05 kg but not zero to two significant figures, so
    that 29 g to soil does not read '0.0 kg'."""
    if value != value:
        return "not estimable"
    return f"{value:.2g} kg" if 0 < abs(value) < 0.05 else f"{value:,.1f} kg"


def summary_lines(inv: Inventory) -> list[str]:
    """The headline figures as sentences (plain text, not escaped)."""
    t = inv.tables["totals"].iloc[0]
    lo, hi = (int(p) for p in inv.factors.percentiles)
    mercury = [
        f"Mercury used: {_kg(t['used_kg'])} a year ({lo}th-{hi}th percentile "
        f"{_kg(t['used_low'])} to {_kg(t['used_high'])}).",
        f"Mercury released: {_kg(t['released_kg'])} a year ({_kg(t['released_low'])} to "
        f"{_kg(t['released_high'])}): to air {_kg(t['air_kg'])}, to water {_kg(t['water_kg'])},"
        f" to tailings and soil {_kg(t['land_kg'])}; recovered {_kg(t['recovered_kg'])}.",
    ] if t["used_kg"] == t["used_kg"] else [
        "Mercury used and released: not estimable (no site has a gold or a mercury figure)."]
    return [
        *mercury,
        f"Sites: {int(t['n_sites']):,} ({int(t['n_measured']):,} measured, {int(t['n_estimated']):,} "
        f"estimated from gold, {int(t['n_mercury_free']):,} mercury-free, "
        f"{int(t['n_not_operating']):,} not operating, {int(t['n_not_estimable']):,} not estimable)."
        + (f" Gold of the estimated sites: {t['gold_kg']:,.1f} kg a year." if t["n_estimated"] else ""),
        *resurvey_lines(inv),
    ]


def _metres(value: float) -> str:
    return f"{value:,.0f} m" if value == round(value) else f"{value:,.1f} m"


def resurvey_lines(inv: Inventory) -> list[str]:
    """What the totals did with re-surveys and the pairs a person must look at (plain text): nothing
    when the sites hold one survey round and no link."""
    r = inv.resurvey
    if r is None or (len(inv.tables["by_round"]) < 2 and not r.linked):
        return []
    lines = []
    if r.superseded:
        lines.append(f"Re-surveys: {counted(r.superseded, 'record')} of a site surveyed again in a later round"
                     f" (linked by resurvey_of) {agree(r.superseded, 'is', 'are')} left out of the totals, which"
                     " count each site once, at its latest survey; each survey round still counts its own records.")
    elif r.linked:
        lines.append(f"Re-surveys: {counted(r.linked, 'site')} linked by resurvey_of to a site of an earlier round outside"
                     " this area; the totals count each site once, at its latest survey.")
    error = (f"{_metres(r.distance_m)} plus twice the layer's expected error of {_metres(r.expected_error_m)}"
             if r.expected_error_m is not None else
             f"{_metres(r.distance_m)}; no expected error of the layer is added, so positions further apart"
             " may still be one site")
    if r.candidates:
        lines.append(f"Possible re-surveys, not linked: {counted(r.candidates, 'pair')} of sites of different survey"
                     f" rounds {agree(r.candidates, 'lies', 'lie')} within {_metres(r.within_m)} of each other ({error})"
                     f" under different ids (table 'Possible re-surveys'). Each may be one site counted twice in the"
                     " totals and the baseline:"
                     f" give the later site's resurvey_of the earlier site's id, or leave both if they are two sites.")
    else:
        lines.append(f"Possible re-surveys: no sites of different survey rounds lie within {_metres(r.within_m)} of"
                     f" each other under different ids ({error}).")
    return lines


def _ranged(row: pd.Series, q: str) -> str:
    if row[f"{q}_kg"] != row[f"{q}_kg"]:
        return NOT_ESTIMABLE
    return f"{fmt(row[f'{q}_kg'])} ({fmt(row[f'{q}_low'])}-{fmt(row[f'{q}_high'])})"


def unit_tables(inv: Inventory) -> list[tuple[str, pd.DataFrame]]:
    """One table per region (or province) with its districts (or communes), print form; none when
    the sites carry no admin units (``render.report.tables.by_unit``)."""
    table = inv.tables.get("by_unit")
    if table is None or table.empty:
        return []
    top, sub = table.columns[:2]
    return [(f"{top.capitalize()} {unit}: {TABLE_TITLES['by_unit'].split(', ', 1)[1]}, by {sub}",
             _printed("by_unit", part.drop(columns=[top])).reset_index(drop=True))
            for unit, part in table.groupby(top, sort=True)]


HEADERS = {  # the print form's column headings (the CSV keeps the field names)
    "admin_area": "admin area", "survey_round": "survey round", "central_kg": "central, kg/yr",
    "range_kg": "range, kg/yr", "latest_round": "latest round", "target_value": "to reach", "label": "target",
    "metric": "measured by",
    "n_sites": "sites", "n_operating": "operating sites", "n_not_estimable": "not estimable",
    "released_kg": "released", "baseline_round": "baseline round",
    "gold_kg_per_year": "gold kg/yr", "used_low": "used, low", "used_kg": "used", "used_high": "used, high",
    "air_kg": "to air", "water_kg": "to water", "land_kg": "to land", "released_low": "released, low",
    "released_high": "released, high", "recovered_kg": "recovered", "site_id": "site id",
    "sites_without_miner_count": "sites without a miner count", "registration_unknown": "registration unknown",
    "retorts_in_use": "retorts in use", "women_miners": "women miners", "mercury_free": "mercury-free",
    "not_operating": "not operating", "not_estimable": "not estimable",
    "resurvey_of": "re-survey of (earlier site id)", "same_site": "site (first survey's id)", "counted": "in totals",
    "earlier_round": "earlier round", "earlier_name": "earlier name", "earlier_admin_area": "earlier admin area",
    "distance_m": "distance, m", "n_resurveys": "re-surveys", "n_same_sites": "same sites as baseline",
}
_SHARES = ("value", "target_value", *METRICS)  # shares 0-1, printed as percentages


def percent(value: object) -> str:
    """A share 0-1 as a percentage to one decimal ("46.2 %"); "no data" where missing."""
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return "no data"
    return f"{float(str(value)) * 100:.1f} %"


def _printed(name: str, table: pd.DataFrame) -> pd.DataFrame:
    """The print form of a table with words for headings and shares as percentages."""
    out = _compact(name, table).copy()
    for col in out.columns:
        if col in _SHARES:
            out[col] = [percent(v) for v in out[col]]
    if "metric" in out.columns:
        out["metric"] = out["metric"].map(lambda m: METRICS.get(m, m))
    if "quantity" in out.columns:
        out["quantity"] = out["quantity"].map(lambda q: str(q).replace("mercury_", "mercury ").replace("_", " "))
    return out.rename(columns=lambda c: HEADERS.get(c, c.replace("size_", "size ").replace("_", " ")))


def _compact(name: str, table: pd.DataFrame) -> pd.DataFrame:
    """The print form of a table: ranges as 'central (low-high)', fewer columns."""
    if name in ("totals", "by_area", "by_method", "by_round", "by_unit"):
        groups = [c for c in table.columns if not c.startswith(("n_", "gold_")) and not
                  c.endswith(("_kg", "_low", "_high"))]
        out = table[groups].copy()
        out["sites"] = table["n_sites"]
        out["not estimable"] = table["n_not_estimable"]
        out["gold kg/yr"] = table["gold_kg"]
        for q in QUANTITIES:
            out[q] = [_ranged(row, q) for _, row in table.iterrows()]
        return out
    if name == "targets":  # the label says what the id means; a 'met' says what it leaves out
        out = table.drop(columns=["target", "source", "not_estimable"])
        out["status"] = [f"{s} ({counted(n, 'site')} of the round not estimable)" if s == "met" and n else s
                         for s, n in zip(table["status"], table["not_estimable"], strict=True)]
        return out
    if name == "trends":
        out = table.drop(columns=["round_order", "released_low", "released_high"])
        out["released_kg"] = [_ranged(row, "released") for _, row in table.iterrows()]
        return out.rename(columns={"released_kg": "released, kg/yr (5th-95th percentile)"})
    if name == "resurveys":
        return table.drop(columns=["within_m"])
    if name == "sites":  # the link, only where there is one (the page and the CSV keep the site and the count)
        drop = ["same_site", "counted"] + (["resurvey_of"] if table["resurvey_of"].isna().all() else [])
        return table.drop(columns=[c for c in drop if c in table.columns])
    if name == "comparison":
        out = table.drop(columns=["low_kg", "high_kg"]).copy()
        out["range_kg"] = [f"{fmt(lo)}-{fmt(hi)}" if lo == lo and lo is not None else
                           NOT_ESTIMABLE if mid != mid else "no range published"
                           for mid, lo, hi in zip(table["central_kg"], table["low_kg"], table["high_kg"])]
        return out[["quantity", "area", "central_kg", "range_kg", "year", "method", "source"]]
    return table


def _shown(inv: Inventory) -> list[str]:
    """The main tables in print order; the possible re-surveys only when there are some."""
    return [n for n in _MAIN if n != "resurveys" or len(inv.tables.get(n, ()))]


def write_report(inv: Inventory, out: str | os.PathLike[str], *,
                 sites: gpd.GeoDataFrame, water: gpd.GeoDataFrame | None = None,
                 generated: date | None = None, data_source: str = "", synthetic: bool = False) -> Path:
    """Write the report to ``out``: PDF for ``.pdf``, HTML for ``.html``/``.htm``.

    Parameters
    ----------
    inv : the tables, from ``render.report.tables.inventory_tables``.
    sites : the mapped sites (EPSG:4326), in the order of ``inv.tables["sites"]``.
    water : optional water bodies drawn under the sites.
    generated : the report date (default today).
    data_source : where the sites came from (workspace path or file), printed as a source.
    synthetic : the sites are made-up demo data (also when ``data_source`` says "SYNTHETIC"): the
        report says so under its title.
    """
    path = Path(out)
    suffix = path.suffix.lower()
    if suffix not in REPORT_SUFFIXES:
        raise InputError(f"--out {path.name}: expected a file name ending in .pdf or .html")
    est = inv.tables["sites"]
    classes = classes_for(est["basis"], est["route"])
    drawing = area_map(sites, classes, water=water)
    groups = area_groups(sites, classes)
    small = [(name, area_map(part, cls, water=water, width=250, height=160, legend=False))
             for name, part, cls in groups] if len(groups) > 1 else []
    when = (generated or date.today()).isoformat()
    note = SYNTHETIC_NOTE if synthetic or "SYNTHETIC" in data_source else ""
    with atomic_path(path) as tmp:
        if suffix == ".pdf":
            _pdf(inv, tmp, drawing, when, data_source, small, note)
        else:
            tmp.write_text(report_html(inv, map_svg(drawing), when, data_source,
                                       [(n, map_svg(d)) for n, d in small], note), encoding="utf-8")
    return path


def _pdf(inv: Inventory, path: Path, drawing: object, when: str, data_source: str,
         per_area: list[tuple[str, object]], note: str = "") -> None:
    styles = stylesheet()
    small = styles["BodyText"].clone("small", fontSize=7, leading=8.5)
    doc = SimpleDocTemplate(str(path), pagesize=landscape(A4), leftMargin=12 * mm,
                            rightMargin=12 * mm, topMargin=12 * mm, bottomMargin=12 * mm,
                            title=f"Mercury inventory: {inv.area}", author="HgWatch")
    story: list[object] = [
        paragraph(f"Mercury inventory: {clip(inv.area, LINE_CHARS)}", styles["Title"]),
        paragraph(f"{dates_line(inv, when)} Factors: {factor_file(inv)}.", styles["BodyText"]),
    ]
    if note:
        story.insert(1, Paragraph(f"<b>{escape(note)}</b>", styles["BodyText"]))
    story += [paragraph(line, styles["BodyText"]) for line in summary_lines(inv)]
    story += [Spacer(1, 4 * mm), drawing, Spacer(1, 4 * mm)]
    if per_area:
        story.append(Paragraph("A small map per area (legend as above)", styles["Heading3"]))
        cells = [[paragraph(clip(name, LINE_CHARS), styles["BodyText"]), d]
                 for name, d in per_area]
        rows = [cells[i:i + 3] + [""] * (3 - len(cells[i:i + 3])) for i in range(0, len(cells), 3)]
        story.append(Table(rows, colWidths=[doc.width / 3] * 3))
    for name in _shown(inv):
        story += _pdf_table(TABLE_TITLES[name], _printed(name, inv.tables[name]), styles, small,
                            doc.width)
    for title, table in unit_tables(inv):
        story += _pdf_table(title, table, styles, small, doc.width)
    if len(inv.tables.get("inspection", ())):  # issue 12: cases per area (services.inspection)
        story += _pdf_table(TABLE_TITLES["inspection"], inv.tables["inspection"], styles, small, doc.width)
    story.append(Paragraph("Assumptions", styles["Heading2"]))
    story += [paragraph(f"- {a}", styles["BodyText"]) for a in assumptions(inv.factors)]
    story.append(Paragraph("Sources", styles["Heading2"]))
    sources = [f"Sites: {data_source or 'workspace'}.",
               f"Factors: {factor_file(inv)}.",
               *{f"{p.source}: {p.method}" for p in inv.factors.published},
               *{t.source for t in inv.factors.targets}]
    story += [paragraph(s, small) for s in sources]
    story += _pdf_table(TABLE_TITLES["factors"], inv.tables["factors"], styles, small, doc.width)
    story.append(PageBreak())
    sites = inv.tables["sites"]
    story += _pdf_table(TABLE_TITLES["sites"], _printed("sites", sites.head(MAX_SITE_ROWS)), styles, small,
                        doc.width)
    if len(sites) > MAX_SITE_ROWS:
        story.append(Paragraph(escape(f"First {MAX_SITE_ROWS} of {len(sites)} sites; the CSV "
                                      "export holds them all."), small))
    doc.build(story)


def _pdf_table(title: str, table: pd.DataFrame, styles: object, small: object,
               width: float) -> list[object]:
    """A titled table ``width`` points wide; long cells cut (``CELL_CHARS``) and wrapped."""
    head = [paragraph(clip(str(c), CELL_CHARS), small, bold=True) for c in table.columns]
    body = [[paragraph(clip(fmt(v), CELL_CHARS), small) for v in row]
            for row in table.itertuples(index=False)]
    grid = LongTable([head] + body, repeatRows=1, colWidths=column_widths(table, width))
    grid.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 2), ("RIGHTPADDING", (0, 0), (-1, -1), 2),
    ]))
    heading = styles["Heading3"]  # type: ignore[index]
    return [paragraph(title, heading), grid, Spacer(1, 3 * mm)]


def report_html(inv: Inventory, svg: str, when: str, data_source: str = "",
                small: list[tuple[str, str]] | None = None, note: str = "") -> str:
    """The report as one self-contained HTML page; every value is escaped. ``note``: a warning shown
    under the title (``SYNTHETIC_NOTE``)."""
    e = html.escape
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{e('Mercury inventory: ' + inv.area)}</title>",
        "<style>body{font-family:sans-serif;margin:2em;max-width:1200px}"
        "table{border-collapse:collapse;font-size:12px;margin-bottom:1em}"
        "td,th{border:1px solid #bbb;padding:2px 5px;text-align:left;overflow-wrap:anywhere}"
        "h1,p,li,figcaption{overflow-wrap:anywhere}"
        "th{background:#eee}@media print{.pb{page-break-before:always}}</style></head><body>",
        f"<h1>{e('Mercury inventory: ' + inv.area)}</h1>",
        f"<p><strong>{e(note)}</strong></p>" if note else "",
        f"<p>{e(dates_line(inv, when))}</p>",
        *[f"<p>{e(line)}</p>" for line in summary_lines(inv)],
        f"<figure>{svg[svg.find('<svg'):]}<figcaption>Sites by release route, with legend, "
        "scale bar (WGS84 ellipsoid) and north arrow.</figcaption></figure>",
    ]
    if small:
        parts.append("<h3>A small map per area (legend as above)</h3><div style='display:flex;"
                     "flex-wrap:wrap;gap:1em'>")
        parts += [f"<figure>{s[s.find('<svg'):]}<figcaption>{e(name)}</figcaption></figure>"
                  for name, s in small]
        parts.append("</div>")
    for name in _shown(inv):
        parts.append(_html_table(TABLE_TITLES[name], _printed(name, inv.tables[name])))
    parts += [_html_table(title, table) for title, table in unit_tables(inv)]
    if len(inv.tables.get("inspection", ())):  # issue 12: cases per area (services.inspection)
        parts.append(_html_table(TABLE_TITLES["inspection"], inv.tables["inspection"]))
    parts.append("<h2>Assumptions</h2><ul>")
    parts += [f"<li>{e(a)}</li>" for a in assumptions(inv.factors)]
    parts.append("</ul><h2>Sources</h2><ul>")
    parts.append(f"<li>{e('Sites: ' + (data_source or 'workspace'))}</li>")
    parts.append(f"<li>{e('Factors: ' + factor_file(inv))}</li>")
    parts += [f"<li>{e(p.source + ': ' + p.method)}</li>" for p in inv.factors.published]
    parts += [f"<li>{e(t.source)}</li>" for t in inv.factors.targets]
    parts.append("</ul>")
    parts.append(_html_table(TABLE_TITLES["factors"], inv.tables["factors"]))
    parts.append("<div class='pb'></div>")
    parts.append(_html_table(TABLE_TITLES["sites"], _printed("sites", inv.tables["sites"])))
    parts.append("</body></html>")
    return "\n".join(parts)


def _html_table(title: str, table: pd.DataFrame) -> str:
    e = html.escape
    head = "".join(f"<th>{e(str(c))}</th>" for c in table.columns)
    rows = "".join("<tr>" + "".join(f"<td>{e(fmt(v))}</td>" for v in row) + "</tr>"
                   for row in table.itertuples(index=False))
    return f"<h2>{e(title)}</h2><table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def report_bytes(inv: Inventory, suffix: str, *, sites: gpd.GeoDataFrame,
                 water: gpd.GeoDataFrame | None = None, data_source: str = "", synthetic: bool = False) -> bytes:
    """The report as bytes (``suffix`` ".pdf" or ".html"), for a download button."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = write_report(inv, Path(folder) / f"report{suffix}", sites=sites, water=water,
                            data_source=data_source, synthetic=synthetic)
        return path.read_bytes()
