"""The field round trip's defects HF found and left (session 11, H2F), each shown by a test that fails on 18bd24d:

1. a visit on a case reassigned meanwhile was applied with no word to the coordinator;
2. problems found when applying named the question ('violation_id'), not the file's column;
3. a second submission for the same visit was refused without saying which row moved the case;
4. any file was taken as a photo (`cases set --photo make.py`, a ZIP's media);
5. `submissions import` listed case ids after "applied" but keys after "duplicates";
6. a case confirmed from far away showed only the distance in its dossier, no flag;
7. the one Central form was titled after the last pack published ("... South for ama" on North phones).
"""
from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

import openpyxl
import pypdf
import pytest
from PIL import Image

from geo.errors import InputError
from services import auth, cases, fieldpack, odk
from tests import field_exports as fx
from tests.test_field_roundtrip import _frame, _push, central  # noqa: F401 (central: the fixture)
from tests.test_fieldpack_odk import FakeCentral, _config
from tests.test_fieldpack_roundtrip import _cases, _run, _store, flagged  # noqa: F401 (flagged: the fixture)

Flagged = tuple[list[str], dict[str, str]]


def _accounts(where: list[str], ids: dict[str, str]) -> None:
    """kofi and yaw work North; ana assigns S1 and S2 to kofi, then S2 to yaw (after kofi's pack went out)."""
    store = _store(where)
    for name, role, areas in (("kofi", "field", ["North"]), ("yaw", "field", ["North"]), ("ana", "analyst", [])):
        auth.add_account(store, name, role, "a long password", areas)
    for site in ("S1", "S2"):
        assert _run(where, "--as", "ana", "cases", "assign", ids[site], "--to", "kofi") == 0
    assert _run(where, "--as", "ana", "cases", "assign", ids["S2"], "--to", "yaw") == 0


def _visit(key: str, vid: str, submitter: str, **more: object) -> dict[str, object]:
    return {"key": key, "violation_id": vid, "outcome": "confirmed", "lat": 0.0, "lon": 0.0005, "accuracy": 4.0,
            "visited_at": "2026-11-20T10:00:00Z", "submitter": submitter, **more}


def test_reassigned_case_second_submission_columns_and_keys_are_said(flagged: Flagged, tmp_path: Path,  # noqa: F811
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    where, ids = flagged
    _accounts(where, ids)
    export = fx.odk_csv(tmp_path / "export.csv", [
        _visit("uuid:1", ids["S1"], "Kofi Mensah"),                       # kofi's display name on Central: kofi's case
        _visit("uuid:2", ids["S2"], "Kofi Mensah", lat=0.01, lon=0.0006),  # S2 is yaw's now
        _visit("uuid:3", ids["S1"], "Kofi Mensah")])                      # the same visit, sent twice
    capsys.readouterr()
    assert _run(where, "--as", "ana", "submissions", "import", str(export), "--no-all-or-nothing") == 1
    text = "".join(capsys.readouterr())
    # 5: keys and cases, the same way in both lists
    assert f"applied 2: uuid:1 (case {ids['S1']}), uuid:2 (case {ids['S2']})" in text
    # 1: a warning naming file, row, the submitter, the case and its assignee; the visit is applied
    assert (f"warning: export.csv, row 2, field 'SubmitterName': value 'Kofi Mensah': case {ids['S2']} is assigned now"
            " to 'yaw', not to the submitter") in text
    assert "row 1, field 'SubmitterName'" not in text  # 'Kofi Mensah' is account kofi
    # 2 and 3: the file's column, and the row that moved the case first
    assert (f"error: export.csv, row 3, field 'visit-outcome': value 'confirmed': case {ids['S1']}: cannot move from"
            " 'confirmed' to 'visited'") in text
    assert "row 1 of export.csv moved it to 'confirmed' already" in text
    after = _cases(where)
    assert (after["S1"]["status"], after["S2"]["status"], after["S2"]["assignee"]) == ("confirmed", "confirmed", "yaw")
    assert _run(where, "--as", "ana", "submissions", "import", str(export), "--no-all-or-nothing") == 1
    text = "".join(capsys.readouterr())
    assert f"duplicates 2 (already imported, unchanged): uuid:1 (case {ids['S1']}), uuid:2 (case {ids['S2']})" in text
    assert "cannot move from 'confirmed' to 'visited'" in text and "row 1 of export.csv" not in text  # not this time
    assert _cases(where) == after


def test_an_unknown_case_names_the_files_column_on_kobo_too(flagged: Flagged, tmp_path: Path,  # noqa: F811
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    where, ids = flagged
    export = fx.kobo_csv(tmp_path / "kobo.csv", [_visit("k-1", "HG-WATER-100/ffffffffffffffff", "ama")])
    capsys.readouterr()
    assert _run(where, "submissions", "import", str(export)) == 2
    assert "kobo.csv, row 1, field 'visit/violation_id': value 'HG-WATER-100/ffffffffffffffff'" in capsys.readouterr().err


def test_warnings_alone_block_nothing_under_all_or_nothing(flagged: Flagged, tmp_path: Path,  # noqa: F811
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    """A reassigned case's warning, or an edited duplicate's, is no reason to apply nothing: the good rows go in
    (with the edited duplicate, 18bd24d applied nothing and exited 0)."""
    where, ids = flagged
    _accounts(where, ids)
    first = fx.odk_csv(tmp_path / "a.csv", [_visit("uuid:a", ids["S1"], "kofi")])
    assert _run(where, "submissions", "import", str(first)) == 0
    export = fx.odk_csv(tmp_path / "b.csv", [_visit("uuid:a", ids["S1"], "kofi", edits=1),
                                             _visit("uuid:b", ids["S2"], "kofi", lat=0.01, lon=0.0006)])
    capsys.readouterr()
    assert _run(where, "submissions", "import", str(export)) == 0
    out = "".join(capsys.readouterr())
    assert f"applied 1: uuid:b (case {ids['S2']})" in out
    assert "field 'Edits'" in out and "field 'SubmitterName': value 'kofi'" in out
    assert _cases(where)["S2"]["status"] == "confirmed"


@pytest.mark.parametrize(("submitter", "account", "same"), [
    ("kofi", "kofi", True), ("Kofi Mensah", "kofi", True), ("KOFI", "kofi", True), ("kofi.mensah", "Kofi Mensah", True),
    ("KofiMensah", "kofi_mensah", True), ("kofimensah", "kofi.mensah", True), ("Efua Owusu", "éfua", True),
    ("Yaw Boateng", "kofi", False), ("Kofi Mensah", "ama", False), ("7", "kofi", False), ("  ", "kofi", False)])
def test_a_submitter_is_the_assignee_when_their_names_share_the_words(submitter: str, account: str, same: bool) -> None:
    assert cases.same_person(submitter, account) is same


def _image(kind: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 120, 30)).save(buffer, kind)
    return buffer.getvalue()


HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 40  # an iPhone photo's first bytes


def test_only_photos_of_the_accepted_types_are_taken() -> None:
    from layers.io.image_types import image_type, not_a_photo, unreadable

    for kind, mime in (("JPEG", "image/jpeg"), ("PNG", "image/png"), ("GIF", "image/gif"), ("WEBP", "image/webp")):
        data = _image(kind)
        assert (image_type(data), not_a_photo(data), unreadable(data)) == (mime, None, None)
        cases.check_photo(f"a.{kind.lower()}", data)
    assert (image_type(HEIC), not_a_photo(HEIC), unreadable(HEIC)) == ("image/heic", None, None)
    jpeg = fx.jpeg()
    for name, data in (("make.py", b"import os\n"), ("x.zip", b"PK\x03\x04" + bytes(40)), ("e.jpg", b""),
                       ("fake.gif", b"GIF89a but no picture"), ("half.jpg", jpeg[: len(jpeg) // 3]),
                       ("svg.png", b"<svg onload=alert(1)>")):
        with pytest.raises(InputError) as info:
            cases.check_photo(name, data)
        assert str(info.value).startswith(f"{name}: ")
    assert "JPEG, PNG, GIF, WebP or HEIC/HEIF" in str(pytest.raises(InputError, cases.check_photo, "make.py",
                                                                    b"import os\n").value)


def test_a_file_that_is_no_photo_is_refused_on_the_way_in(flagged: Flagged, tmp_path: Path,  # noqa: F811
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    where, ids = flagged
    script = tmp_path / "make.py"
    script.write_text("import os\n")
    capsys.readouterr()
    assert _run(where, "cases", "set", ids["S1"], "--status", "visited", "--photo", str(script)) == 2
    err = capsys.readouterr().err
    assert f"--photo {script}: not a photo; expected a photo: JPEG, PNG, GIF, WebP or HEIC/HEIF" in err
    assert "Traceback" not in err and _cases(where)["S1"]["status"] == "new"
    with pytest.raises(InputError, match="not a photo"):  # the workbench's way in
        cases.add_photo(_store(where), auth.LOCAL, ids["S1"], "make.py", script.read_bytes())
    good = fx.jpeg(0.0, 0.0005, datetime(2026, 11, 20, 10, 0, 0), "+00:00")
    export = fx.odk_zip(tmp_path / "hgwatch_inspection.zip", [
        _visit("uuid:1", ids["S1"], "kofi", photo="make.jpg"),
        _visit("uuid:2", ids["S2"], "kofi", photo="cut.jpg", lat=0.01, lon=0.0006)],
        {"make.jpg": script.read_bytes(), "cut.jpg": good[: len(good) // 2]})
    assert _run(where, "submissions", "import", str(export)) == 2
    err = capsys.readouterr().err
    assert "row 1, field 'visit-photo': value 'make.jpg': a photo: JPEG, PNG, GIF, WebP or HEIC/HEIF" in err
    assert "warning: hgwatch_inspection.zip, row 2, field 'visit-photo': value 'cut.jpg'" in err  # cut short: kept
    assert _run(where, "submissions", "import", str(export), "--no-all-or-nothing") == 1
    assert [p.name for p in cases.case_file(_store(where), auth.LOCAL, ids["S2"]).photos] == ["cut.jpg"]
    assert cases.case_file(_store(where), auth.LOCAL, ids["S1"]).photos == []


def _pdf_text(data: bytes) -> str:
    return " ".join(" ".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages).split())


def test_a_case_confirmed_from_far_away_is_flagged_in_its_dossier(flagged: Flagged, tmp_path: Path,  # noqa: F811
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    where, ids = flagged
    export = fx.odk_csv(tmp_path / "export.csv", [
        _visit("uuid:far", ids["S2"], "kofi", lat=0.02, lon=0.0006),   # S2 is at lat 0.01: 1,105.7 m away
        _visit("uuid:near", ids["S1"], "kofi")])                       # 55.66 m
    assert _run(where, "submissions", "import", str(export)) == 0
    assert "far visits 1" in capsys.readouterr().out
    for site, far in (("S2", True), ("S1", False)):
        html, pdf = tmp_path / f"{site}.html", tmp_path / f"{site}.pdf"
        for out in (html, pdf):
            assert _run(where, "dossier", ids[site], "--out", str(out)) == 0
        page, text = html.read_text(encoding="utf-8"), _pdf_text(pdf.read_bytes())
        for shown in (page, text):
            assert ("FLAGGED: 1 of 1 visit(s) more than 500.00 m from the site" in shown) is far, site
            assert ("FAR (more than 500.00 m)" in shown) is far, site
        if far:
            assert "Far visits" in page and "kofi, confirmed, 1,10" in page


def _title(data: bytes) -> str:
    return str(openpyxl.load_workbook(io.BytesIO(data))["settings"]["A2"].value)


def test_the_one_central_form_is_titled_for_every_area(tmp_path: Path, central: FakeCentral) -> None:  # noqa: F811
    frame = _frame([("N-1", "North", "assigned", "kofi"), ("S-1", "South", "assigned", "ama")])
    _push(frame, tmp_path, "North")
    _push(frame, tmp_path, "South", "ama")  # the last pack published: it titled the North phones' form
    served = central.forms[fieldpack.FORM_ID]
    assert _title(served) == "HgWatch inspection: all areas"  # 18bd24d: "HgWatch inspection: South for ama"
    assert served == (tmp_path / "South-ama" / "inspection.xlsx").read_bytes()  # the pack holds the server's form
    version = openpyxl.load_workbook(io.BytesIO(served))["settings"]["C2"].value
    assert version == "20261127000000"  # the pack's version, kept
    offline = fieldpack.write_pack(frame[frame["admin_area"] == "North"], tmp_path / "offline", area="North")
    assert _title((offline.folder / "inspection.xlsx").read_bytes()) == "HgWatch inspection: North"  # not published
    with pytest.raises(InputError, match="nothing was changed"):  # a refused login: the pack stays as it was
        odk.push_pack(offline, fieldpack.pack_cases(frame), config=_config(tmp_path, password="wrong"))
    assert _title((offline.folder / "inspection.xlsx").read_bytes()) == "HgWatch inspection: North"
