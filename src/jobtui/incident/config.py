"""The ``incident:`` section of the config."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jobtui.config import Config


@dataclass(frozen=True, slots=True)
class IncidentConfig:
    """The ``incident:`` section."""

    dir: Path | None = None  # None: $XDG_STATE_HOME/jobtui/incidents
    service: str = "background job"  # "our <service> system" in the user communication
    status_page_url: str | None = None
    notifiers: tuple[str, ...] | None = None  # None: every configured notifier
    recent: timedelta = timedelta(minutes=15)  # database errors this recent are an outage

    def directory(self, env: Mapping[str, str] = os.environ) -> Path:
        if self.dir is not None:
            return self.dir
        base = env.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
        return Path(base) / "jobtui" / "incidents"


def load_incident_config(config: Config, env: Mapping[str, str] | None = None) -> IncidentConfig:
    """Validate the ``incident:`` section; :class:`ConfigError` names the file and the key."""
    from jobtui.config import load_section

    return load_section(config, "incident", parse_incident, env)


def parse_incident(data: Any, env: Mapping[str, str]) -> IncidentConfig:
    from jobtui.config import ConfigError, Section

    sec = Section(data, "incident", env)
    d = IncidentConfig()
    directory = sec.string("dir", None)
    names = sec._get("notifiers")
    if names is not None and (
        not isinstance(names, list) or not all(isinstance(n, str) for n in names)
    ):
        raise ConfigError("incident.notifiers: expected a list of notifier names")
    cfg = IncidentConfig(
        dir=Path(os.path.expanduser(directory)) if directory else None,
        service=sec.string("service", d.service) or d.service,
        status_page_url=sec.string("status_page_url", None),
        notifiers=tuple(names) if names is not None else None,
        recent=sec.duration("recent", d.recent),
    )
    sec.done()
    return cfg
