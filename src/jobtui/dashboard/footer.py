"""The footer: the keys of the registry, most used first; a key that does not fit the width is
left out whole (never cut mid-label), and the help screen (``?``) and the palette list them all.

Textual's :class:`~textual.widgets.Footer` lays keys out in binding order and lets the last
ones run off the edge. This one orders them by :data:`PRIORITY`, lets Textual lay them out,
then (once its keys have their sizes, also on a screen behind a dialog) hides every key that
ends past the room left of the palette key. It is rebuilt only when the bindings change
(focus, a tab, read-only) or the width does: never on a poll.
"""

from __future__ import annotations

from collections import defaultdict
from itertools import groupby
from typing import Any

from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.dom import DOMNode
from textual.widget import Widget
from textual.widgets import Footer
from textual.widgets._footer import FooterKey, FooterLabel, KeyGroup

OWN = ""  # the place of the keys of the tab or screen shown
PRIORITY: tuple[str, ...] = (
    "show_tab",
    "help",
    "quit",
    OWN,
    "refresh_now",
    "recover_stuck",
    "backup",
    "backups",
    "log_view",
    "incident",
    "switch_target",
    "toggle_pause",
)
"""App actions (names without arguments) in the order the footer shows them; the keys of the
tab or screen shown (in registry order) come at :data:`OWN`, app keys not listed last."""


def rank(namespace: DOMNode, binding: Binding) -> int:
    """Where a binding goes in the footer (lower is further left, kept first)."""
    if not isinstance(namespace, App):
        return PRIORITY.index(OWN)
    name = binding.action.split("(")[0]
    return PRIORITY.index(name) if name in PRIORITY else len(PRIORITY)


class FittedKey(FooterKey):
    """A footer key that has its footer fitted once it is laid out."""

    def on_resize(self, event: events.Resize) -> None:
        for footer in self.ancestors_with_self:
            if isinstance(footer, KeyFooter):
                footer.fit_soon()
                return


class KeyFooter(Footer):
    """A footer whose keys are laid out by priority and left out whole when they do not fit;
    a key whose action is disabled (``check_action`` answers None) is shown dimmed."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._width = 0
        self._fitting = False

    def compose(self) -> ComposeResult:
        if not self._bindings_ready:
            return
        active = self.screen.active_bindings
        shown = sorted(
            (a for a in active.values() if a.binding.show),
            key=lambda a: rank(a.node, a.binding),  # stable: registry order within a rank
        )
        by_action: defaultdict[str, list[tuple[Binding, bool, str]]] = defaultdict(list)
        for a in shown:
            by_action[a.binding.action].append((a.binding, a.enabled, a.tooltip))
        for group, runs in groupby(by_action.values(), lambda run: run[0][0].group):
            multi = list(runs)
            if group is not None and len(multi) > 1:
                with KeyGroup(classes="-compact" if group.compact else ""):
                    for binding, enabled, tooltip in (run[0] for run in multi):
                        yield self._key(
                            binding,
                            "",
                            disabled=not enabled,
                            tooltip=tooltip or binding.description,
                            classes="-grouped",
                        )
                yield FooterLabel(group.description)
                continue
            for binding, enabled, tooltip in (run[0] for run in multi):
                yield self._key(binding, binding.description, disabled=not enabled, tooltip=tooltip)
        palette = active.get(self.app.COMMAND_PALETTE_BINDING)
        if self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE and palette:
            yield FittedKey(
                palette.binding.key,
                self.app.get_key_display(palette.binding),
                palette.binding.description,
                palette.binding.action,
                classes="-command-palette",
                disabled=not palette.enabled,
                tooltip=palette.binding.tooltip or palette.binding.description,
            )

    def _key(self, binding: Binding, description: str, **kwargs: Any) -> FittedKey:
        """A key with this footer's ``compact``, set rather than bound: a ``data_bind`` watcher
        stays on the footer after a recompose removes the key, keeping every removed key (with
        its styles and render caches) alive for as long as the footer lives."""
        key = FittedKey(
            binding.key, self.app.get_key_display(binding), description, binding.action, **kwargs
        )
        key.compact = self.compact
        return key

    def watch_compact(self, compact: bool) -> None:
        if self._bindings_ready:
            self.call_after_refresh(self.recompose)

    def on_resize(self, event: events.Resize) -> None:
        if event.size.width != self._width and self._bindings_ready:
            self.call_after_refresh(self.recompose)  # laid out again at full length, then fit

    def fit_soon(self) -> None:
        """Fit after this layout (every key laid out in it tells: one fit for them all)."""
        if not self._fitting:
            self._fitting = True
            self.call_after_refresh(self.fit)

    def fit(self) -> None:
        """Hide every key from the first one that ends past the room (the palette key's left)."""
        self._fitting = False
        self._width = self.size.width
        items: list[Widget] = [w for w in self.children if "-command-palette" not in w.classes]
        palette = [w for w in self.children if "-command-palette" in w.classes]
        right = palette[0].region.x if palette else self.content_region.right
        cut = next((i for i, w in enumerate(items) if w.region.right > right), len(items))
        if cut < len(items) and isinstance(items[cut], FooterLabel):
            cut -= 1  # a group's label goes with its keys
        for item in items[cut:]:
            item.display = False
