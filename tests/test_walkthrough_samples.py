"""Mercury samples, guideline classes and surfaces as the agency's environmental scientist met them
(session 12 walk-through, hand-made samples with known answers).

- Kriging a file with one sample recorded as 0 said "field 'hg': value 0.0: values > 0" with no row
  and no sample id; it now names each such row.
- Two samples 55 km apart (5 km mask) made a surface of two flat discs, each one sample's value
  carried outwards, and printed "leave-one-out error (0 samples): RMSE nan"; the demo's fish surface
  had 16 of its 20 samples alone like that, and nothing said so. The error now says it cannot be
  estimated, and a note counts the positions with no other sample within the mask distance.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from geo.contamination import ClassSettings, Guideline, interpolate
from geo.distance import local_tmerc

CRS_M = local_tmerc(-2.0, 6.0)
HEADER = "sample_id,medium,hg,unit,lon,lat\n"


def _csv(path: Path, rows: list[str]) -> Path:
    path.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_kriging_names_the_row_and_sample_recorded_as_zero(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    import cli

    rng = np.random.default_rng(3)
    rows = [f"Z{i},water,{0 if i == 3 else rng.uniform(0.5, 20):.3f},ug/L,"
            f"{-2 + rng.uniform(0, 0.2):.5f},{6 + rng.uniform(0, 0.2):.5f}" for i in range(25)]
    src = _csv(tmp_path / "z.csv", rows)
    out = tmp_path / "z.tif"
    code = cli.main(["surface", "--medium", "water", "--method", "kriging", "--out", str(out),
                     "--layer", f"samples={src}"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert "z.csv, row 4, id Z3, field 'hg': value 0.0: a value above 0" in err
    assert not out.exists()


def test_samples_alone_within_the_mask_are_said_and_their_error_not_made_up(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import folium

    import cli
    from render.map import overlays as overlay_map

    src = _csv(tmp_path / "two.csv", ["S1,water,8,ug/L,-2.0,6.0", "S2,water,4,ug/L,-2.0,6.5"])
    code = cli.main(["surface", "--medium", "water", "--out", str(tmp_path / "two.tif"),
                     "--layer", f"samples={src}", "--cell-m", "500"])
    out = capsys.readouterr().out
    assert code == 0
    assert "nan" not in out
    assert "leave-one-out error: cannot be estimated, no sample has another within 5000 m" in out
    assert "2 of 2 sample positions have no other sample within 5000 m" in out

    # three samples: two 1 km apart, one 20 km away; known LOO: each of the pair predicts the other
    xy = np.array([[0.0, 0.0], [1000.0, 0.0], [20_000.0, 0.0]])
    surf = interpolate(xy, np.array([2.0, 6.0, 9.0]), crs=CRS_M, unit="ug/L", cell_m=500.0,
                       max_distance_m=5000.0)
    assert surf.cross_validation.n == 2 and surf.cross_validation.rmse == pytest.approx(4.0)
    assert surf.loo_text() == ("leave-one-out error (2 samples; 1 with no other within 5000 m not "
                               "predicted): RMSE 4 ug/L, MAE 4 ug/L")
    assert "1 of 3 sample positions have no other sample within 5000 m: around it" in "; ".join(surf.notes)
    legend = overlay_map.add_surface(
        folium.Map(), surf, medium="water",
        guideline=Guideline("water", 6.0, "ug/L", "inorganic", "guideline", "WHO"),
        settings=ClassSettings())
    assert "Leave-one-out error (2 samples; 1 with no other" in legend and "nan" not in legend
