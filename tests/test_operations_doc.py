"""docs/operations.md: every YAML block it shows is a valid config section."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from jobtui.capacity import CapacityConfig, Limits, parse_capacity
from jobtui.incident import parse_incident
from jobtui.logs import parse_logging

DOC = Path(__file__).resolve().parent.parent / "docs" / "operations.md"


def blocks() -> dict[str, object]:
    found: dict[str, object] = {}
    for text in re.findall(r"```yaml\n(.*?)```", DOC.read_text(), re.S):
        found.update(yaml.safe_load(text))
    return found


def test_the_documented_sections_parse():
    b = blocks()
    assert set(b) == {"logging", "capacity", "incident"}
    log = parse_logging(b["logging"], {})
    assert log.syslog is not None and log.syslog.protocol == "tls"
    assert parse_capacity(b["capacity"], {}) == CapacityConfig()  # the doc shows the defaults
    assert parse_capacity(b["capacity"], {}).load == Limits(0.8, 0.3, 1.0)
    inc = parse_incident(b["incident"], {})
    assert inc.notifiers == ("oncall", "pager") and inc.service == "story generation"
