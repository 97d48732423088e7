"""serve: the dashboard and the partner API together, one command (``make run``).

Starts ``streamlit run app.py`` (through ``ui/launcher.py``: the first page's modules imported on a
background thread while the first browser loads) and ``python -m api`` as two child processes on the same store
(``--workspace`` / ``--database-url`` reach both through $HGWATCH_WORKSPACE / $HGWATCH_DATABASE_URL),
prints where each listens, and stops both when either stops, on Ctrl-C or on SIGTERM (``docker
stop``). ``streamlit run app.py`` and ``python -m api`` still work on their own.
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

from geo.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
STOP_WAIT_S = 15.0  # how long a child may take to stop before it is killed, seconds


class _Stop(Exception):
    """SIGTERM: stop both children."""


def _on_term(_signum: int, _frame: FrameType | None) -> None:
    raise _Stop


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a port number 1-65535")
    return value


def _children(args: argparse.Namespace) -> list[tuple[str, list[str]]]:
    py = sys.executable
    return [
        ("dashboard", [py, "-m", "ui.launcher", str(ROOT / "app.py"), "--server.headless", "true",
                       "--browser.gatherUsageStats", "false", "--server.address", args.address,
                       "--server.port", str(args.port)]),
        ("API", [py, "-m", "api", "--host", args.address, "--port", str(args.api_port)]),
    ]


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    deadline = time.monotonic() + STOP_WAIT_S
    for proc in procs:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def cmd_serve(args: argparse.Namespace) -> int:
    """Run both until one stops or the launcher is told to stop; exit code: the first child's to stop (0 on Ctrl-C)."""
    if args.port == args.api_port:
        raise InputError(f"--port {args.port} and --api-port {args.api_port}: the dashboard and the API need two ports")
    env = dict(os.environ)
    if args.database_url:
        env["HGWATCH_DATABASE_URL"] = args.database_url
    elif args.workspace:
        env["HGWATCH_WORKSPACE"] = str(Path(args.workspace).resolve())
        env.pop("HGWATCH_DATABASE_URL", None)
    previous = signal.signal(signal.SIGTERM, _on_term)
    procs: list[subprocess.Popen[bytes]] = []
    warm: subprocess.Popen[bytes] | None = None
    try:
        for name, argv in _children(args):
            procs.append(subprocess.Popen(argv, cwd=ROOT, env=env))
            print(f"{name}: pid {procs[-1].pid}", flush=True)
        # the vector tiles of the first map, built in the background (commands/tiles.py; nothing when built before)
        warm = subprocess.Popen([sys.executable, str(ROOT / "cli.py"), "tiles"], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL)
        shown = "localhost" if args.address in ("127.0.0.1", "0.0.0.0") else args.address
        print(f"dashboard: http://{shown}:{args.port}   partner API (OGC API - Features, needs a key):"
              f" http://{shown}:{args.api_port}   Ctrl-C stops both", flush=True)
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
        ended = next(p for p in procs if p.poll() is not None)
        name = _children(args)[procs.index(ended)][0]
        print(f"hgwatch serve: the {name} stopped (exit code {ended.returncode}); stopping the other", file=sys.stderr)
        return int(ended.returncode or 0)
    except (KeyboardInterrupt, _Stop):
        return 0
    finally:
        # a second Ctrl-C or SIGTERM while the children stop (an impatient user, a supervisor that
        # signals again) changes nothing: they are stopping already, killed after STOP_WAIT_S
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        interrupt = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            _stop(procs + ([warm] if warm else []))
        finally:
            signal.signal(signal.SIGTERM, previous)
            signal.signal(signal.SIGINT, interrupt)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="run the dashboard and the partner API together (Ctrl-C stops both)")
    p.add_argument("--address", default="127.0.0.1", help="address both listen on (default 127.0.0.1)")
    p.add_argument("--port", type=_port, default=8501, help="dashboard port (default 8501)")
    p.add_argument("--api-port", type=_port, default=8502, help="partner API port (default 8502)")
    p.set_defaults(func=cmd_serve)
