"""The dashboard as ``python -m ui.launcher`` serves it: the Streamlit script (``app.py``, or the one
``$HGWATCH_MAIN_SCRIPT`` names) as a ``streamlit.App``, behind ``ui.gate.Gate`` (no ``/_stcore/metrics``
for anyone). ``streamlit run served_app.py`` serves it the same way. It sits beside ``app.py`` so that
Streamlit reads the same ``.streamlit/config.toml`` (the main script's folder's) as for ``app.py``.
"""
from __future__ import annotations

import os

import streamlit as st
from starlette.middleware import Middleware

from ui.gate import Gate

app = st.App(os.environ.get("HGWATCH_MAIN_SCRIPT") or "app.py", middleware=[Middleware(Gate)])
