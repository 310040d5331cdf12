"""The bounds of every parameter the API takes: the routes enforce them, ``/openapi.json``
publishes them."""

from __future__ import annotations

MAX_HOURS = 168  # ?hours= and a bulk action's hours: a week
PAGE_LIMIT = 500  # jobs a page holds at most (?limit=)
PAGE_DEFAULT = 50
MAX_TYPE = 100  # characters in a type filter
MAX_Q = 200  # characters in a search
MAX_CATEGORY = 100
MAX_CURSOR = 500
MAX_BULK_LIMIT = 1_000_000  # jobs one bulk action takes at most
MAX_PRUNE_DAYS = 3650  # ?olderThanDays=
PRUNE_DEFAULT_DAYS = 7
