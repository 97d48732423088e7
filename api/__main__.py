"""Serve the partner API: ``python -m api [--host 127.0.0.1] [--port 8502] [--url URL]``.

The store is the one the app reads ($HGWATCH_DATABASE_URL, else $HGWATCH_WORKSPACE, else the demo);
``--workspace`` / ``--database-url`` choose another. The server's log (errors, with the reason of any
500 or 503, and HgWatch's warnings) goes to stderr; pygeoapi would otherwise send it to stdout. Once it
listens, the server logs the address, the store, the collections served, those served to no key, and the
number of valid keys of each role (``api.app.started``; never a key).
"""
from __future__ import annotations

import argparse
import logging
import socket
import sys

import uvicorn

from api.app import HOST, PORT, KeyGate, create_app, started
from geo.errors import HgWatchError
from settings import Settings

STARTED = "hgwatch.api.started"  # the logger of the lines logged once the server listens (level INFO)


class _Server(uvicorn.Server):
    """uvicorn's server, which logs where it listens, the collections and the keys by role once it does
    (``api.app.started``): at the level uvicorn runs at here it says nothing of that."""

    def __init__(self, config: uvicorn.Config, gate: KeyGate) -> None:
        super().__init__(config)
        self.gate = gate

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            host = f"[{self.config.host}]" if ":" in self.config.host else self.config.host
            try:
                said = started(self.gate, f"http://{host}:{self.config.port}")
            except Exception:  # the server serves on: what it could not say is logged
                logging.getLogger(STARTED).exception("the server listens on %s:%s; the start could not be described",
                                                     host, self.config.port)
                return
            for line in said.splitlines():
                logging.getLogger(STARTED).info("%s", line)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        await super().shutdown(sockets)
        # the audit rows still queued and the keys' last uses noted: written here, because once ``serve()``
        # ends uvicorn raises the SIGTERM or SIGINT it caught again, and the process ends before ``main``'s
        # ``finally`` runs (the uses noted since a key's last write were lost at every stop)
        self.gate.close()


def _port(text: str) -> int:
    """A port number 1-65535 (``--port 99999`` ended in uvicorn's OverflowError traceback, after the start)."""
    value = int(text) if text.isascii() and text.isdigit() and len(text) <= 5 else -1
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a port number 1-65535")
    return value


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and serve until stopped; a store that cannot be read is a message, exit 2."""
    parser = argparse.ArgumentParser(prog="python -m api", description="HgWatch partner API (OGC API - Features)")
    parser.add_argument("--host", default=HOST, help=f"address to listen on (default {HOST})")
    parser.add_argument("--port", type=_port, default=PORT, help=f"port, 1-65535 (default {PORT})")
    parser.add_argument("--url", help="the public URL the links point at (default http://HOST:PORT)")
    parser.add_argument("--workspace", help="workspace GeoPackage (default: $HGWATCH_WORKSPACE or the demo)")
    parser.add_argument("--database-url", metavar="URL", help="PostGIS store (default: $HGWATCH_DATABASE_URL)")
    args = parser.parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=logging.ERROR,  # pygeoapi's level; its own basicConfig is then a no-op
                        format="[%(asctime)s] %(name)s %(levelname)s - %(message)s")
    logging.getLogger("hgwatch").setLevel(logging.WARNING)
    try:
        settings = Settings.from_env(None, database_url=args.database_url, workspace=args.workspace)
        app = create_app(settings, host=args.host, port=args.port, url=args.url)
    except HgWatchError as exc:
        print(f"hgwatch api: {exc}", file=sys.stderr)
        return 2
    logging.getLogger(STARTED).setLevel(logging.INFO)
    server = _Server(uvicorn.Config(app, host=args.host, port=args.port, log_level="warning", access_log=False,
                                    lifespan="off"), app)
    try:
        server.run()
    finally:
        app.close()  # the audit rows still queued, when the server ended without a signal (closing twice is harmless)
    return 0 if server.started else 3  # (uvicorn's exit code when it could not start: the port taken, say)


if __name__ == "__main__":
    sys.exit(main())
