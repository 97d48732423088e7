"""KML 2.2 written with an XML library (``xml.etree.ElementTree``), well-formed whatever the data.

GDAL's LIBKML driver writes column names raw into ``<SimpleField name="...">`` and values into
CDATA, so a column named ``a<b`` or a value holding ``]]>`` broke the file. Here every name and
value is an XML attribute or text node, escaped by the library; characters XML 1.0 cannot hold
(control characters other than tab, line feed and carriage return, U+FFFE, U+FFFF) are dropped,
and that is the only loss. A carriage return is written ``&#13;`` so that XML's line-end
normalisation cannot turn it into a line feed.

The layout is the one GDAL's LIBKML driver writes and reads back (``layers.io.readers``): a root
``Document`` with the export's name and description, one ``Schema`` typing every column, and
one ``Document`` per layer holding the placemarks. The ``name`` column is the placemark's
``<name>`` (its label in Google Earth, plain text; GDAL reads it as ``Name``); every other column
is a ``SimpleData`` of the placemark's ``SchemaData``, never the ``<description>``, which Google
Earth renders as HTML. A missing value is left out. GDAL reads a ``SimpleData`` named like one
of its own KML fields (``description``, ``id``, ``timestamp``, ...) back as ``description2``.
"""
from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

NAMESPACE = "http://www.opengis.net/kml/2.2"
LABEL = "name"  # the column written as the placemark's <name>
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_MULTI = ("MultiPoint", "MultiLineString", "MultiPolygon", "GeometryCollection")


def xml_text(value: object) -> str:
    """``value`` as text XML 1.0 can hold: the characters it cannot are dropped."""
    return _ILLEGAL.sub("", str(value))


def kml_bytes(gdf: gpd.GeoDataFrame, layer: str, *, title: str, description: str,
              decimals: int = 7) -> bytes:
    """``gdf`` (EPSG:4326, lon/lat) as a KML document, UTF-8 bytes.

    Parameters
    ----------
    gdf : the features; every column but the geometry is written.
    layer : the name of the layer (the inner ``Document``, the ``Schema``, placemark ids).
    title, description : the document's name and description (profile, sources, licences).
    decimals : decimals of the coordinates, in degrees (7: about 1 cm).
    """
    root = ET.Element("kml", {"xmlns": NAMESPACE})
    doc = ET.SubElement(root, "Document", {"id": "root_doc"})
    ET.SubElement(doc, "name").text = xml_text(title)
    ET.SubElement(doc, "description").text = xml_text(description)
    geometry = gdf.geometry.name
    columns = [c for c in gdf.columns if c != geometry]
    schema_id = f"{layer}.schema"
    schema = ET.SubElement(doc, "Schema", {"name": layer, "id": schema_id})
    data_columns = [c for c in columns if c != LABEL]
    for col in data_columns:
        ET.SubElement(schema, "SimpleField", {"name": xml_text(col), "type": _kml_type(gdf[col])})
    folder = ET.SubElement(doc, "Document", {"id": layer})
    ET.SubElement(folder, "name").text = layer
    records = pd.DataFrame(gdf[columns]).astype(object).to_numpy()
    for number, (values, geom) in enumerate(zip(records, gdf.geometry.to_numpy()), start=1):
        mark = ET.SubElement(folder, "Placemark", {"id": f"{layer}.{number}"})
        row = dict(zip(columns, values))
        if LABEL in row and not _missing(row[LABEL]):
            ET.SubElement(mark, LABEL).text = _text(row[LABEL])
        extended = ET.SubElement(mark, "ExtendedData")
        data = ET.SubElement(extended, "SchemaData", {"schemaUrl": f"#{schema_id}"})
        for col in data_columns:
            if not _missing(row[col]):
                ET.SubElement(data, "SimpleData", {"name": xml_text(col)}).text = _text(row[col])
        if isinstance(geom, BaseGeometry) and not geom.is_empty:
            mark.append(_geometry(geom, decimals))
    ET.indent(root, space=" ")
    text = ET.tostring(root, encoding="unicode", xml_declaration=False)
    # ElementTree escapes a CR in attributes but not in text; raw, a parser would read it as LF.
    text = text.replace("\r", "&#13;")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + text + "\n").encode("utf-8")


def write_kml(gdf: gpd.GeoDataFrame, path: str | Path, layer: str, *, title: str,
              description: str, decimals: int = 7) -> Path:
    """Write ``kml_bytes(...)`` to ``path``; returns the path."""
    path = Path(path)
    path.write_bytes(kml_bytes(gdf, layer, title=title, description=description, decimals=decimals))
    return path


def _kml_type(series: pd.Series) -> str:
    """The KML ``SimpleField`` type of a column: bool, int, double or string."""
    if pd.api.types.is_bool_dtype(series):
        return "bool"
    if pd.api.types.is_integer_dtype(series):
        return "int"
    if pd.api.types.is_float_dtype(series):
        return "double"
    return "string"


def _missing(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float | np.floating) and math.isnan(value)


def _text(value: object) -> str:
    """A cell as KML text: booleans as 1/0 (what GDAL reads back), numbers in full."""
    if isinstance(value, bool | np.bool_):
        return "1" if value else "0"
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return repr(value)
    return xml_text(value)


def _coordinates(coords: np.ndarray, decimals: int) -> ET.Element:
    element = ET.Element("coordinates")
    element.text = " ".join(",".join(_number(v, decimals) for v in xy[:2]) for xy in coords)
    return element


def _number(value: float, decimals: int) -> str:
    text = f"{value:.{decimals}f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _geometry(geom: BaseGeometry, decimals: int) -> ET.Element:
    """One shapely geometry as a KML geometry element (multi-parts as a MultiGeometry)."""
    kind = geom.geom_type
    if kind in _MULTI:
        multi = ET.Element("MultiGeometry")
        for part in shapely.get_parts(geom):
            if not part.is_empty:
                multi.append(_geometry(part, decimals))
        return multi
    if kind == "Point":
        element = ET.Element("Point")
        element.append(_coordinates(np.asarray(geom.coords), decimals))
        return element
    if kind in ("LineString", "LinearRing"):
        element = ET.Element("LineString")
        element.append(_coordinates(np.asarray(geom.coords), decimals))
        return element
    if kind == "Polygon":
        element = ET.Element("Polygon")
        rings = [("outerBoundaryIs", geom.exterior)] + [("innerBoundaryIs", r) for r in geom.interiors]
        for tag, ring in rings:
            boundary = ET.SubElement(element, tag)
            linear = ET.SubElement(boundary, "LinearRing")
            linear.append(_coordinates(np.asarray(ring.coords), decimals))
        return element
    raise ValueError(f"KML cannot hold a {kind}")
