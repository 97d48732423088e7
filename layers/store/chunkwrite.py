"""Writing a layer given in chunks of rows into a staging GeoPackage in ONE GDAL session.

Appending chunk after chunk (``gpkg.write_gdf(append=True)``) makes GDAL maintain the layer's
R-tree row by row, which grows slower with the layer (1e7 points: 2.3x the time of one write).
So the chunks go to GDAL as one Arrow stream (``pyogrio.raw.write_arrow``), converted as
``pyogrio.write_dataframe(use_arrow=True)`` converts one frame (geometries as WKB, a column of
nothing but missing values as text), and GDAL builds the R-tree once at the end, as for a
whole-file write: the table reads back the same.

Only chunks whose columns Arrow writes as ``gpkg.write_gdf`` would (``streamable``: text, numbers,
true/false, dates without a time zone) are streamed; a first chunk with anything else is written
chunk by chunk; a later one is refused (nothing stored) rather than written differently.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyarrow as pa
from geopandas.array import to_wkb
from pyogrio.raw import write_arrow

from geo.errors import WorkspaceError
from layers.store import gpkg


def streamable(gdf: gpd.GeoDataFrame) -> bool:
    """True when every column of ``gdf`` converts to Arrow as ``gpkg.write_gdf`` writes it."""
    if not gpkg._arrow_writes_as_text(gdf) or gdf.crs is None or gdf.crs.to_epsg() is None:
        return False
    for name, dtype in gdf.dtypes.items():
        if name != gdf.geometry.name and isinstance(dtype, pd.DatetimeTZDtype):
            return False  # pyogrio writes zoned dates as text with a GDAL type note
    return True


def _table(gdf: gpd.GeoDataFrame) -> pa.Table:
    """``gdf`` as ``pyogrio.write_dataframe(use_arrow=True)`` hands it to GDAL (WKB geometries)."""
    frame = pd.DataFrame(gdf, copy=False)
    frame[gdf.geometry.name] = to_wkb(gdf.geometry.values)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    for index, field in enumerate(table.schema):
        if pa.types.is_null(field.type):  # GDAL has no null type: text, as pyogrio does
            table = table.set_column(index, field.with_type(pa.string()), table[index].cast(pa.string()))
    geom = table.schema.field(gdf.geometry.name)
    if not (pa.types.is_binary(geom.type) or pa.types.is_large_binary(geom.type)):
        table = table.set_column(table.schema.get_field_index(gdf.geometry.name), geom.with_type(pa.binary()),
                                 table[gdf.geometry.name].cast(pa.binary()))
    return table


def write_chunks(stage: Path, layer: str, chunks: Iterable[gpd.GeoDataFrame]) -> int:
    """Write ``chunks`` as table ``layer`` of GeoPackage ``stage``; returns the rows written.

    An exception raised by ``chunks`` reaches the caller, on the Arrow path wrapped by pyogrio in a
    RuntimeError ("Error while accessing batch from stream"): the caller
    (``layers.store.workspace.Workspace.write_layer_chunks``) keeps what ``chunks`` raised and raises
    that again, and deletes ``stage``. A file with no
    chunk at all is refused: there is no column to create the layer from.
    """
    items = iter(chunks)
    first = next(items, None)
    if first is None:
        raise WorkspaceError(f"{layer}: the file holds no records to store")
    if not streamable(first):
        return _one_by_one(stage, layer, first, items)
    table = _table(first)
    schema = table.schema
    counted = [len(first)]

    def batches() -> Iterator[pa.RecordBatch]:
        yield from table.to_batches()
        for gdf in items:
            if not streamable(gdf):
                raise WorkspaceError(f"{layer}: a column holds values other than text, numbers, true/false or "
                                     "dates after the first chunk; import the file whole (--chunk-rows 0)")
            counted[0] += len(gdf)
            yield from _table(gdf).cast(schema).to_batches()

    write_arrow(pa.RecordBatchReader.from_batches(schema, batches()), stage, layer=layer, driver="GPKG",
                geometry_name=first.geometry.name, geometry_type="Unknown", crs=f"EPSG:{first.crs.to_epsg()}",
                layer_options={"OVERWRITE": "YES"})
    return counted[0]


def _one_by_one(stage: Path, layer: str, first: gpd.GeoDataFrame, items: Iterator[gpd.GeoDataFrame]) -> int:
    """The chunks appended one GDAL write at a time (slower; for columns Arrow would change)."""
    gpkg.write_gdf(stage, layer, first)
    rows = len(first)
    for gdf in items:
        gpkg.write_gdf(stage, layer, gdf, append=True)
        rows += len(gdf)
    return rows
