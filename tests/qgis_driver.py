"""QGIS, headless, doing what a GIS officer does with an HgWatch store: a script run with Debian's
own Python (``/usr/bin/python3``, where ``python3-qgis`` installs ``qgis.core``), NOT a test module
and not the project's venv. ``tests/test_qgis.py`` runs it with ``subprocess``.

It takes one JSON job (argv[1], else stdin) and prints one JSON answer line on stdout. The job::

    {"layers": [{"ogr": "/path/ws.gpkg|layername=mining_sites",                  # a GeoPackage layer, or
                 "postgres": "dbname='hgw' host=/tmp/x port=5432 user='me' key='fid' srid=4326 type=Point"
                             " table=\"public\".\"mining_sites\" (geom)",         # a QgsDataSourceUri
                 "id_field": "site_id",   # the attribute that names a feature in "wkt" and "edits"
                 "wkt": ["S1"],           # report the geometry of these features as WKT ("*": of every one)
                 "edits": [{"op": "set", "id": "S1", "field": "name", "value": "x"},
                           {"op": "move", "id": "S1", "wkt": "POINT (-1.95 5.35)"},
                           {"op": "add", "values": {"site_id": "S9"}, "wkt": "POINT (0 0)"},
                           {"op": "delete", "id": "S2"}],   # one edit session
                 "commit": "now"},        # save at once (after the hold, again if that failed);
                                          # "later": edit now, save after the hold;
                                          # "edit later": edit and save after the hold
     "hold": false}                       # true: keep QGIS open after the answer until a line comes on stdin

A layer may also be ``{"oapif": "url='http://HOST:PORT/' typename='mining_sites' authcfg={authcfg}"}``,
an OGC API - Features collection (QGIS's OAPIF provider), with ``"extent": [xmin, ymin, xmax, ymax]``:
the features in a rectangle asked for first, as a map canvas does (answer ``extent``: their
``id_field`` values), and ``"subset": "QGIS expression"``: the layer's filter, set after the rest is
read (answer ``subset``: the ``id_field`` values of the features it then gives).

A job may carry ``"auth": {"method": "Basic", "username": "unep", "password": "KEY"}``: an
authentication configuration made as QGIS's Authentication dialog makes it (in the auth database of
``$QGIS_AUTH_DB_DIR_PATH``), whose id replaces ``{authcfg}`` in the layers' sources; and ``"browse":
{"url": "http://HOST:PORT/", "id_fields": {...}, "extent": [...], "wkt": "*", "subsets": {...},
"page_size": 20000}``: a *WFS / OGC API - Features* connection to ``url`` (with that authentication
and, if given, that page size) as the Data Source Manager saves it, its layers listed as QGIS's
browser lists them (answer ``browsed``: name, source and collection id of each), each then opened
from its browser source like the job's own layers (with the extent and ``wkt``, and the subset given
for its collection id), after them in ``layers``.

The answer, per layer in order: ``valid`` (the provider opened it; else ``log``, QGIS's messages),
``count`` (the provider's feature count), ``fields`` (field names as QGIS lists them), ``crs``
(authid), ``box`` (the layer's extent as opened, before a feature is read: xmin, ymin, xmax, ymax),
``wkt`` (id -> WKT), ``values`` (every attribute value of every feature as a string, read before the
edits: what a user of the layer gets), and for a layer saved at once ``commit`` (what
``commitChanges`` returned) and ``errors`` (QGIS's commit messages, the provider's errors). Every
layer stays open until the job is done, as in a QGIS project.
"""
from __future__ import annotations

import json
import os
import sys
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from qgis.core import (  # the platform is set above, before Qt loads
    QgsApplication,
    QgsAuthMethodConfig,
    QgsDataSourceUri,
    QgsFeature,
    QgsFeatureRequest,
    QgsGeometry,
    QgsRectangle,
    QgsSettings,
    QgsVectorLayer,
)
from qgis.PyQt.QtCore import QDate, QDateTime, Qt

LOG: list[str] = []  # what QGIS wrote to its message log (why a layer is invalid, for one)


def _text(value: Any) -> str | None:
    """An attribute value as a string (None for NULL; a date as ISO 8601), whatever type QGIS gives it."""
    if value is None or (hasattr(value, "isNull") and value.isNull()):
        return None
    if isinstance(value, (QDate, QDateTime)):
        return str(value.toString(Qt.ISODate))
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
    provider = next(p for p in ("ogr", "postgres", "oapif") if p in job)
    layer = QgsVectorLayer(job[provider], "layer", "OAPIF" if provider == "oapif" else provider)
    if not layer.isValid():  # (asking an invalid postgres layer or its provider for its error crashes QGIS 3.22)
        return {"valid": False, "log": list(LOG)}, None
    box = layer.extent()  # before any feature is read: what the source declares ("Zoom to Layer")
    id_field = job.get("id_field", "")
    extent: dict[str, Any] = {}
    if "extent" in job:  # first, as a map canvas showing part of the layer asks (QGIS has read nothing of it yet)
        index = layer.fields().indexOf(id_field)
        request = QgsFeatureRequest().setFilterRect(QgsRectangle(*job["extent"]))
        extent["extent"] = sorted(_text(f.attribute(index)) or "" for f in layer.getFeatures(request))
    ids = job["ids"] = _feature_ids(layer, id_field) if id_field else {}
    wkt = {name: layer.getFeature(ids[name]).geometry().asWkt()
           for name in (ids if job.get("wkt") == "*" else job.get("wkt", []))}
    values = [[_text(v) for v in f.attributes()] for f in layer.getFeatures()]
    answer: dict[str, Any] = {"valid": True, "count": layer.featureCount(), "fields": layer.fields().names(),
                              "crs": layer.crs().authid(), "wkt": wkt, "values": values,
                              "box": [box.xMinimum(), box.yMinimum(), box.xMaximum(), box.yMaximum()], **extent}
    if "subset" in job:  # the layer's filter (Layer Properties > Source > Query Builder), then its features again
        assert layer.setSubsetString(job["subset"]), job["subset"]
        index = layer.fields().indexOf(id_field)
        answer["subset"] = sorted(_text(f.attribute(index)) or "" for f in layer.getFeatures())
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


def authentication(method: dict[str, str]) -> str:
    """A new authentication configuration (``method["method"]`` and its settings), as QGIS's
    Authentication dialog stores it; its id."""
    manager = QgsApplication.authManager()
    if not manager.masterPasswordIsSet():
        manager.setMasterPassword("hgwatch-test-master", True)  # a new auth database: this sets its master password
    config = QgsAuthMethodConfig(method["method"])
    config.setName("HgWatch")
    for name, value in method.items():
        if name != "method":
            config.setConfig(name, value)
    stored, config = manager.storeAuthenticationConfig(config)
    if not stored:
        raise RuntimeError(f"QGIS did not store the authentication configuration: {LOG}")
    return str(config.id())


def browse(url: str, authcfg: str, page_size: int | None = None) -> list[dict[str, str]]:
    """A *WFS / OGC API - Features* connection to ``url`` (with the dialog's *Page size* ``page_size``,
    None: left empty) saved as the Data Source Manager saves it, and
    the layers QGIS's browser lists under it: name, source (``uri``) and collection id (``typename``) of
    each, or nothing when it lists none."""
    settings = QgsSettings()
    settings.setValue("qgis/connections-wfs/HgWatch/url", url)
    settings.setValue("qgis/connections-wfs/HgWatch/version", "OGC_API_FEATURES")
    settings.setValue("qgis/WFS/HgWatch/authcfg", authcfg)
    if page_size is not None:
        settings.setValue("qgis/connections-wfs/HgWatch/pagingenabled", "true")
        settings.setValue("qgis/connections-wfs/HgWatch/pagesize", str(page_size))
    root = QgsApplication.dataItemProviderRegistry().provider("WFS").createDataItem("", None)
    connection = next(c for c in root.createChildren() if c.name() == "HgWatch")
    return [{"name": item.name(), "uri": item.uri(), "typename": QgsDataSourceUri(item.uri()).param("typename")}
            for item in connection.createChildren() if item.providerKey() == "OAPIF"]


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
        authcfg = authentication(job["auth"]) if "auth" in job else ""
        layers = [{**one, "oapif": one["oapif"].replace("{authcfg}", authcfg)} if "oapif" in one else one
                  for one in job.get("layers", [])]
        browsed = browse(job["browse"]["url"], authcfg, job["browse"].get("page_size")) if "browse" in job else []
        for item in browsed:
            layers.append({"oapif": item["uri"], "id_field": job["browse"].get("id_fields", {}).get(item["typename"], ""),
                           **({"extent": job["browse"]["extent"]} if "extent" in job["browse"] else {}),
                           **({"wkt": job["browse"]["wkt"]} if "wkt" in job["browse"] else {}),
                           **({"subset": job["browse"]["subsets"][item["typename"]]}
                              if item["typename"] in job["browse"].get("subsets", {}) else {})})
        done = [run_layer(one) for one in layers]
        print(json.dumps({"layers": [answer for answer, _ in done], "browsed": browsed}), flush=True)
        if job.get("hold"):
            sys.stdin.readline()
            saved = [later(one, layer) for (_, layer), one in zip(done, layers)
                     if layer is not None and one.get("edits") and (layer.isEditable() or one["commit"] == "edit later")]
            print(json.dumps({"later": saved}), flush=True)
        del done
    finally:
        app.exitQgis()
    return 0


if __name__ == "__main__":
    sys.exit(main())
