"""QGIS, headless, doing what a GIS officer does with an HgWatch store: a script run with Debian's
own Python (``/usr/bin/python3``, where ``python3-qgis`` installs ``qgis.core``), NOT a test module
and not the project's venv. ``tests/test_qgis.py`` runs it with ``subprocess``.

It takes one JSON job (argv[1], else stdin) and prints one JSON answer line on stdout. The job::

    {"layers": [{"ogr": "/path/ws.gpkg|layername=mining_sites",                  # a GeoPackage layer, or
                 "postgres": "dbname='hgw' host=/tmp/x port=5432 user='me' key='fid' srid=4326 type=Point"
                             " table=\"public\".\"mining_sites\" (geom)",         # a QgsDataSourceUri
                 "id_field": "site_id",   # the attribute that names a feature in "wkt" and "edits"
                 "wkt": ["S1"],           # report the geometry of these features as WKT
                 "edits": [{"op": "set", "id": "S1", "field": "name", "value": "x"},
                           {"op": "move", "id": "S1", "wkt": "POINT (-1.95 5.35)"},
                           {"op": "add", "values": {"site_id": "S9"}, "wkt": "POINT (0 0)"},
                           {"op": "delete", "id": "S2"}],   # one edit session
                 "commit": "now"},        # save at once (after the hold, again if that failed);
                                          # "later": edit now, save after the hold;
                                          # "edit later": edit and save after the hold
     "hold": false}                       # true: keep QGIS open after the answer until a line comes on stdin

The answer, per layer in order: ``valid`` (the provider opened it; else ``log``, QGIS's messages),
``count`` (the provider's feature count), ``fields`` (field names as QGIS lists them), ``crs``
(authid), ``wkt`` (id -> WKT), ``values`` (every attribute value of every feature as a string,
read before the edits: what a user of the layer gets), and for a layer saved at once ``commit``
(what ``commitChanges`` returned) and ``errors`` (QGIS's commit messages, the provider's errors).
Every layer stays open until the job is done, as in a QGIS project.
"""
from __future__ import annotations

import json
import os
import sys
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from qgis.core import (  # the platform is set above, before Qt loads
    QgsApplication,
    QgsFeature,
    QgsFeatureRequest,
    QgsGeometry,
    QgsVectorLayer,
)

LOG: list[str] = []  # what QGIS wrote to its message log (why a layer is invalid, for one)


def _text(value: Any) -> str | None:
    """An attribute value as a string (None for NULL), whatever type QGIS gives it."""
    if value is None or (hasattr(value, "isNull") and value.isNull()):
        return None
    if hasattr(value, "toString") and not isinstance(value, str):
        return str(value.toString())
    return str(value)


def _feature_ids(layer: QgsVectorLayer, id_field: str) -> dict[str, int]:
    """Attribute ``id_field`` -> QGIS feature id, for every feature."""
    index = layer.fields().indexOf(id_field)
    if index < 0:
        return {}
    request = QgsFeatureRequest().setFlags(QgsFeatureRequest.NoGeometry).setSubsetOfAttributes([index])
    return {str(f.attribute(index)): f.id() for f in layer.getFeatures(request)}


def _edit(layer: QgsVectorLayer, edits: list[dict[str, Any]], ids: dict[str, int]) -> None:
    """Apply ``edits`` in the open edit session of ``layer``, as the attribute table and the node tool do."""
    names = layer.fields().names()
    for edit in edits:
        op = edit["op"]
        if op == "set":
            layer.changeAttributeValue(ids[edit["id"]], names.index(edit["field"]), edit["value"])
        elif op == "move":
            layer.changeGeometry(ids[edit["id"]], QgsGeometry.fromWkt(edit["wkt"]))
        elif op == "add":
            feature = QgsFeature(layer.fields())
            for field, value in edit["values"].items():
                feature.setAttribute(names.index(field), value)
            feature.setGeometry(QgsGeometry.fromWkt(edit["wkt"]))
            layer.addFeature(feature)
        elif op == "delete":
            layer.deleteFeature(ids[edit["id"]])
        else:
            raise ValueError(f"unknown edit op {op!r}: expected set, move, add or delete")


def _commit(layer: QgsVectorLayer) -> dict[str, Any]:
    """Save the open edit session of ``layer`` (QGIS's *Save Layer Edits*): the result and the messages."""
    done = {"commit": bool(layer.commitChanges()), "errors": list(layer.commitErrors())}
    provider = layer.dataProvider()
    if provider.hasErrors():
        done["errors"] += list(provider.errors())
    return done


def run_layer(job: dict[str, Any]) -> tuple[dict[str, Any], QgsVectorLayer | None]:
    """Open one layer of the job, report it and make its edits (unless ``"commit": "edit later"``);
    save them unless ``"commit"`` is ``"later"`` or ``"edit later"``. Returns the answer and the
    layer (kept open: QGIS holds a layer while its project is open)."""
    LOG.clear()
    provider = "ogr" if "ogr" in job else "postgres"
    layer = QgsVectorLayer(job[provider], "layer", provider)
    if not layer.isValid():  # (asking an invalid postgres layer or its provider for its error crashes QGIS 3.22)
        return {"valid": False, "log": list(LOG)}, None
    id_field = job.get("id_field", "")
    ids = job["ids"] = _feature_ids(layer, id_field) if id_field else {}
    wkt = {name: layer.getFeature(ids[name]).geometry().asWkt() for name in job.get("wkt", [])}
    values = [[_text(v) for v in f.attributes()] for f in layer.getFeatures()]
    answer: dict[str, Any] = {"valid": True, "count": layer.featureCount(), "fields": layer.fields().names(),
                              "crs": layer.crs().authid(), "wkt": wkt, "values": values}
    if job.get("edits") and job.get("commit") != "edit later":
        layer.startEditing()
        _edit(layer, job["edits"], ids)
        if job.get("commit", "now") == "now":
            answer.update(_commit(layer))
    return answer, layer


def later(job: dict[str, Any], layer: QgsVectorLayer) -> dict[str, Any]:
    """What a layer still being edited does after the hold (its save was left for later, or failed:
    the user saves again), or one left to ``"edit later"``: its edits by the ids read when it was
    opened (as a QGIS user edits what the open layer shows), then the save."""
    if job.get("commit") == "edit later":
        layer.startEditing()
        _edit(layer, job["edits"], job["ids"])
    return _commit(layer)


def main() -> int:
    """Run the job (argv[1], else stdin). With ``"hold": true`` the answer is printed, then QGIS
    waits for a line on stdin with every layer open, then saves the layers still being edited and
    edits and saves those left for later (``later``), and prints their results as a second line
    ``{"later": [...]}``."""
    job = json.loads(sys.argv[1]) if len(sys.argv) > 1 else json.load(sys.stdin)
    app = QgsApplication([], False)
    app.initQgis()
    QgsApplication.messageLog().messageReceived.connect(lambda message, tag, _level: LOG.append(f"{tag}: {message}"))
    try:
        done = [run_layer(one) for one in job["layers"]]
        print(json.dumps({"layers": [answer for answer, _ in done]}), flush=True)
        if job.get("hold"):
            sys.stdin.readline()
            saved = [later(one, layer) for (_, layer), one in zip(done, job["layers"])
                     if layer is not None and one.get("edits") and (layer.isEditable() or one["commit"] == "edit later")]
            print(json.dumps({"later": saved}), flush=True)
        del done
    finally:
        app.exitQgis()
    return 0


if __name__ == "__main__":
    sys.exit(main())
