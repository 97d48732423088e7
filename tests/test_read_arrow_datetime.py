"""A workspace layer with a date-time field is read through GDAL's Arrow stream too (issue 13: the
map's cold start). ``arrowread`` fell back to pyogrio's feature-by-feature read for any layer holding
a date-time, i.e. every sites layer with ``survey_date``: 1.33 s for the 100,000 benchmark sites
against 0.25-0.33 s through Arrow. The date-times travel as GDAL's ISO 8601 text (as in the feature
read) and are parsed by pyogrio's own parser, so the frame is the feature read's: naive, UTC, one
fixed offset, mixed offsets (made UTC), milliseconds, missing values."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely

from layers.store import arrowread
from tests.test_read_arrow import assert_same

PLUS2 = dt.timezone(dt.timedelta(hours=2))
CASES = {
    "naive": pd.to_datetime(["2024-01-01T10:00:00", None, "2024-05-01T00:00:00.123"], format="ISO8601"),
    "utc": pd.to_datetime(["2024-01-01T10:00:00Z", None, "2024-05-01T00:00:00.123Z"], format="ISO8601"),
    "one offset": pd.to_datetime(["2024-01-01T10:00:00+02:00", "2024-02-01T10:00:00+02:00", None]),
    "mixed offsets": pd.Series([dt.datetime(2024, 1, 1, 10, tzinfo=PLUS2), None,
                                dt.datetime(2024, 1, 1, 10, tzinfo=dt.UTC)], dtype=object),
    "all missing": pd.Series([None, None, None], dtype="datetime64[ms]"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_datetime_layer_is_read_through_arrow_as_the_feature_read(tmp_path: Path, case: str,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "w.gpkg"
    frame = gpd.GeoDataFrame({"when": CASES[case], "n": [1, 2, 3]}, geometry=[shapely.Point(0, 0)] * 3, crs=4326)
    pyogrio.write_dataframe(frame, path, layer="l")
    assert pyogrio.read_info(path, layer="l")["dtypes"][0].startswith("datetime")
    want = pyogrio.read_dataframe(path, layer="l")  # the oracle: the feature read

    def feature_read(*args: object, **kwargs: object) -> None:
        raise AssertionError("read feature by feature, not through Arrow")
    monkeypatch.setattr(pyogrio, "read_dataframe", feature_read)
    assert_same(arrowread.read_layer(path, "l"), want)
