from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import AgentProcess, SeedServer, start_agent

PG_URL = os.environ.get("JOBTUI_TEST_DATABASE_URL")


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty job store: a SQLite file, or a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'jobs.db'}"
        return
    if not PG_URL:
        pytest.skip("PostgreSQL tests need JOBTUI_TEST_DATABASE_URL (.ci/run sets it)")
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    sep = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{sep}options=-csearch_path%3D{name}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {name} CASCADE")


@pytest.fixture
def agents(tmp_path: Path) -> Iterator[Callable[..., AgentProcess]]:
    """Start real agents (``jobtui serve`` subprocesses) on any store, named by ``database=``;
    all are stopped after the test."""
    started: list[AgentProcess] = []

    def make(config: dict[str, Any] | None = None, **kwargs: Any) -> AgentProcess:
        a = start_agent(tmp_path, config, **kwargs)
        started.append(a)
        return a

    yield make
    for a in started:
        a.stop()
        a.store.close()


@pytest.fixture
def agent_factory(
    agents: Callable[..., AgentProcess], database: str
) -> Callable[..., AgentProcess]:
    """Start real agents on the test's store (SQLite, then PostgreSQL)."""

    def make(config: dict[str, Any] | None = None, **kwargs: Any) -> AgentProcess:
        kwargs.setdefault("database", database)
        return agents(config, **kwargs)

    return make


@pytest.fixture
def agent(agent_factory: Any) -> AgentProcess:
    """One real agent with no tokens on a fresh store."""
    return agent_factory()


@pytest.fixture
def seed_server() -> Iterator[SeedServer]:
    with SeedServer() as server:
        yield server
