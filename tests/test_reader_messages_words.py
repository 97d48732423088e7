"""The reader's own refusals list names in words, as HR made the validator's and the rules' messages do
(``expected one of: a, b``), not as Python lists (``['a', 'b']``)."""
from __future__ import annotations

from pathlib import Path

import pytest

from geo.errors import InputError
from layers.io.readers import load_layer


def _refusal(path: Path, layer: str | None = None, **options: object) -> str:
    with pytest.raises(InputError) as caught:
        load_layer(path, layer, **options)  # type: ignore[arg-type]
    return caught.value.message


def test_the_readers_refusals_name_things_in_words(tmp_path: Path) -> None:
    odd = tmp_path / "things.csv"
    odd.write_text("site_id,lon,lat\nA,-1.6,6.7\n")
    said = _refusal(odd)
    assert "pass --layer with one of: admin_areas, deposits," in said and "[" not in said
    said = _refusal(odd, "mining_sites", set_values={"colour": "red"})
    assert "mining_sites has no field 'colour'; expected one of: site_id, name, status," in said and "[" not in said
    bare = tmp_path / "sites.csv"
    bare.write_text("site_id,place\nA,Obuasi\n")
    said = _refusal(bare, "mining_sites")
    assert "no coordinate columns found among its columns 'site_id', 'place'; expected" in said
