"""The service layer: what both faces (``cli.py`` and the dashboard in ``ui/``) ask of HgWatch.

``services.hgwatch.HgWatch`` opens the workspace with a ``settings.Settings`` and answers; its
caches live there, once. The other modules are the steps it runs: ``view`` (filters, what-if
rules, headline), ``checks`` (recorded rule runs and their diff), ``people``, ``exposure`` and
``contamination`` (overlays), ``workbench`` (the violations table), ``imports`` and ``exports``
(files in and out) and ``arguments`` (the one ``KEY=VALUE`` parser). No Streamlit here.
"""
