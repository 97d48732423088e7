"""The dashboard's HTTP gate: Streamlit endpoints that answer anyone, signed in or not, and that
HgWatch does not need, are not served.

Streamlit 1.67 serves ``/_stcore/metrics`` (OpenMetrics) to any client: the number of open sessions,
connects and time spent (how many people use the dashboard, and when), the ``st.cache_*`` functions by
module and name with their sizes, and with ``server.unsafeMetricsUserAttributes`` the users' e-mails.
No Streamlit option turns it off, and HgWatch's sign-in lives inside a session's websocket, so no HTTP
request carries a credential to check: the gate answers 404 to every client (Prometheus has nothing to
scrape here). It is the ``middleware`` of a ``streamlit.App`` (``served_app.py``), Streamlit's own
way to put middleware in front of its routes; ``python -m ui.launcher`` (``make run``, ``cli.py
serve``, the browser tests) serves the dashboard through it. ``streamlit run app.py`` alone does not.
"""
from __future__ import annotations

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

CLOSED = ("/_stcore/metrics",)  # paths (under any base URL path) answered 404, every method


def closed(path: str) -> bool:
    """True when ``path`` (a request's decoded path) is one of ``CLOSED``, under any base URL path and
    with or without a trailing slash."""
    bare = "/" + path.strip("/")
    return any(bare == p or bare.endswith(p) for p in CLOSED)


class Gate:
    """ASGI middleware: 404 for ``CLOSED`` paths (nothing of the app is read), the rest passed on."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and closed(str(scope.get("path", ""))):
            await PlainTextResponse("Not Found", status_code=404)(scope, receive, send)
            return
        await self.app(scope, receive, send)
