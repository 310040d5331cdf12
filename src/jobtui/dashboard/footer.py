"""The footer: the keys of the registry, most used first; a key that does not fit the width is
left out whole (never cut mid-label), and the help screen (``?``) and the palette list them all.

Textual's :class:`~textual.widgets.Footer` lays keys out in binding order and lets the last
ones run off the edge. This one orders them by :data:`PRIORITY`, lets Textual lay them out,
then (once its keys have their sizes, also on a screen behind a dialog) hides every key that
ends past the room left of the palette key. It is rebuilt only when the keys it shows change
(a tab, a focus with keys of its own, read-only) or the width does: never on a poll, nor on a
focus change that shows the same keys.
"""

from __future__ import annotations

from collections import defaultdict
from itertools import groupby
from typing import Any

from textual import events
from textual.app import App, ComposeResult
from textual.binding import ActiveBinding, Binding
from textual.dom import DOMNode
from textual.screen import Screen
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
    "system_recovery",  # last: where it fits, it takes nobody's place
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
        self._pending = False  # a recompose is asked for after this refresh
        self._composed: tuple[object, ...] = ()  # the signature of the keys composed

    def _shown(self) -> tuple[tuple[ActiveBinding, ...], ActiveBinding | None]:
        """The keys to show, in footer order, and the palette's key (None: not shown)."""
        active = self.screen.active_bindings
        shown = sorted(
            (a for a in active.values() if a.binding.show),
            key=lambda a: rank(a.node, a.binding),  # stable: registry order within a rank
        )
        palette = active.get(self.app.COMMAND_PALETTE_BINDING)
        if not (self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE):
            palette = None
        return tuple(shown), palette

    def _signature(
        self, keys: tuple[tuple[ActiveBinding, ...], ActiveBinding | None] | None = None
    ) -> tuple[object, ...]:
        """What the keys look like (those of ``_shown`` unless given): equal signatures
        compose equal footers."""
        shown, palette = keys or self._shown()
        return tuple(a[1:] for a in (*shown, palette) if a is not None), self.compact

    def bindings_changed(self, screen: Screen[object]) -> None:
        """Recompose once, after this refresh, and only if the keys shown have changed: the
        bindings are updated on every focus change, most of which show the same keys."""
        self._bindings_ready = True
        if not screen.app.app_focus or not self.is_attached or screen is not self.screen:
            return
        if not self._pending and self._signature() != self._composed:
            self._pending = True
            self.call_after_refresh(self._recompose_pending)

    async def _recompose_pending(self) -> None:
        self._pending = False
        if self._signature() != self._composed:
            await self.recompose()

    def compose(self) -> ComposeResult:
        if not self._bindings_ready:
            return
        keys = self._shown()
        self._composed = self._signature(keys)
        shown, palette = keys
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
        if palette:
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
            for item in self.children:  # laid out again at full length, then fitted
                item.display = True
            self.fit_soon()

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
