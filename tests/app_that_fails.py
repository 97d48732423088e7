"""A one-page app that fails on purpose, for tests/test_browser_errors.py: it is run with the
project's own ``.streamlit/config.toml`` to show what a user sees when a page raises."""
from __future__ import annotations

import streamlit as st

SECRET = "/srv/hgwatch/field-office/informants.gpkg"

st.title("A page that fails")
raise RuntimeError(f"could not read {SECRET} row 7")
