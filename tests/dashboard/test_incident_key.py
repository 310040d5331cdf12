"""The incident key (i) against the real agent: a report written in a worker, never a traceback."""

from __future__ import annotations

from jobtui.config import Config
from tests.dashboard.conftest import SIZE, make_app, noted, shows, until
from tests.support import add_stuck

TOKENS = {"JOBTUI_ADMIN_TOKEN": "admin-secret", "JOBTUI_READ_TOKEN": "read-secret"}


def config(directory) -> Config:
    return Config(raw={"incident": {"dir": str(directory)}})


async def test_writes_the_report_and_says_its_severity_and_path(agent_factory, tmp_path):
    agent = agent_factory(env=TOKENS)
    add_stuck(agent.store, 3)
    reports = tmp_path / "incidents"
    app = make_app(agent.url, token="admin-secret", config=config(reports))
    async with app.run_test(size=SIZE) as pilot:
        await shows(pilot, "3 stuck")
        await pilot.press("i")
        await noted(pilot, "Writing the incident report")
        message = await noted(pilot, "Report: ")
        written = sorted(reports.glob("incident-*.md"))
        assert len(written) == 1
        assert message.startswith(
            "Level 3 (Medium): Stuck jobs 3 > 2"
        )  # above the warning threshold
        assert message.endswith(f"Report: {written[0]}")
        report = written[0].read_text()
        assert "Stuck jobs" in report
        assert "admin-secret" not in report and "read-secret" not in report
        assert not app.display_error


async def test_allowed_when_read_only(agent, tmp_path):
    reports = tmp_path / "incidents"
    app = make_app(agent.url, read_only=True, config=config(reports))
    async with app.run_test(size=SIZE) as pilot:
        await shows(pilot, "READ-ONLY")
        await pilot.press("i")
        message = await noted(pilot, "Report: ")
        assert message.startswith("No incident: the system is healthy")
        assert len(list(reports.glob("incident-*.md"))) == 1


async def test_a_report_that_cannot_be_written_is_one_line(seed_server, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    app = make_app(seed_server.url, config=config(blocker / "incidents"))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.state.health.value, what="first answer")
        await pilot.press("i")
        message = await noted(pilot, "Incident report not written: cannot write it:")
        assert "\n" not in message and "Traceback" not in message
    # a bad incident: section is one line too, naming the key
    bad = make_app(seed_server.url, config=Config(raw={"incident": {"recent": "soon"}}))
    async with bad.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: bad.state.health.value, what="first answer")
        await pilot.press("i")
        message = await noted(pilot, "Incident report not written: ")
        assert "incident.recent" in message and "\n" not in message
