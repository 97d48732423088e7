"""The dashboard face: ``ui.sidebar`` (shared chrome and the one service) and ``ui.pages``."""
