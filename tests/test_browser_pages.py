"""Every page of the navigation opened by its URL as the very first request to a freshly
started server, in real Chromium: it renders its own title with the shared sidebar, and no
exception or traceback shows (a legacy ``pages/`` folder once ran the page without the sidebar:
``KeyError: st.session_state has no key "_hgw_view"``). One server per page, started together.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright

from layers.store.workspace import DEFAULT_PATH
from tests.browser_harness import CHROMIUM, ROOT, launch, running_servers, wait_idle

# (URL path, label in the sidebar navigation, the page's own title), in navigation order
PAGES = [
    ("", "Map", "HgWatch: mercury in small-scale gold mining"),
    ("violations", "Violations workbench", "Violations workbench"),
    ("provenance", "Provenance & accuracy", "Provenance & accuracy"),
    ("imports", "Import data", "Import data"),
    ("inventory", "Mercury inventory", "Mercury inventory and National Action Plan tracking"),
    ("overlays", "Contamination overlays", "Contamination overlays and exposure"),
    ("audit", "Audit trail", "Audit trail"),  # local single-user mode acts as an analyst, who may see it
    ("registers", "Registers", "Registers"),
]
ARTIFACTS = ROOT / "test-artifacts"

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists() or not DEFAULT_PATH.exists(),
                                reason="needs /usr/bin/chromium and the demo workspace "
                                       "(run `make test`)")


def _problems(page: Page, url: str, title: str) -> list[str]:
    """What is wrong with ``page``, opened at ``url``, once its first run has finished; one
    line per fault."""
    where = "/" + url.split("/", 3)[-1] if url.count("/") > 2 else "/"
    found: list[str] = []
    if page.url.rstrip("/") != url.rstrip("/"):
        found.append(f"{where}: landed on {page.url}")
    if page.locator('[data-testid="stException"]').count():
        found.append(f"{where}: exception shown: "
                     + page.locator('[data-testid="stException"]').first.inner_text()[:300])
    if "Traceback" in page.locator("body").inner_text():
        found.append(f"{where}: 'Traceback' on the page")
    titles = page.locator("[data-testid='stMain'] h1").all_inner_texts()
    if title not in [t.strip() for t in titles]:
        found.append(f"{where}: title {title!r} missing; main headings {titles}")
    sidebar = page.locator('[data-testid="stSidebar"]')
    nav = sidebar.locator('[data-testid="stSidebarNavLink"]').all_inner_texts()
    if [n.strip() for n in nav] != [p[1] for p in PAGES]:
        found.append(f"{where}: navigation is {nav}, expected {[p[1] for p in PAGES]}")
    heads = [h.strip() for h in sidebar.locator("h1, h2").all_inner_texts()]
    if "HgWatch" not in heads or "Filters" not in heads or "Rules" not in heads:
        found.append(f"{where}: the shared sidebar (HgWatch, Filters, Rules) is missing: {heads}")
    return found


def test_every_page_opens_by_url_on_a_fresh_server(tmp_path: Path) -> None:
    ws = tmp_path / "ws.gpkg"
    shutil.copyfile(DEFAULT_PATH, ws)
    problems: list[str] = []
    with running_servers(len(PAGES), env={"HGWATCH_WORKSPACE": str(ws)}) as servers, \
            sync_playwright() as p:
        browser = launch(p)
        urls = [f"{server.url}/{path}" for server, (path, _, _) in zip(servers, PAGES, strict=True)]
        tabs = []
        for url in urls:
            tab = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            tab.goto(url, wait_until="commit")  # the server's first page request
            tabs.append(tab)
        for tab, url, (_, _, title) in zip(tabs, urls, PAGES, strict=True):
            wait_idle(tab)
            problems += _problems(tab, url, title)
        ARTIFACTS.mkdir(exist_ok=True)
        tabs[1].screenshot(path=str(ARTIFACTS / "first_visit_violations.png"))
        browser.close()
        for server, (path, _, _) in zip(servers, PAGES, strict=True):
            if "Traceback" in server.stderr():
                problems.append(f"/{path}: server log holds a traceback:\n{server.stderr()[-1500:]}")
    assert not problems, "\n".join(problems)
