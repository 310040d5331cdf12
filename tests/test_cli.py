"""The command line: every command has --help, global options work on either side."""

from __future__ import annotations

import subprocess
import sys

import pytest

from jobtui.cli import COMMANDS, build_parser


@pytest.mark.parametrize(
    "argv",
    [
        ["--url", "http://a", "--target", "t", "check"],
        ["check", "--url", "http://a", "--target", "t"],
    ],
)
def test_global_options_on_either_side_of_the_command(argv):
    args = build_parser().parse_args(argv)
    assert (args.url, args.target) == ("http://a", "t")


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args([command, "--help"])
    assert exc.value.code == 0
    assert "usage: jobtui " + command in capsys.readouterr().out


def test_python_dash_m():
    r = subprocess.run(
        [sys.executable, "-m", "jobtui", "--help"], capture_output=True, text=True, timeout=30
    )
    assert r.returncode == 0
    for command in COMMANDS:
        assert command in r.stdout
