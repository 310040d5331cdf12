"""Logging with the seed's levels: error, warn, info, http, debug."""

from __future__ import annotations

import logging
import sys

HTTP = 15  # between INFO and DEBUG, as the seed's winston levels have it
logging.addLevelName(HTTP, "HTTP")
logging.addLevelName(logging.WARNING, "WARN")
LEVELS = {"error": logging.ERROR, "warn": logging.WARNING, "info": logging.INFO,
          "http": HTTP, "debug": logging.DEBUG}  # fmt: skip


def setup(level: str = "info") -> None:
    """Console logging for the agent and the commands."""
    root = logging.getLogger()
    root.handlers.clear()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%Y-%m-%d %H:%M:%S")
    )
    root.addHandler(handler)
    root.setLevel(LEVELS.get(level, logging.INFO))
