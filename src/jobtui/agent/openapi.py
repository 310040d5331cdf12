"""``GET /openapi.json``: the contract, machine-readable, generated from :mod:`jobtui.contract`."""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from datetime import datetime
from typing import Any, Literal, get_args, get_origin

from jobtui import contract
from jobtui.contract import camel


def _schema(tp: Any) -> dict[str, Any]:
    origin = get_origin(tp)
    if origin in (types.UnionType, typing.Union):
        inner = next(a for a in get_args(tp) if a is not type(None))
        return {**_schema(inner), "nullable": True}
    if origin is Literal:
        return {"type": "string", "enum": list(get_args(tp))}
    if origin is tuple:
        return {"type": "array", "items": _schema(get_args(tp)[0])}
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return {"$ref": f"#/components/schemas/{tp.__name__}"}
    return {
        bool: {"type": "boolean"},
        int: {"type": "integer"},
        float: {"type": "number"},
        str: {"type": "string"},
        datetime: {"type": "string", "format": "date-time"},
    }[tp]


def _component(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    props, required = {}, []
    for f in dataclasses.fields(cls):
        props[camel(f.name)] = _schema(hints[f.name])
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            required.append(camel(f.name))
    out: dict[str, Any] = {"type": "object", "properties": props}
    if required:
        out["required"] = required
    if cls.__doc__:
        out["description"] = " ".join(cls.__doc__.split())
    return out


def _ok(ref: str, description: str = "OK") -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}},
    }


_ERR = {"$ref": "#/components/responses/Error"}


def _param(name: str, schema: dict[str, Any], where: str = "query") -> dict[str, Any]:
    return {"name": name, "in": where, "required": where == "path", "schema": schema}


@functools.cache
def spec() -> dict[str, Any]:
    classes = [
        c
        for c in vars(contract).values()
        if isinstance(c, type) and dataclasses.is_dataclass(c) and c.__module__ == contract.__name__
    ]
    job_id = _param("id", {"type": "string"}, "path")
    hours = _param("hours", {"type": "integer", "minimum": 1, "maximum": 168, "default": 24})
    paths: dict[str, Any] = {
        "/api/jobs/health": {
            "get": {
                "summary": "System health: status, figures, alerts, recommendations",
                "security": [{}, {"bearer": []}],
                "responses": {
                    "200": _ok("Health"),
                    "503": _ok("Health", "The job store is unreachable (status critical)"),
                },
            }
        },
        "/api/monitoring/metrics": {
            "get": {
                "summary": "Metrics history (downsampled), or the latest sample with latest=true",
                "parameters": [hours, _param("latest", {"type": "boolean"})],
                "responses": {
                    "200": _ok("MetricsHistory", "History, or one PerformanceMetrics if latest"),
                    "400": _ERR,
                    "404": _ERR,
                },
            }
        },
        "/api/monitoring/errors": {
            "get": {
                "summary": "Failed jobs grouped by error category, most urgent first",
                "parameters": [hours],
                "responses": {"200": _ok("ErrorsReport"), "400": _ERR},
            }
        },
        "/api/jobs": {
            "get": {
                "summary": "Jobs, newest first, keyset-paginated",
                "parameters": [
                    _param("status", {"type": "string", "enum": list(contract.JOB_STATUSES)}),
                    _param("type", {"type": "string", "maxLength": 100}),
                    _param("q", {"type": "string", "maxLength": 200}),
                    _param("limit", {"type": "integer", "minimum": 1, "maximum": 500}),
                    _param("cursor", {"type": "string", "maxLength": 500}),
                ],
                "responses": {"200": _ok("JobsPage"), "400": _ERR},
            }
        },
        "/api/jobs/bulk": {
            "post": {
                "summary": "Retry or cancel every job matching a filter, oldest first (admin)",
                "description": (
                    "Matches the jobs (category: over the last hours; limit: the oldest n), "
                    "then writes them in one transaction, each only if its status is still the "
                    "one it was matched with: a job that changed meanwhile is skipped and "
                    "counted. Retry applies to failed and cancelled jobs, cancel to pending "
                    "and processing ones. dryRun: only counts, with a sample."
                ),
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/BulkRequest"}}
                    },
                },
                "responses": {
                    "200": _ok("BulkResult"),
                    "400": _ERR,
                    "401": _ERR,
                    "403": _ERR,
                    "422": _ERR,
                },
            }
        },
        "/api/jobs/{id}": {
            "get": {"parameters": [job_id], "responses": {"200": _ok("Job"), "404": _ERR}}
        },
        "/api/jobs/{id}/retry": {
            "post": {
                "summary": "Failed or cancelled → pending (admin)",
                "parameters": [job_id],
                "responses": {"200": _ok("Job"), "404": _ERR, "409": _ERR},
            }
        },
        "/api/jobs/{id}/cancel": {
            "post": {
                "summary": "Pending or processing → cancelled (admin)",
                "parameters": [job_id],
                "responses": {"200": _ok("Job"), "404": _ERR, "409": _ERR},
            }
        },
        "/api/admin/check": {
            "get": {
                "summary": "200 for the admin token",
                "responses": {"200": {"description": "admin"}},
            }
        },
        "/api/admin/recovery": {
            "post": {"summary": "System recovery", "responses": {"200": _ok("RecoveryResult")}}
        },
        "/api/admin/recover-stuck": {
            "post": {
                "summary": "Reset stuck jobs to pending",
                "responses": {"200": _ok("RecoverStuckResult")},
            }
        },
        "/metrics": {
            "get": {
                "summary": "Prometheus text exposition",
                "responses": {"200": {"description": "text/plain; version=0.0.4"}},
            }
        },
    }
    return {
        "openapi": "3.0.3",
        "info": {"title": "jobtui contract", "version": "1"},
        "paths": paths,
        "security": [{"bearer": []}],
        "components": {
            "schemas": {c.__name__: _component(c) for c in classes},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "responses": {
                "Error": {
                    "description": "An error",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/ApiError"}}
                    },
                }
            },
        },
    }
