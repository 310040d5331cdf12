"""The command-line side of logging: --log-level, --log-format, --log-dir, and setting up
logging from them and the config's ``logging:`` section."""

from __future__ import annotations

import argparse
import dataclasses
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jobtui.config import AgentConfig, Config


def add_log_options(p: argparse.ArgumentParser, default_dir: str | None = None) -> None:
    """--log-level / --log-format / --log-dir, for the long-running commands."""
    p.add_argument(
        "--log-level",
        choices=["error", "warn", "info", "http", "debug"],
        help="the lowest level logged (default: logging.level, else info); http logs requests",
    )
    p.add_argument(
        "--log-format",
        choices=["text", "json"],
        help="text for people, json (one object per line) for log shippers (default: text)",
    )
    where = f"default: logging.dir, else {default_dir}" if default_dir else "default: logging.dir"
    p.add_argument(
        "--log-dir",
        metavar="DIR",
        help=f"write rotating error.log and all.log here ({where}; '' for none)",
    )
    p.set_defaults(_log_default_dir=default_dir)


def setup_logging(args: argparse.Namespace, config: Config, secrets: list[str]) -> str | None:
    """Logging as the config and the options say; an error message, or None."""
    from pathlib import Path

    from jobtui import logs
    from jobtui.config import ConfigError

    try:
        cfg = logs.load_logging_config(config)
    except ConfigError as exc:
        return str(exc)
    if args.log_format:
        cfg = dataclasses.replace(cfg, format=args.log_format)
    default_dir = None
    if args.log_dir is not None:
        cfg = dataclasses.replace(
            cfg,
            dir=Path(args.log_dir).expanduser() if args.log_dir else None,
            files=bool(args.log_dir),
        )
    elif getattr(args, "_log_default_dir", None):
        default_dir = Path(args._log_default_dir)
    try:
        logs.setup(args.log_level, cfg, default_dir=default_dir, secrets=secrets)
    except logs.LoggingError as exc:
        return str(exc)
    return None


def agent_secrets(cfg: AgentConfig) -> list[str]:
    """What must never reach a log: the tokens and the database password."""
    from urllib.parse import urlsplit

    out: list[str] = [s for s in (cfg.read_token, cfg.admin_token) if s]
    try:
        password = urlsplit(cfg.database).password
    except ValueError:
        password = None
    if password:
        out.append(password)
    return out
