"""``GET /openapi.json``: every route the agent serves, machine-readable.

The shapes are generated from :mod:`jobtui.contract` and are strict (no property beyond the
ones listed); the bounds of the parameters are :mod:`jobtui.agent.limits`'. Each operation
lists every status it can answer with; errors are ``{"error": "..."}`` throughout.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from datetime import datetime
from typing import Any, Literal, get_args, get_origin

from jobtui import contract
from jobtui.agent import limits
from jobtui.agent.backups import NAME
from jobtui.agent.store import TRANSITIONS
from jobtui.contract import camel


def _schema(tp: Any) -> dict[str, Any]:
    origin = get_origin(tp)
    if origin in (types.UnionType, typing.Union):
        inner = _schema(next(a for a in get_args(tp) if a is not type(None)))
        if "$ref" in inner:  # a $ref's siblings are ignored in OpenAPI 3.0
            inner = {"allOf": [inner]}
        if "enum" in inner:  # nullable does not add null to an enum
            inner["enum"] = [*inner["enum"], None]
        return {**inner, "nullable": True}
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
    out: dict[str, Any] = {"type": "object", "properties": props, "additionalProperties": False}
    if required:
        out["required"] = required
    if cls.__doc__:
        out["description"] = " ".join(cls.__doc__.split())
    return out


# Text a filter takes: no NUL character (PostgreSQL cannot hold one; a 400 on both stores).
NO_NUL = "^[^\\u0000]*$"


def _bulk_request(categories: tuple[str, ...]) -> dict[str, Any]:
    """BulkRequest with the bounds the agent enforces. Which statuses an action takes is
    part of the shape (``anyOf``); a category is one of this agent's; its source has no
    queues, so ``queue`` can only be null."""
    out = _component(contract.BulkRequest)
    props = out["properties"]
    for name, most in (("type", limits.MAX_TYPE), ("q", limits.MAX_Q)):
        props[name].update(minLength=1, maxLength=most, pattern=NO_NUL)
    if categories:
        props["category"].update(enum=[*categories, None])
    else:
        props["category"].update(minLength=1, maxLength=limits.MAX_CATEGORY)
    props["queue"] = {
        "type": "string",
        "enum": [None],
        "nullable": True,
        "description": "This agent's source has no queues: any other value is a 422.",
    }
    props["hours"].update(minimum=1, maximum=limits.MAX_HOURS)
    props["limit"].update(minimum=1, maximum=limits.MAX_BULK_LIMIT)
    out["anyOf"] = [
        {
            "properties": {
                "action": {"type": "string", "enum": [action]},
                "status": {"type": "string", "enum": [*t.allowed, None], "nullable": True},
            }
        }
        for action, t in TRANSITIONS.items()
    ]
    return out


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _ok(ref: str, description: str = "OK") -> dict[str, Any]:
    return _json(_ref(ref), description)


def _param(name: str, schema: dict[str, Any], where: str = "query", **more: Any) -> dict[str, Any]:
    """A parameter; in the query, an empty value (``?status=``) is the same as none."""
    out = {"name": name, "in": where, "required": where == "path", "schema": schema, **more}
    if where == "query":
        out["allowEmptyValue"] = True
    return out


# The error answers, each ``{"error": "..."}``: which of them an operation gives is listed
# with it (401 and 403 come with its security).
ERRORS = {
    "400": "A bad parameter or body; the message names it",
    "401": "No token, or not a token of this agent (the WWW-Authenticate header says Bearer)",
    "403": (
        "The read token where the admin one is needed; or, on an agent without tokens, a "
        "request to a Host that is not loopback or a write from another site"
    ),
    "404": "No such job, backup or sample",
    "409": "The job's status does not allow the action",
    "413": "A request body over agent.http.max_body_size (1 MiB unless configured)",
    "422": "A well-formed request that cannot be done as asked",
    "503": "The job store cannot answer",
    "507": "The backup folder's disk is full (nothing of the backup is left behind)",
}
_UNAUTHORIZED = {
    **_json(_ref("ApiError"), ERRORS["401"]),
    "headers": {"WWW-Authenticate": {"schema": {"type": "string", "enum": ["Bearer"]}}},
}

Auth = Literal["none", "health", "read", "admin"]
_SECURITY: dict[Auth, list[dict[str, list[str]]]] = {
    "none": [],
    "health": [{}, {"bearer": []}],  # public unless agent.public_health is false
    "read": [{"bearer": []}],
    "admin": [{"bearer": []}],
}


def _op(
    summary: str,
    ok: dict[str, dict[str, Any]],
    *,
    auth: Auth,
    errors: str = "",
    params: list[dict[str, Any]] | None = None,
    description: str | None = None,
) -> dict[str, Any]:
    """One operation: its answers (``ok``: status → response), the error statuses it gives
    besides those of its security (``errors``, space-separated), its parameters."""
    codes = set(errors.split()) | {"403"}  # a foreign Host is refused on every path
    if auth != "none":
        codes.add("401")
    responses: dict[str, Any] = dict(ok)
    for code in sorted(codes - set(ok)):
        responses[code] = (
            _UNAUTHORIZED if code == "401" else {"$ref": f"#/components/responses/E{code}"}
        )
    out: dict[str, Any] = {"summary": summary, "security": _SECURITY[auth]}
    if auth == "admin":
        out["summary"] += " (admin)"
    if description:
        out["description"] = description
    if params:
        out["parameters"] = params
    out["responses"] = dict(sorted(responses.items()))
    return out


def _classes() -> list[type]:
    return [
        c
        for c in vars(contract).values()
        if isinstance(c, type) and dataclasses.is_dataclass(c) and c.__module__ == contract.__name__
    ]


@functools.cache
def spec(categories: tuple[str, ...] = ()) -> dict[str, Any]:
    """The agent's OpenAPI document; ``categories``: the error categories its bulk action
    takes (any text of up to ``MAX_CATEGORY`` characters when empty)."""
    job_id = _param("id", {"type": "string", "minLength": 1}, "path")
    hours = _param(
        "hours",
        {"type": "integer", "minimum": 1, "maximum": limits.MAX_HOURS, "default": 24},
    )
    boolean = {"type": "boolean", "default": False}
    cursor = _param(
        "cursor",
        {"type": "string", "maxLength": limits.MAX_CURSOR},
        description=(
            "Opaque: the nextCursor of a previous page, passed back as it came. Anything "
            "else, however well formed, is a 400."
        ),
    )
    backup_name = _param(
        "name",
        {"type": "string", "pattern": "^" + NAME.pattern + "$"},
        "path",
    )
    admin_check = {
        "type": "object",
        "properties": {"admin": {"type": "boolean", "enum": [True]}},
        "required": ["admin"],
        "additionalProperties": False,
    }
    latest = _json(
        {"oneOf": [_ref("MetricsHistory"), _ref("PerformanceMetrics")]},
        "The history (MetricsHistory); with latest=true, the latest sample alone "
        "(PerformanceMetrics), whatever the hours",
    )
    paths: dict[str, Any] = {
        "/api/jobs/health": {
            "get": _op(
                "System health: status, figures, alerts, recommendations",
                {
                    "200": _ok("Health"),
                    "503": _ok("Health", "The job store is unreachable (status critical)"),
                },
                auth="health",
            )
        },
        "/api/monitoring/metrics": {
            "get": _op(
                "Metrics history (downsampled), or the latest sample with latest=true",
                {"200": latest},
                auth="read",
                errors="400 404 503",
                params=[hours, _param("latest", boolean)],
                description="404: latest=true and no sample taken yet.",
            )
        },
        "/api/monitoring/errors": {
            "get": _op(
                "Failed jobs grouped by error category, most urgent first",
                {"200": _ok("ErrorsReport")},
                auth="read",
                errors="400 503",
                params=[hours],
            )
        },
        "/api/jobs": {
            "get": _op(
                "Jobs, newest first, keyset-paginated",
                {"200": _ok("JobsPage")},
                auth="read",
                errors="400 503",
                params=[
                    _param("status", {"type": "string", "enum": list(contract.JOB_STATUSES)}),
                    _param(
                        "type",
                        {"type": "string", "maxLength": limits.MAX_TYPE, "pattern": NO_NUL},
                    ),
                    _param("q", {"type": "string", "maxLength": limits.MAX_Q, "pattern": NO_NUL}),
                    _param(
                        "limit",
                        {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": limits.PAGE_LIMIT,
                            "default": limits.PAGE_DEFAULT,
                        },
                    ),
                    cursor,
                ],
            )
        },
        "/api/jobs/bulk": {
            "post": {
                **_op(
                    "Retry or cancel every job matching a filter, oldest first",
                    {"200": _ok("BulkResult")},
                    auth="admin",
                    errors="400 413 422 503",
                    description=(
                        "Matches the jobs (category: over the last hours; limit: the oldest "
                        "n), then writes them in one transaction, each only if its status is "
                        "still the one it was matched with: a job that changed meanwhile is "
                        "skipped and counted. Retry applies to failed and cancelled jobs, "
                        "cancel to pending and processing ones. dryRun: only counts, with a "
                        "sample. An unknown field or a bad value is a 400, a request that "
                        "cannot be done as asked a 422."
                    ),
                ),
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("BulkRequest")}},
                },
            }
        },
        "/api/jobs/{id}": {
            "get": _op(
                "One job",
                {"200": _ok("Job")},
                auth="read",
                errors="404 503",
                params=[job_id],
            )
        },
        "/api/jobs/{id}/retry": {
            "post": _op(
                "Failed or cancelled → pending",
                {"200": _ok("Job")},
                auth="admin",
                errors="404 409 503",
                params=[job_id],
            )
        },
        "/api/jobs/{id}/cancel": {
            "post": _op(
                "Pending or processing → cancelled",
                {"200": _ok("Job")},
                auth="admin",
                errors="404 409 503",
                params=[job_id],
            )
        },
        "/api/admin/check": {
            "get": _op(
                "200 for the admin token", {"200": _json(admin_check, "Admin")}, auth="admin"
            )
        },
        "/api/admin/recovery": {
            "post": _op(
                "System recovery: pause, back up, recover stuck jobs, resume",
                {
                    "200": _ok("RecoveryResult"),
                    "500": _ok("RecoveryResult", "A step failed (success false, its detail)"),
                },
                auth="admin",
            )
        },
        "/api/admin/recover-stuck": {
            "post": _op(
                "Reset stuck jobs to pending (failed past their attempts)",
                {"200": _ok("RecoverStuckResult")},
                auth="admin",
                errors="503",
            )
        },
        "/api/admin/backups": {
            "get": _op(
                "The backups, newest first, each verified against its checksum",
                {"200": _ok("BackupList")},
                auth="admin",
            ),
            "post": _op(
                "Take a backup (the oldest beyond agent.backups.keep_count are pruned)",
                {"201": _ok("BackupResult", "Created")},
                auth="admin",
                errors="422 503 507",
                description="422: the backup folder cannot be written; 507: its disk is full.",
            ),
            "delete": _op(
                "Delete backups older than olderThanDays; the newest is always kept",
                {"200": _ok("PruneResult")},
                auth="admin",
                errors="400",
                params=[
                    _param(
                        "olderThanDays",
                        {
                            "type": "number",
                            "minimum": 0,
                            "maximum": limits.MAX_PRUNE_DAYS,
                            "default": limits.PRUNE_DEFAULT_DAYS,
                        },
                    )
                ],
            ),
        },
        "/api/admin/backups/{name}/restore": {
            "post": _op(
                "Restore a backup by upsert, in one transaction (dryRun: only check and count)",
                {"200": _ok("RestoreResult")},
                auth="admin",
                errors="400 404 422 503",
                params=[backup_name, _param("dryRun", boolean)],
                description="422: the backup fails verification or holds a bad record.",
            )
        },
        "/metrics": {
            "get": _op(
                "Prometheus text exposition",
                {
                    "200": {
                        "description": "The text exposition format",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    }
                },
                auth="read",
                errors="503",
            )
        },
        "/openapi.json": {
            "get": _op(
                "This document",
                {"200": _json({"type": "object"}, "OpenAPI 3.0")},
                auth="none",
            )
        },
    }
    schemas = {c.__name__: _component(c) for c in _classes()}
    schemas["BulkRequest"] = _bulk_request(categories)
    return {
        "openapi": "3.0.3",
        "info": {"title": "jobtui agent", "version": "1"},
        "paths": paths,
        "security": [{"bearer": []}],
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "responses": {
                f"E{code}": _json(_ref("ApiError"), text)
                for code, text in ERRORS.items()
                if code != "401"
            },
        },
    }
