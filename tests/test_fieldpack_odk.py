"""fieldpack --odk-central: pyodk talks to a fake ODK Central at the HTTP adapter (there is no server here).

The fake answers Central's API paths as the API documents them and records every request, so
the test checks what pyodk really sends: the login, the entity list and its properties, the
entities (created, updated, deleted on a second push) and the XLSForm bytes.
"""
from __future__ import annotations

import itertools
import json
import re
import urllib.parse
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from pyodk._utils import session as pyodk_session

from geo.errors import InputError
from services import odk
from services.fieldpack import pack_cases, write_pack
from tests.test_fieldpack import cases_frame

NOW = "2024-05-01T09:00:00.000Z"


class FakeCentral:
    """ODK Central's API for one project, in memory."""

    def __init__(self, *, password: str = "s3cret", down: bool = False) -> None:
        self.password, self.down = password, down
        self.calls: list[tuple[str, str, dict[str, list[str]], bytes]] = []
        self.datasets: dict[str, dict[str, Any]] = {}
        self.forms: dict[str, bytes] = {}
        self._ids = itertools.count(1)

    def send(self, request: requests.PreparedRequest) -> requests.Response:
        url = urllib.parse.urlsplit(request.url or "")
        body = request.body if isinstance(request.body, bytes) else str(request.body or "").encode()
        self.calls.append((request.method or "", url.path, urllib.parse.parse_qs(url.query), body))
        if self.down:
            raise requests.ConnectionError("Failed to establish a new connection")
        status, answer = self._answer(request.method or "", url.path, body, request.headers)
        response = requests.Response()
        response.status_code, response.url, response.request = status, request.url or "", request
        response._content = json.dumps(answer).encode()
        response.headers["Content-Type"] = "application/json"
        return response

    def _answer(self, method: str, path: str, body: bytes, headers: Any) -> tuple[int, Any]:
        if (method, path) == ("POST", "/v1/sessions"):
            ok = json.loads(body) == {"email": "coordinator@agency.example", "password": self.password}
            return (200, {"token": "tok-1", "expiresAt": NOW}) if ok else (401, {"code": 401.2, "message": "bad login"})
        if headers.get("Authorization") != "Bearer tok-1":
            return 403, {"code": 403.1, "message": "not logged in"}
        m = re.fullmatch(r"/v1/projects/7/(.*)", path)
        assert m, path
        rest = m.group(1)
        if rest == "datasets":
            if method == "GET":
                return 200, [self._dataset(n) for n in self.datasets]
            name = json.loads(body)["name"]
            self.datasets[name] = {"properties": [], "entities": {}}
            return 200, self._dataset(name)
        if m := re.fullmatch(r"datasets/(\w+)/properties", rest):
            self.datasets[m.group(1)]["properties"].append(json.loads(body)["name"])
            return 200, {"success": True}
        if m := re.fullmatch(r"datasets/(\w+)\.svc/Entities", rest):
            return 200, {"value": list(self.datasets[m.group(1)]["entities"].values())}
        if m := re.fullmatch(r"datasets/(\w+)/entities", rest):
            for e in json.loads(body)["entities"]:
                uid = f"uuid-{next(self._ids)}"
                self.datasets[m.group(1)]["entities"][uid] = {"__id": uid, "label": e["label"], **e["data"],
                                                              "__system": {"version": 1}}
            return 200, {"success": True}
        if m := re.fullmatch(r"datasets/(\w+)/entities/([\w-]+)", rest):
            entities = self.datasets[m.group(1)]["entities"]
            if method == "DELETE":
                del entities[m.group(2)]
                return 200, {"success": True}
            change = json.loads(body)
            entity = entities[m.group(2)]
            entity.update(change.get("data", {}), label=change.get("label", entity["label"]))
            entity["__system"]["version"] += 1
            version = {"label": entity["label"], "current": True, "createdAt": NOW, "creatorId": 5, "userAgent": "pyodk",
                       "version": entity["__system"]["version"], "data": change.get("data")}
            return 200, {"uuid": m.group(2), "creatorId": 5, "createdAt": NOW, "currentVersion": version}
        if rest == "forms":
            if method == "GET":
                return 200, [self._form(f) for f in self.forms]
            self.forms[headers["X-XlsForm-FormId-Fallback"]] = body
            return 200, self._form(headers["X-XlsForm-FormId-Fallback"])
        if m := re.fullmatch(r"forms/(\w+)/draft(/publish)?", rest):
            if not m.group(2):
                self.forms[m.group(1)] = body
            return 200, {"success": True}
        raise AssertionError(f"unexpected {method} {path}")

    def _dataset(self, name: str) -> dict[str, Any]:
        return {"name": name, "projectId": 7, "createdAt": NOW, "approvalRequired": False}

    def _form(self, form_id: str) -> dict[str, Any]:
        return {"projectId": 7, "xmlFormId": form_id, "version": "1", "hash": "h", "state": "open", "createdAt": NOW,
                "name": "HgWatch inspection", "enketoId": None, "keyId": None, "updatedAt": None, "publishedAt": None}


@pytest.fixture
def central(monkeypatch: pytest.MonkeyPatch) -> FakeCentral:
    fake = FakeCentral()
    monkeypatch.setattr(pyodk_session.Adapter, "send", lambda _self, request, **_kw: fake.send(request))
    return fake


def _config(tmp_path: Path, password: str = "s3cret", project: str = "default_project_id = 7\n") -> Path:
    path = tmp_path / "pyodk_config.toml"
    path.write_text('[central]\nbase_url = "https://central.agency.example"\n'
                    f'username = "coordinator@agency.example"\npassword = "{password}"\n{project}')
    return path


def test_push_creates_the_entity_list_then_the_form(tmp_path: Path, central: FakeCentral) -> None:
    frame = cases_frame()
    pack = write_pack(frame, tmp_path / "pack", area="Amansie West", now=datetime(2024, 5, 1, tzinfo=UTC))
    result = odk.push_pack(pack, pack_cases(frame), config=_config(tmp_path))
    assert (result.project_id, result.form_id, result.form_created) == (7, "hgwatch_inspection", True)
    assert (result.created, result.updated, result.deleted) == (3, 0, 0)
    paths = [(m, p) for m, p, _, _ in central.calls]
    assert paths[0] == ("POST", "/v1/sessions")
    assert paths.index(("POST", "/v1/projects/7/datasets")) < paths.index(("POST", "/v1/projects/7/forms"))
    cases = central.datasets["cases"]
    assert sorted(cases["properties"]) == sorted(["violation_id", "site_id", "site_name", "rule_id", "distance_m", "lon",
                                                  "lat", "status", "assignee", "admin_area"])
    entities = sorted(cases["entities"].values(), key=lambda e: e["violation_id"])
    assert [(e["violation_id"], e["label"], e["distance_m"]) for e in entities] == [
        ("V-1", "V-1 · <img src=x onerror=alert(1)> · water_100m · 42 m", "42.456"),
        ("V-2", "V-2 · Pit 2 · water_100m · 99 m", "99.0"), ("V-4", entities[2]["label"], "310.0")]
    assert central.forms["hgwatch_inspection"] == (pack.folder / "inspection.xlsx").read_bytes()
    form_post = next(c for c in central.calls if c[:2] == ("POST", "/v1/projects/7/forms"))
    assert form_post[2] == {"ignoreWarnings": ["True"], "publish": ["False"]}  # as pyodk 1.3.0 sends them
    assert ("POST", "/v1/projects/7/forms/hgwatch_inspection/draft/publish") in paths
    assert all(urllib.parse.urlsplit("https://central.agency.example" + p).hostname == "central.agency.example"
               for _, p in paths)


def test_a_second_push_updates_changed_cases_deletes_closed_ones_and_versions_the_form(
        tmp_path: Path, central: FakeCentral) -> None:
    frame = cases_frame()
    pack = write_pack(frame, tmp_path / "a", area="A", now=datetime(2024, 5, 1, tzinfo=UTC))
    odk.push_pack(pack, pack_cases(frame), config=_config(tmp_path))
    later = frame.copy()
    later.loc[later["violation_id"] == "V-2", "assignee"] = "kofi"
    later.loc[later["violation_id"] == "V-4", "status"] = "closed"
    pack2 = write_pack(later, tmp_path / "b", area="A", now=datetime(2024, 5, 2, tzinfo=UTC))
    central.calls.clear()
    result = odk.push_pack(pack2, pack_cases(later), config=_config(tmp_path))
    assert (result.form_created, result.created, result.updated, result.deleted) == (False, 0, 1, 1)
    left = {e["violation_id"]: e for e in central.datasets["cases"]["entities"].values()}
    assert sorted(left) == ["V-1", "V-2"] and left["V-2"]["assignee"] == "kofi"
    patch = next(c for c in central.calls if c[0] == "PATCH")
    assert patch[2] == {"baseVersion": ["1"]}
    assert ("POST", "/v1/projects/7/forms/hgwatch_inspection/draft") in [(m, p) for m, p, _, _ in central.calls]
    assert central.forms["hgwatch_inspection"] == (pack2.folder / "inspection.xlsx").read_bytes()


def test_a_refused_login_or_a_dead_server_is_a_message(tmp_path: Path, central: FakeCentral) -> None:
    frame = cases_frame()
    pack = write_pack(frame, tmp_path / "p", area="A")
    with pytest.raises(InputError) as info:
        odk.push_pack(pack, pack_cases(frame), config=_config(tmp_path, password="wrong"))
    assert "central.agency.example" in str(info.value) and "nothing was changed" in str(info.value)
    assert "wrong" not in str(info.value)
    central.down = True
    with pytest.raises(InputError, match="nothing was changed"):
        odk.push_pack(pack, pack_cases(frame), config=_config(tmp_path))


def test_the_configuration_is_named_or_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               central: FakeCentral) -> None:
    monkeypatch.delenv(odk.CONFIG_ENV, raising=False)
    with pytest.raises(InputError, match="--odk-config"):
        odk.config_path(None)
    with pytest.raises(InputError, match="no such file"):
        odk.config_path(str(tmp_path / "absent.toml"))
    monkeypatch.setenv(odk.CONFIG_ENV, str(_config(tmp_path)))
    assert odk.config_path(None) == tmp_path / "pyodk_config.toml"
    frame = cases_frame()
    pack = write_pack(frame, tmp_path / "p", area="A")
    with pytest.raises(InputError, match="default_project_id"):
        odk.push_pack(pack, pack_cases(frame), config=_config(tmp_path, project=""))
    (tmp_path / "bad.toml").write_text("[central]\nbase_url = 1\n")
    with pytest.raises(InputError, match="cannot be read"):
        odk.push_pack(pack, pack_cases(frame), config=tmp_path / "bad.toml")
    assert central.calls == []
