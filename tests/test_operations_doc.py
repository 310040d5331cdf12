"""docs/operations.md: every YAML block it shows is a valid config section."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from jobtui.capacity import CapacityConfig, Limits, parse_capacity
from jobtui.incident import parse_incident
from jobtui.logs import parse_logging

DOC = Path(__file__).resolve().parent.parent / "docs" / "operations.md"


WORKFLOW = "# .github/workflows/"


def blocks() -> dict[str, object]:
    """The config sections the doc shows (its workflow recipes apart)."""
    found: dict[str, object] = {}
    for text in re.findall(r"```yaml\n(.*?)```", DOC.read_text(), re.S):
        if not text.startswith(WORKFLOW):
            found.update(yaml.safe_load(text))
    return found


def test_the_backup_workflow_runs_jobtui_backup_daily_with_secrets():
    (text,) = [
        t for t in re.findall(r"```yaml\n(.*?)```", DOC.read_text(), re.S) if t.startswith(WORKFLOW)
    ]
    flow = yaml.safe_load(text)
    triggers = flow[True]  # YAML 1.1 reads the key `on` as true, as GitHub's parser does not
    assert triggers["schedule"] == [{"cron": "0 0 * * *"}] and "workflow_dispatch" in triggers
    job = flow["jobs"]["backup"]
    assert job["env"] == {
        "JOBTUI_URL": "${{ secrets.JOBTUI_URL }}",
        "JOBTUI_TOKEN": "${{ secrets.JOBTUI_ADMIN_TOKEN }}",
    }
    runs = [step["run"] for step in job["steps"] if "run" in step]
    assert runs[-2:] == ["jobtui backup", "jobtui prune --keep-days 7"]


def test_the_documented_sections_parse():
    b = blocks()
    assert set(b) == {"logging", "capacity", "incident"}
    log = parse_logging(b["logging"], {})
    assert log.syslog is not None and log.syslog.protocol == "tls"
    assert parse_capacity(b["capacity"], {}) == CapacityConfig()  # the doc shows the defaults
    assert parse_capacity(b["capacity"], {}).load == Limits(0.8, 0.3, 1.0)
    inc = parse_incident(b["incident"], {})
    assert inc.notifiers == ("oncall", "pager") and inc.service == "story generation"
