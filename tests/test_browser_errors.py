"""What a user sees when a page raises: a short message naming the error type, no traceback,
no file path, no value; the server's log keeps the whole traceback (.streamlit/config.toml:
``client.showErrorDetails = "type"``). Real Chromium, the project's config directory."""
from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from tests.browser_harness import CHROMIUM, ROOT, launch, running_servers, wait_idle

SCRIPT = "tests/app_that_fails.py"
SECRET = "/srv/hgwatch/field-office/informants.gpkg"  # in the exception's message only
ARTIFACTS = ROOT / "test-artifacts"

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason="needs /usr/bin/chromium (run `make test`)")


def test_uncaught_error_shows_a_short_message_and_logs_the_traceback() -> None:
    with running_servers(1, SCRIPT) as (server,), sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1200, "height": 700})
        page.goto(server.url)
        wait_idle(page)
        page.get_by_role("heading", name="A page that fails").wait_for(timeout=30_000)
        box = page.locator('[data-testid="stException"]')
        assert box.count() == 1
        shown, body = box.inner_text(), page.locator("body").inner_text()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "uncaught_error.png"))
        browser.close()
        deadline = time.monotonic() + 15
        while "RuntimeError" not in server.stderr() and time.monotonic() < deadline:
            time.sleep(0.2)
        log = server.stderr()

    # the user: the error's type and a short pointer to the logs, nothing more
    assert "RuntimeError" in shown and "recorded in the logs" in shown, shown
    assert "Traceback" not in body and "row 7" not in body and SECRET not in body, body
    assert not re.search(r"File \"|line \d+|\.py\b|/work/|/srv/", body), body
    assert "Ask Google" not in body and "Ask ChatGPT" not in body, body
    # the operator: the whole traceback, with the script's file and the message
    assert "Traceback (most recent call last)" in log, log[-2000:]
    assert "app_that_fails.py" in log and f"could not read {SECRET} row 7" in log, log[-2000:]
