"""``/openapi.json`` against the app: every route in it with its methods, every answer
documented, strict shapes; and the answers the fuzzing found outside the spec."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.routing import Route

from jobtui.agent.api import create_app
from jobtui.agent.openapi import spec
from jobtui.agent.service import Agent
from jobtui.agent.store import JobStore
from jobtui.config import Config

METHODS = {"get", "post", "put", "patch", "delete", "options", "head", "trace"}


def _template(path: str) -> str:
    """A path with its parameters unnamed: ``/api/jobs/{job_id:job_id}`` → ``/api/jobs/{}``."""
    return re.sub(r"\{[^}]*\}", "{}", path)


@pytest.fixture
def app_and_spec(tmp_path: Path) -> Any:
    store = JobStore(f"sqlite:///{tmp_path / 'jobs.db'}")
    agent = Agent(store, Config())
    yield create_app(agent), spec(agent.categories)
    store.close()


def test_every_route_the_app_serves_is_in_the_spec_with_its_methods(app_and_spec):
    app, doc = app_and_spec
    served: dict[str, set[str]] = {}
    for route in app.routes:
        assert isinstance(route, Route), route  # no mounts: nothing served past this walk
        methods = {m.lower() for m in route.methods or ()} - {"head"}  # HEAD comes with GET
        served.setdefault(_template(route.path), set()).update(methods)
    described = {
        _template(path): {m for m in item if m in METHODS} for path, item in doc["paths"].items()
    }
    assert served == described


def test_path_parameters_are_declared(app_and_spec):
    _, doc = app_and_spec
    for path, item in doc["paths"].items():
        names = set(re.findall(r"\{([^}]*)\}", path))
        for method, op in item.items():
            declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert declared == names, (method, path)


def test_every_operation_documents_its_auth_answers(app_and_spec):
    _, doc = app_and_spec
    for path, item in doc["paths"].items():
        for method, op in item.items():
            codes = set(op["responses"])
            assert "403" in codes, (method, path)  # a foreign Host, on an agent without tokens
            if op["security"]:
                assert "401" in codes, (method, path)
                assert "WWW-Authenticate" in op["responses"]["401"]["headers"]
            admin = path.startswith("/api/admin/") or method != "get"
            assert admin == op["summary"].endswith("(admin)"), (method, path)


def test_the_answers_of_the_issue_are_there(app_and_spec):
    _, doc = app_and_spec
    paths = doc["paths"]
    assert {"get", "post", "delete"} <= set(paths["/api/admin/backups"])
    assert {"404", "422"} <= set(paths["/api/admin/backups/{name}/restore"]["post"]["responses"])
    assert {"404", "409"} <= set(paths["/api/jobs/{id}/retry"]["post"]["responses"])
    assert "422" in paths["/api/jobs/bulk"]["post"]["responses"]
    assert "503" in paths["/api/jobs"]["get"]["responses"]
    metrics = paths["/api/monitoring/metrics"]["get"]["responses"]["200"]
    shape = metrics["content"]["application/json"]["schema"]
    assert shape == {
        "oneOf": [
            {"$ref": "#/components/schemas/MetricsHistory"},
            {"$ref": "#/components/schemas/PerformanceMetrics"},
        ]
    }
    (cursor,) = [p for p in paths["/api/jobs"]["get"]["parameters"] if p["name"] == "cursor"]
    assert cursor["schema"] == {"type": "string", "maxLength": 500}
    assert "Opaque" in cursor["description"]


def test_response_shapes_are_strict(app_and_spec):
    _, doc = app_and_spec
    for name, schema in doc["components"]["schemas"].items():
        assert schema["additionalProperties"] is False, name


def test_bulk_categories_are_this_agents(app_and_spec):
    _, doc = app_and_spec
    category = doc["components"]["schemas"]["BulkRequest"]["properties"]["category"]
    assert category["enum"][:2] == ["Rate Limiting", "Database"]
    assert category["enum"][-2:] == ["Unknown", None]


# --------------------------------------------------------------------------- found by fuzzing


def test_get_on_the_bulk_path_is_405_allowing_post(agent):
    """It was a look-up of a job named "bulk" (404), and its 405s allowed GET."""
    for method in ("GET", "OPTIONS", "PUT"):
        r = httpx.request(method, agent.url + "/api/jobs/bulk")
        assert r.status_code == 405, (method, r.text)
        assert r.headers["allow"] == "POST"
    r = httpx.post(agent.url + "/api/jobs/bulk/retry")
    assert r.status_code == 404 and "job bulk not found" in r.json()["error"]


def test_hours_are_checked_with_latest_too(agent):
    r = httpx.get(agent.url + "/api/monitoring/metrics", params={"latest": "true", "hours": 999})
    assert r.status_code == 400 and "invalid hours" in r.json()["error"]


def test_an_empty_query_value_is_the_default(agent):
    u = agent.url
    assert httpx.get(u + "/api/jobs", params={"status": "", "limit": ""}).status_code == 200
    assert httpx.get(u + "/api/monitoring/metrics?latest=&hours=").status_code == 200
    name = httpx.post(u + "/api/admin/backups").json()["name"]
    r = httpx.post(u + f"/api/admin/backups/{name}/restore?dryRun=")
    assert r.status_code == 200 and r.json()["dryRun"] is False
    assert httpx.delete(u + "/api/admin/backups?olderThanDays=").status_code == 200
