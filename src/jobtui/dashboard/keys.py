"""The one registry of keys: the footer, the help screen and the command palette read it.

Each :class:`Key` belongs to a scope: ``app`` (works everywhere), a view (``performance``,
``jobs``, ``errors``) or a screen (``detail``, ``backups``, ``logs``), whose widget gets the
matching bindings. Keys that change
something on the server are marked ``changes``: ``--read-only`` (or a 401/403 from the admin
check) disables exactly those.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding

SCOPES: dict[str, str] = {
    "app": "Everywhere",
    "performance": "Performance tab",
    "jobs": "Jobs tab",
    "errors": "Errors tab",
    "detail": "Job detail",
    "backups": "Backups screen",
    "logs": "Log view",
}

TABS = Binding.Group("Tabs", compact=True)
TIMESPAN = Binding.Group("Timespan", compact=True)
PAGES = Binding.Group("Page", compact=True)


@dataclass(frozen=True, slots=True)
class Key:
    key: str  # Textual key name
    action: str  # action on the scope's widget (the app for "app")
    label: str  # short, for the footer
    help: str  # one sentence, for the help screen and the command palette
    scope: str = "app"
    changes: bool = False  # changes the server: disabled when read-only
    footer: bool = True
    display: str | None = None
    group: Binding.Group | None = None

    def binding(self) -> Binding:
        return Binding(
            self.key,
            self.action,
            self.label,
            show=self.footer,
            key_display=self.display,
            group=self.group,
        )

    @property
    def shown(self) -> str:
        return self.display or self.key


KEYS: tuple[Key, ...] = (
    Key("1", "show_tab('overview')", "Overview", "Show the Overview tab", group=TABS),
    Key("2", "show_tab('performance')", "Performance", "Show the Performance tab", group=TABS),
    Key("3", "show_tab('jobs')", "Jobs", "Show the Jobs tab", group=TABS),
    Key("4", "show_tab('errors')", "Errors", "Show the Errors tab", group=TABS),
    Key("r", "refresh_now", "Refresh", "Poll the server now"),
    Key("p", "toggle_pause", "Pause", "Pause or resume polling"),
    Key(
        "R",
        "recover_stuck",
        "Recover stuck",
        "Reset stuck jobs to pending (asks first, shows how many)",
        changes=True,
        display="R",
    ),
    Key("b", "backup", "Backup", "Back up the jobs table on the server (asks first)", changes=True),
    Key(
        "B",
        "backups",
        "Backups",
        "List the server's backups: back up, restore or prune from there",
        display="B",
    ),
    Key("l", "log_view", "Logs", "Follow the agent's log file (logging.agent_log in the config)"),
    Key("i", "incident", "Incident", "Classify the incident and write its report (only reads)"),
    Key("t", "switch_target", "Target", "Switch to another target (environment) from the config"),
    Key("question_mark", "help", "Help", "Show every key", display="?"),
    Key("q", "quit", "Quit", "Quit jobtui"),
    # Performance
    Key("h", "timespan(6)", "6h", "Show the last 6 hours", "performance", group=TIMESPAN),
    Key("d", "timespan(24)", "24h", "Show the last 24 hours", "performance", group=TIMESPAN),
    Key("w", "timespan(168)", "7d", "Show the last 7 days", "performance", group=TIMESPAN),
    Key(
        "v",
        "next_chart",
        "Next chart",
        "Show the next chart (where only one fits, as at 80×24)",
        "performance",
    ),
    # Jobs
    Key(
        "slash",
        "search",
        "Search",
        "Search jobs by id, type, message or error",
        "jobs",
        display="/",
    ),
    Key("s", "cycle_status", "Status", "Filter by the next status (all, pending, …)", "jobs"),
    Key("f", "status('failed')", "Failed", "Show only failed jobs", "jobs"),
    Key("a", "status('')", "All", "Show jobs of every status and clear the search", "jobs"),
    Key(
        "left_square_bracket", "page(-1)", "Prev", "Previous page", "jobs", display="[", group=PAGES
    ),
    Key("right_square_bracket", "page(1)", "Next", "Next page", "jobs", display="]", group=PAGES),
    Key("enter", "open_job", "Details", "Open the selected job", "jobs", footer=False),
    Key("e", "retry", "Retry", "Retry the selected job (asks first)", "jobs", changes=True),
    Key(
        "c",
        "cancel_job",
        "Cancel job",
        "Cancel the selected job (asks first)",
        "jobs",
        changes=True,
    ),
    # Errors
    Key("enter", "open", "Open", "List a category's failed jobs, or open a job", "errors"),
    # Job detail
    Key("e", "retry", "Retry", "Retry this job (asks first)", "detail", changes=True),
    Key("c", "cancel_job", "Cancel job", "Cancel this job (asks first)", "detail", changes=True),
    Key("escape", "close", "Close", "Close the job detail", "detail", display="esc"),
    # Backups screen
    Key("b", "backup", "Back up", "Take a backup now (asks first)", "backups", changes=True),
    Key(
        "enter",
        "restore",
        "Restore",
        "Restore the selected backup (a dry run, then type its name)",
        "backups",
        changes=True,
    ),
    Key(
        "x",
        "prune",
        "Prune",
        "Delete backups older than N days (asks, 7 by default)",
        "backups",
        changes=True,
    ),
    Key("r", "reload", "Refresh", "Read the list of backups again", "backups"),
    Key("escape", "close", "Close", "Close the backups screen", "backups", display="esc"),
    # Log view
    Key("escape", "close", "Close", "Close the log view (following stops)", "logs", display="esc"),
)

SCREENS = ("detail", "backups", "logs")  # scopes of a screen: in the palette while it is shown


def scoped(scope: str) -> list[Key]:
    return [k for k in KEYS if k.scope == scope]


def bindings(scope: str) -> list[Binding]:
    """The Textual bindings of one scope, for a widget's ``BINDINGS``."""
    return [k.binding() for k in scoped(scope)]


def changes(action: str, scope: str) -> bool:
    """Whether ``action`` (a method name, without arguments) in ``scope`` changes the server."""
    return any(k.changes and k.action.split("(")[0] == action for k in scoped(scope))
