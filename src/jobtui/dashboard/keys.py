"""The one registry of keys: the footer, the help screen and the command palette read it.

Each :class:`Key` belongs to a scope: ``app`` (works everywhere), a view (``performance``,
``jobs``, ``errors``), a screen (``detail``, ``backups``, ``logs``), whose widget gets the
matching bindings, or ``lists``: every table, picker, log and the help text (see
:mod:`.widgets`). Keys that change something on the server are marked ``changes``:
``--read-only`` (or a 401/403 from the admin check) disables exactly those.

Every key has an id, which the user's keymap (``dashboard.keymap: {id: key}`` in the config)
names to move it: the action's name (``refresh_now``), with its argument after a dot when one
action has several keys (``show_tab.jobs``, ``timespan.24``), or an explicit name where the
argument says nothing (``page.next``, ``status.all``, ``quit.anywhere``). Keys with the same id
in several scopes do the same thing there (``retry`` in the Jobs tab and the job detail,
``close`` on every screen) and move together.

This module imports no Textual at load time: the config reads it to check a keymap, and
commands such as ``jobtui check`` must stay light.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from textual.binding import Binding, BindingType

SCOPES: dict[str, str] = {
    "app": "Everywhere",
    "performance": "Performance tab",
    "jobs": "Jobs tab",
    "errors": "Errors tab",
    "detail": "Job detail",
    "backups": "Backups screen",
    "logs": "Log view",
    "lists": "Every list (tables, target picker, log, this help)",
}

# footer groups, shown compact ("1234 Tabs")
TABS = "Tabs"
TIMESPAN = "Timespan"
PAGES = "Page"
MODIFIERS = ("ctrl", "shift", "alt", "meta", "super", "hyper")
NAMED_KEYS = frozenset(
    (
        "escape enter tab backspace space up down left right home end insert delete "
        "pageup pagedown " + " ".join(f"f{n}" for n in range(1, 25))
    ).split()
)
SHORT_NAMES = {  # Textual's names for these characters, instead of their Unicode ones
    "solidus": "slash",
    "reverse_solidus": "backslash",
    "commercial_at": "at",
    "hyphen_minus": "minus",
    "plus_sign": "plus",
    "low_line": "underscore",
}
VIEWS = ("performance", "jobs", "errors")  # with the app's keys on the main screen
KEY_EXAMPLES = "keys look like x, G, ctrl+r, f5, pagedown or question_mark"


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
    group: str | None = None
    priority: bool = False  # before any widget's own keys, on every screen and dialog
    name: str | None = None  # the id, where the action and its argument do not make one

    @property
    def id(self) -> str:
        """What a keymap calls this key (see the module's docstring)."""
        if self.name:
            return self.name
        action, _, arg = self.action.partition("(")
        arg = arg.rstrip(")").strip("'\"")
        return f"{action}.{arg}" if arg else action

    def binding(self) -> Binding:
        from textual.binding import Binding

        return Binding(
            self.key,
            self.action,
            self.label,
            show=self.footer,
            key_display=self.display,
            group=Binding.Group(self.group, compact=True) if self.group else None,
            priority=self.priority,
            id=self.id,
        )

    @property
    def shown(self) -> str:
        return self.display or self.key

    def shown_with(self, keymap: Mapping[str, str]) -> str:
        """The key as the user sees it once ``keymap`` applies (as written in the config)."""
        return keymap.get(self.id) or self.shown


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
        "Only reset stuck jobs to pending (asks first, shows how many)",
        changes=True,
        display="R",
    ),
    Key(
        "S",
        "system_recovery",
        "System recovery",
        "Full recovery: back up, reset stuck jobs, restart processing (asks first)",
        changes=True,
        display="S",
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
    Key(
        "ctrl+c",
        "quit",
        "Quit",
        "Quit jobtui from any screen or dialog, as in a shell",
        footer=False,
        priority=True,
        name="quit.anywhere",
    ),
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
    Key(
        "a",
        "status('')",
        "All",
        "Show jobs of every status and clear the search",
        "jobs",
        name="status.all",
    ),
    Key(
        "left_square_bracket",
        "page(-1)",
        "Prev",
        "Previous page",
        "jobs",
        display="[",
        group=PAGES,
        name="page.previous",
    ),
    Key(
        "right_square_bracket",
        "page(1)",
        "Next",
        "Next page",
        "jobs",
        display="]",
        group=PAGES,
        name="page.next",
    ),
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
    Key(
        "E",
        "bulk('retry')",
        "Retry all",
        "Retry all failed or cancelled jobs of the filter (dry run)",
        "jobs",
        changes=True,
        display="E",
    ),
    Key(
        "C",
        "bulk('cancel')",
        "Cancel all",
        "Cancel all pending/processing jobs of the filter (dry run)",
        "jobs",
        changes=True,
        display="C",
    ),
    # Errors
    Key("enter", "open", "Open", "List a category's failed jobs, or open a job", "errors"),
    Key(
        "E",
        "bulk('retry')",
        "Retry all",
        "Retry all failed jobs of the category (dry run first)",
        "errors",
        changes=True,
        display="E",
    ),
    Key(
        "C",
        "bulk('cancel')",
        "Cancel all",
        "Cancel its jobs still pending or processing (dry run first)",
        "errors",
        changes=True,
        display="C",
    ),
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
    # Every list: beside the arrows, PgUp/PgDn and Home/End that Textual's widgets have
    Key("j", "cursor_down", "Down", "Down one line (as ↓)", "lists", footer=False),
    Key("k", "cursor_up", "Up", "Up one line (as ↑)", "lists", footer=False),
    Key("g", "first", "Top", "To the first line", "lists", footer=False),
    Key("G", "last", "Bottom", "To the last line", "lists", footer=False, display="G"),
)

SCREENS = ("detail", "backups", "logs")  # scopes of a screen: in the palette while it is shown
PALETTE = ("app", *VIEWS)  # in the palette on every screen


def scoped(scope: str) -> list[Key]:
    return [k for k in KEYS if k.scope == scope]


def bindings(scope: str) -> list[BindingType]:
    """The Textual bindings of one scope, for a widget's ``BINDINGS`` (typed as Textual types
    that class variable, so that a widget can assign this list to it)."""
    return [k.binding() for k in scoped(scope)]


def changes(action: str, scope: str) -> bool:
    """Whether ``action`` (a method name, without arguments) in ``scope`` changes the server."""
    return any(k.changes and k.action.split("(")[0] == action for k in scoped(scope))


def key_problem(key: str) -> str | None:
    """What is wrong with a key as a keymap gives it (one key, or several with commas)."""
    parts = [part.strip() for part in key.split(",")]
    for part in parts:
        if len(part) == 1:
            if not part.isprintable() or part == " ":
                return f"{part!r} is not a key ({KEY_EXAMPLES})"
            continue
        *mods, base = part.split("+")
        bad = [m for m in mods if m not in MODIFIERS]
        if bad or len(set(mods)) != len(mods):
            shown = bad[0] if bad else mods[0]
            return f"{part!r}: {shown!r} is not a modifier (use {', '.join(MODIFIERS)})"
        if not _is_key_name(base):
            return f"{part!r} is not a key ({KEY_EXAMPLES})"
        if len(base) == 1 and not base.isalnum():
            return f"{part!r}: after a modifier, name the character ({_name(base)})"
    return None


def _is_key_name(name: str) -> bool:
    if len(name) == 1:
        return name.isprintable() and name != " "
    if name in NAMED_KEYS or name in SHORT_NAMES.values():
        return True
    if not name or name != name.lower() or " " in name:
        return False
    try:  # a character by its name, as Textual calls it: question_mark, left_parenthesis
        unicodedata.lookup(name.replace("_", " "))
    except KeyError:
        return False
    return True


def _name(character: str) -> str:
    """A character's key name, as Textual gives it (``?`` is ``question_mark``)."""
    name = unicodedata.name(character, character).lower().replace("-", "_").replace(" ", "_")
    return SHORT_NAMES.get(name, name)


def _normal(key: str) -> set[str]:
    """The keys of a key string, each as Textual names it."""
    parts = (part.strip() for part in key.split(","))
    return {_name(p) if len(p) == 1 and not p.isalnum() else p for p in parts}


def _together(a: Key, b: Key) -> bool:
    """Whether two keys can be pressed in one place: one scope; a list inside any of them;
    the app's keys with a tab's; ctrl+c's priority everywhere."""
    scopes = {a.scope, b.scope}
    return (
        a.priority
        or b.priority
        or len(scopes) == 1
        or "lists" in scopes
        or ("app" in scopes and scopes <= {"app", *VIEWS})
    )


def keymap_problem(keymap: Mapping[str, str]) -> tuple[str, str] | None:
    """The first id of ``keymap`` that cannot be used, and why: an unknown id, a key that is
    not one, or a key that another key where it can be pressed already has."""
    ids = {k.id for k in KEYS}
    for binding_id, key in keymap.items():
        if binding_id not in ids:
            return binding_id, "no key has this id (the help screen shows each key's id)"
        problem = key_problem(key)
        if problem:
            return binding_id, problem
    effective = [(k, _normal(keymap.get(k.id) or k.key)) for k in KEYS]
    for binding_id in keymap:
        for mine, wanted in effective:
            if mine.id != binding_id:
                continue
            for other, theirs in effective:
                if other.id != binding_id and wanted & theirs and _together(mine, other):
                    taken = ", ".join(sorted(wanted & theirs))
                    where = SCOPES[other.scope]
                    return binding_id, f"{taken} is already the key of {other.id} ({where})"
    return None
