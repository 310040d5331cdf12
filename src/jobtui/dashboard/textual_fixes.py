"""Work-arounds for Textual bugs that cost the dashboard something measured, each with its
upstream issue; each applies only while the bug is there."""

from __future__ import annotations

import functools

from textual._styles_cache import StylesCache
from textual.color import Color
from textual.style import Style


@functools.lru_cache(1024)
def _inner_outer(base_background: Color, background: Color) -> tuple[Style, Style]:
    """``StylesCache.get_inner_outer`` without the instance in its key."""
    return Style(background=base_background + background), Style(background=base_background)


def apply() -> None:
    """Textual #6665: ``StylesCache.get_inner_outer`` is an ``lru_cache`` on a method, so its
    key holds the ``StylesCache``: up to 1,024 caches of widgets long removed (a footer's keys,
    a toast), with every strip they drew, stay alive. RSS grew ~10 MB over 10,000 polls."""
    method = StylesCache.__dict__.get("get_inner_outer")
    if isinstance(method, functools._lru_cache_wrapper):
        method.cache_clear()
        # A method cached per instance, replaced by a function cached per pair of colours.
        StylesCache.get_inner_outer = staticmethod(_inner_outer)  # type: ignore[assignment,method-assign]
