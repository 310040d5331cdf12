from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import AgentProcess, SeedServer, start_agent


@pytest.fixture
def agent_factory(tmp_path: Path) -> Iterator[Any]:
    """Start real agents (``jobtui serve`` subprocesses); all are stopped after the test."""
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
def agent(agent_factory: Any) -> AgentProcess:
    """One real agent with no tokens on a fresh SQLite file."""
    return agent_factory()


@pytest.fixture
def seed_server() -> Iterator[SeedServer]:
    with SeedServer() as server:
        yield server
