"""Issue 15 in a real browser (Chromium through Playwright, network cut to loopback): a partner
signs in, opens every page offered (the Registers page among them) and downloads everything, and
no mercury trade record, no miner's personal field and no trace of the wholly restricted layer
reaches it: every websocket frame, HTTP response and download is scanned for the values planted
in them, for the restricted field names and for the layer's name and title. An analyst making
the same tour under the internal profile receives them, so the scan is not vacuous.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from layers.catalogue import spec_for
from layers.store.workspace import DEFAULT_PATH, Workspace
from tests.browser_harness import CHROMIUM, NetLog, launch, running_app
from tests.test_browser_roles import MARK, Seen, _planted_demo, _tour

PLANTED = {"mercury_trade": ("record_id", "place", "seller", "buyer"), "miners": spec_for("miners").restricted_fields,
           "licences": spec_for("licences").restricted_fields}
NAMES = (b"mercury_trade", b"Mercury trade", b"certificate_no", b"age_band")  # never shown to a partner at all
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists() or not DEFAULT_PATH.exists(),
                                reason="needs /usr/bin/chromium and the demo workspace (run `make test`)")


def _plant(ws: Path) -> None:
    """Every value of the trade records' text fields, the miners' personal fields and the licence
    holders carries ``MARK``."""
    store = Workspace(ws)
    for layer, fields in PLANTED.items():
        gdf = store.read(layer)
        for name in fields:
            gdf[name] = [f"{MARK.decode()}-{layer}-{name}-{i}" for i in range(len(gdf))]
        store.write_layer(layer, gdf, source=f"{layer} with planted values", replace_all=True)


def _names(seen: Seen) -> list[str]:
    """Where a restricted field name or the closed layer's name or title was received."""
    received = {**{f"websocket frame {i}": f for i, f in enumerate(seen.frames)},
                **{f"HTTP response {i}": b for i, b in enumerate(seen.bodies)},
                **{f"download {n}": b for n, b in seen.downloads.items()}}
    return [f"{where}: {name.decode()}" for where, data in received.items() for name in NAMES if name in data]


def test_a_partner_gets_no_trade_record_personal_field_or_restricted_layer_and_an_analyst_does(tmp_path: Path) -> None:
    ws = _planted_demo(tmp_path, _plant)
    with running_app(env={"HGWATCH_WORKSPACE": str(ws)}) as url, sync_playwright() as p:
        browser = launch(p)
        net = NetLog()
        page = browser.new_context(accept_downloads=True).new_page()
        page.route("**/*", net.route)
        partner, seen_partner = _tour(page, url, "pat", internal=False)
        page.context.close()
        page = browser.new_context(accept_downloads=True).new_page()
        page.route("**/*", net.route)
        analyst, seen_analyst = _tour(page, url, "ana", internal=True)
        browser.close()
    assert "Registers" in seen_partner and "Registers" in seen_analyst
    assert len(partner.frames) > 20 and len(partner.downloads) >= 3  # the scan had something to scan
    assert not partner.leaks(), partner.leaks()[:20]
    assert not _names(partner), _names(partner)[:20]
    # the analyst received the trade records and the miners' register on a page, and in a download
    assert any(n.startswith("websocket") for n in analyst.leaks()), analyst.leaks()[:20]
    assert any(n.startswith("download") for n in analyst.leaks()), analyst.leaks()[:20]
    assert any("mercury_trade" in n or "Mercury trade" in n for n in _names(analyst))
