"""``cli.py serve`` (what ``make run`` runs) starts the dashboard and the partner API with one
command on the same store, and stops both when either dies or when it is interrupted (Ctrl-C)."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api_kit import fill, free_port, get, new_key, open_location
from tests.conftest import ROOT


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as fh:  # a zombie (exited, not yet reaped) is not alive
        return fh.read().split(") ")[1][0] != "Z"


def _up(url: str, key: str | None = None) -> bool:
    try:
        return get(url, key)[0] == 200
    except OSError:  # not listening yet
        return False


@pytest.fixture
def launched(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], dict[str, int], str, str]]:
    """``cli.py --workspace WS serve`` on two free ports; yields (launcher, child pids, API url, key)
    once the dashboard's health check and the API both answer."""
    location = str(tmp_path / "ws.gpkg")
    fill(open_location(location))
    key = new_key(location, "unep")
    port, api_port = free_port(), free_port()
    env = {**os.environ, "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}
    env.pop("HGWATCH_DATABASE_URL", None)
    proc = subprocess.Popen([sys.executable, "cli.py", "--workspace", location, "serve", "--port", str(port),
                             "--api-port", str(api_port)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    pids: dict[str, int] = {}
    try:
        assert proc.stdout is not None
        for _ in range(2):
            name, pid = re.match(r"(\w+): pid (\d+)", proc.stdout.readline()).groups()  # type: ignore[union-attr]
            pids[name] = int(pid)
        api = f"http://127.0.0.1:{api_port}"
        deadline = time.monotonic() + 120
        while not (_up(f"http://127.0.0.1:{port}/_stcore/health") and _up(api + "/collections", key)):
            assert proc.poll() is None and time.monotonic() < deadline, "serve did not come up"
            time.sleep(0.5)
        yield proc, pids, api, key
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=30)
        for pid in pids.values():
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_when_the_api_dies_the_launcher_stops_the_dashboard_too(
        launched: tuple[subprocess.Popen[str], dict[str, int], str, str]) -> None:
    proc, pids, api, key = launched
    assert get(api + "/collections/mining_sites/items", key)[0] == 200  # the same store: the planted sites
    os.kill(pids["API"], signal.SIGKILL)
    assert proc.wait(timeout=60) != 0
    deadline = time.monotonic() + 30
    while _alive(pids["dashboard"]) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _alive(pids["dashboard"])


def test_ctrl_c_stops_both(launched: tuple[subprocess.Popen[str], dict[str, int], str, str]) -> None:
    proc, pids, _, _ = launched
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) == 0
    assert not _alive(pids["API"]) and not _alive(pids["dashboard"])


@pytest.mark.parametrize("signals", [(signal.SIGINT, signal.SIGINT), (signal.SIGTERM, signal.SIGTERM, signal.SIGINT)],
                         ids=["ctrl-c twice", "sigterm twice then ctrl-c"])
def test_a_second_signal_while_stopping_ends_as_the_first_does(
        launched: tuple[subprocess.Popen[str], dict[str, int], str, str], signals: tuple[int, ...]) -> None:
    """An impatient second Ctrl-C, or a supervisor's repeated SIGTERM, arrives while the children stop:
    the launcher still stops both and exits 0, with no traceback (it used to raise inside its cleanup)."""
    proc, pids, _, _ = launched
    for sig in signals:
        proc.send_signal(sig)
        time.sleep(0.2)  # the next one lands while the launcher waits for its children
    assert proc.wait(timeout=60) == 0
    out = proc.stdout.read() if proc.stdout else ""
    assert "Traceback" not in out and "_Stop" not in out and "KeyboardInterrupt" not in out, out
    assert not _alive(pids["API"]) and not _alive(pids["dashboard"])
