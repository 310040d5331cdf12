"""Incident response: the seed's severity levels, the incident report, the critical sequence.

- :mod:`~jobtui.incident.gather` reads what the server can tell, what ``jobtui watch`` saw
  and the agent's admin actions; any part may fail, and the report says which.
- :mod:`~jobtui.incident.classify` puts the situation in the seed's severity levels 1–4, its
  "Incident Severity Examples" as rules, judging the figures with :mod:`jobtui.rules`.
- :mod:`~jobtui.incident.respond` runs the seed's ``handleCriticalIncident``, and sends its
  "URGENT: Incident Response Failed" when a step failed.
- :mod:`~jobtui.incident.report` writes the Markdown report; :mod:`~jobtui.incident.write`
  does it all and saves it (``jobtui incident [--respond]``, the dashboard's ``i`` key).
- :mod:`~jobtui.incident.model` holds the data, :mod:`~jobtui.incident.config` the
  ``incident:`` section.
"""

from jobtui.incident.classify import classify, declare
from jobtui.incident.config import IncidentConfig, load_incident_config, parse_incident
from jobtui.incident.gather import gather
from jobtui.incident.model import (
    LEVELS,
    Assessment,
    Evidence,
    IncidentFinding,
    IncidentLevel,
    Response,
    Send,
    Step,
    Written,
)
from jobtui.incident.report import render, report_status, timeline
from jobtui.incident.respond import URGENT_SUBJECT, URGENT_TEXT, notifier_sender, respond
from jobtui.incident.write import report_path, save, write_report

__all__ = [
    "LEVELS",
    "URGENT_SUBJECT",
    "URGENT_TEXT",
    "Assessment",
    "Evidence",
    "IncidentConfig",
    "IncidentFinding",
    "IncidentLevel",
    "Response",
    "Send",
    "Step",
    "Written",
    "classify",
    "declare",
    "gather",
    "load_incident_config",
    "notifier_sender",
    "parse_incident",
    "render",
    "report_path",
    "report_status",
    "respond",
    "save",
    "timeline",
    "write_report",
]
