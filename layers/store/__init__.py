"""The store: the workspace GeoPackage and the guards around it.

``workspace.Workspace`` reads and writes it; ``files`` resolves its path, refuses what is not a
GeoPackage and removes stray temporary copies; ``gpkg`` counts, appends and writes tables inside
it and holds ``Replacement`` / ``ReplaceRefused``, the check against replacing most of a layer.
"""
