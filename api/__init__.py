"""The partner API face: OGC API - Features (pygeoapi behind an API-key gate), ``python -m api``."""
