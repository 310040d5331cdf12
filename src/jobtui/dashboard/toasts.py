"""Toasts that never hide what matters: at most three at once (the newest), none over a dialog.

A modal screen asks a question (a confirmation, the target picker, the command palette) or
shows the keys (help): nothing may cover it. While one is on top, new messages wait, and so do
the toasts that were showing; when it closes, the newest three show, each for its whole time —
as k9s keeps its flash line off a prompt, and nothing is dropped unseen. A dialog's answer to
what is typed into it is written inside it. A modal screen one works in (the Backups screen, a
job's detail, the log view) sets ``TOASTS = True``: the outcome of its actions shows over it.

Textual 8 has no public way to cap or hold notifications: this keeps to the App's own
collection and ``_unnotify``, as Textual's Toast widget does.
"""

from __future__ import annotations

from collections import deque
from time import time
from typing import Any

from textual import on
from textual.app import App, ReturnType
from textual.notifications import Notification, Notify
from textual.screen import Screen
from textual.widgets._toast import ToastRack

MAX_TOASTS = 3


def covered(screen: Screen[Any]) -> bool:
    """Whether toasts must wait while ``screen`` is on top."""
    return screen.is_modal and not getattr(screen, "TOASTS", False)


class ToastingApp(App[ReturnType]):
    """An App whose notifications follow the rules above."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.waiting: deque[Notification] = deque(maxlen=MAX_TOASTS)
        self._covered_at = 0.0  # when a dialog last came over the toasts

    def on_mount(self) -> None:
        # immediate: before the new screen's toast rack shows what is current
        self.screen_change_signal.subscribe(self, self._screen_changed, immediate=True)

    @on(Notify)
    def _notified(self, event: Notify) -> None:
        event.prevent_default()  # instead of App's handler, which shows every one
        if not self.screen_stack:
            return  # the app is closing: nobody would see it
        if covered(self.screen):
            self.waiting.append(event.notification)
        else:
            self._show(event.notification)

    def _show(self, *notifications: Notification) -> None:
        for n in notifications:
            self._notifications.add(n)
        for old in list(self._notifications)[:-MAX_TOASTS]:  # oldest first
            self._unnotify(old, refresh=False)
        self._refresh_notifications()

    def _screen_changed(self, screen: Screen[Any]) -> None:
        if covered(screen):
            showing = list(self._notifications)
            if showing:
                self.waiting.extend(showing)
                self._notifications.clear()
                self._hide_racks_below()
        elif self.waiting:
            now = time()
            held = list(self.waiting)
            self.waiting.clear()
            for n in held:
                if n.raised_at > self._covered_at:  # raised while covered: never seen yet
                    n.raised_at = now  # its whole time from when it can be seen
            self._show(*(n for n in held if n.raised_at + n.timeout > now))
        if covered(screen):
            self._covered_at = time()

    def _hide_racks_below(self) -> None:
        """Hide the toast racks of the screens under the one on top: a screen one works in
        (the job detail) keeps its own rack, which would show through a question over it. A
        rack shows again when its screen is on top and shows toasts (``ToastRack.show``)."""
        for below in self.screen_stack[:-1]:
            for rack in below.query(ToastRack):
                rack.display = False
