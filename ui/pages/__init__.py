"""One Streamlit page per file, listed in ``app.py``: widgets and drawing only."""
