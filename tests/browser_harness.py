"""Start the app on a free localhost port and drive headless Chromium with the network cut to
loopback. Shared by the tests/test_browser*.py modules and benchmarks/bench_map.py.
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
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from urllib.parse import urlparse

from playwright.sync_api import Browser, Frame, FrameLocator, Page, Playwright, Route

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


@dataclass
class Server:
    """One ``streamlit run`` process on a free port, its stdout and stderr kept in files (a full
    pipe would stall the server)."""

    proc: subprocess.Popen[str]
    url: str
    out: IO[str]
    err: IO[str]

    def stderr(self) -> str:
        """Everything the server wrote to stderr so far (Streamlit's log goes there)."""
        self.err.flush()
        self.err.seek(0)
        return self.err.read()

    def wait_ready(self, timeout_s: float = 90) -> None:
        """Block until ``/_stcore/health`` answers 200 (this runs no page script)."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"streamlit did not start:\n{self.stderr()[-3000:]}")
            time.sleep(0.3)

    def stop(self) -> None:
        """Terminate the server (kill it after 10 s) and close its log files."""
        if os.environ.get("HGW_SHOW_SERVER_LOG"):
            print(self.stderr()[-5000:])
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.out.close()
        self.err.close()


def start_server(script: str = "app.py", *, env: dict[str, str] | None = None,
                 cwd: Path = ROOT) -> Server:
    """Start ``streamlit run script`` in ``cwd`` (whose ``.streamlit/config.toml`` applies) and
    return at once; call ``wait_ready`` before the first request."""
    port = free_port()
    # as ``cli.py serve`` starts it: through ui/launcher.py (the first page's modules imported while
    # the first browser loads), when the tree whose code runs (first on $PYTHONPATH, else ``cwd``)
    # has one; another tree without it (a benchmark's before-tree) runs ``streamlit run`` as it did
    tree = Path((env or {}).get("PYTHONPATH", os.environ.get("PYTHONPATH", "")).split(os.pathsep)[0] or cwd)
    run = ["-m", "ui.launcher"] if (tree / "ui" / "launcher.py").is_file() else ["-m", "streamlit", "run"]
    cmd = [sys.executable, *run, script, "--server.port", str(port),
           "--server.address", "127.0.0.1", "--server.headless", "true",
           "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
    out, err = tempfile.TemporaryFile(mode="w+"), tempfile.TemporaryFile(mode="w+")
    proc = subprocess.Popen(cmd, cwd=cwd, env={**os.environ, **(env or {})},
                            stdout=out, stderr=err, text=True)
    return Server(proc, f"http://127.0.0.1:{port}", out, err)


@contextlib.contextmanager
def running_servers(count: int, script: str = "app.py", *, env: dict[str, str] | None = None,
                    cwd: Path = ROOT, timeout_s: float = 90) -> Iterator[Sequence[Server]]:
    """``count`` fresh servers of ``script``, started together; all stopped afterwards."""
    servers: list[Server] = []
    try:
        for _ in range(count):
            servers.append(start_server(script, env=env, cwd=cwd))
        for server in servers:
            server.wait_ready(timeout_s)
        yield servers
    finally:
        for server in servers:
            server.stop()


@contextlib.contextmanager
def running_app(script: str = "app.py", *, env: dict[str, str] | None = None,
                timeout_s: float = 90) -> Iterator[str]:
    """``streamlit run script`` on a free port; yields its base URL and stops it afterwards."""
    with running_servers(1, script, env=env, timeout_s=timeout_s) as (server,):
        yield server.url


@dataclass
class NetLog:
    """Every request the page made: allowed (loopback) and blocked (anything else)."""

    allowed: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    bytes_in: int = 0

    def route(self, route: Route) -> None:
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


def launch(playwright: Playwright) -> Browser:
    """Headless Debian Chromium through Playwright."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                      headless=True)


def map_frame(page: Page, timeout_ms: int = 60_000) -> FrameLocator:
    """The streamlit-folium iframe once Leaflet has drawn in it."""
    page.wait_for_selector("iframe[title='streamlit_folium.st_folium']", timeout=timeout_ms)
    frame = page.frame_locator("iframe[title='streamlit_folium.st_folium']").first
    frame.locator(".leaflet-container").wait_for(timeout=timeout_ms)
    return frame


def wait_idle(page: Page, timeout_ms: int = 120_000) -> None:
    """Wait until the page's script run has finished: the app is connected, the script is not
    running and a heading or an exception is on the page."""
    page.wait_for_function("""() => {
        const app = document.querySelector('[data-testid="stApp"]');
        return !!app && app.dataset.testScriptState === 'notRunning'
            && !!document.querySelector('h1, [data-testid="stException"]'); }""",
                           timeout=timeout_ms)


def tiles_drawn(frame: Frame, timeout_ms: int = 60_000) -> list[str]:
    """Wait until every vector-tile layer on the map (``render.map.vectortiles``) has drawn the
    tiles in view; returns their archive layer names (empty when the map has none)."""
    frame.wait_for_function("""() => { if (!window.map_div || !map_div.eachLayer) return false; let all = true;
        map_div.eachLayer(l => { if (l.hgwCfg && !l.hgwDrawn) all = false; }); return all; }""",
                            timeout=timeout_ms)
    return list(frame.evaluate("""() => { const out = [];
        map_div.eachLayer(l => { if (l.hgwCfg) out.push(l.hgwCfg.layer); }); return out; }"""))
