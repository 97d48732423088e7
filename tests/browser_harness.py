"""Start the app on a free localhost port and drive headless Chromium with the network cut to
loopback. Shared by tests/test_browser.py and benchmarks/bench_map.py.
"""
from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
LOCAL_HOSTS = {"localhost", "127.0.0.1", "[::1]", "::1"}


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def running_app(script: str = "app.py", *, env: dict[str, str] | None = None,
                timeout_s: float = 90) -> Iterator[str]:
    """``streamlit run script`` on a free port; yields its base URL and stops it afterwards."""
    port = free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", script, "--server.port", str(port),
           "--server.address", "127.0.0.1", "--server.headless", "true",
           "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
    log = tempfile.TemporaryFile(mode="w+")  # a file, not a pipe: a full pipe stalls the server
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **(env or {})},
                            stdout=log, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                out = log.read()
                raise RuntimeError(f"streamlit did not start:\n{out[-3000:]}")
            time.sleep(0.3)
        yield url
    finally:
        if os.environ.get("HGW_SHOW_SERVER_LOG"):
            log.seek(0)
            print(log.read()[-5000:])
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@dataclass
class NetLog:
    """Every request the page made: allowed (loopback) and blocked (anything else)."""

    allowed: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    bytes_in: int = 0

    def route(self, route) -> None:  # type: ignore[no-untyped-def]
        """Playwright route handler: continue loopback requests, abort and record the rest."""
        url = route.request.url
        host = urlparse(url).hostname or ""
        if url.startswith(("data:", "blob:", "about:")) or host in LOCAL_HOSTS:
            self.allowed.append(url)
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort()


def is_tile(url: str) -> bool:
    """True for a basemap tile request (OpenStreetMap or Esri World Imagery)."""
    host = urlparse(url).hostname or ""
    return host.endswith("tile.openstreetmap.org") or host == "server.arcgisonline.com"


def launch(playwright):  # type: ignore[no-untyped-def]
    """Headless Debian Chromium through Playwright."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                      headless=True)


def map_frame(page, timeout_ms: int = 60_000):  # type: ignore[no-untyped-def]
    """The streamlit-folium iframe once Leaflet has drawn in it."""
    page.wait_for_selector("iframe[title='streamlit_folium.st_folium']", timeout=timeout_ms)
    frame = page.frame_locator("iframe[title='streamlit_folium.st_folium']").first
    frame.locator(".leaflet-container").wait_for(timeout=timeout_ms)
    return frame
