"""The commands that run from cron and scripts never load the dashboard's libraries.

``jobtui check`` every minute must not pay for Textual or Rich (≈0.3 s and 20 MB each time),
and a command that imported them by accident would also fail where they are not installed.
Each command runs in a fresh interpreter, for real, against a real agent; then the modules
it loaded are listed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

HEAVY = ("textual", "rich", "plotext", "textual_plotext")
RUN = """
import json, sys
from jobtui.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
heavy = sorted({m.split(".")[0] for m in sys.modules} & set(json.loads(HEAVY)))
print("\\nLOADED " + json.dumps({"code": code, "heavy": heavy}))
"""


def loaded(args: list[str], cwd: Path) -> dict[str, Any]:
    """Run ``jobtui ARGS`` in a fresh interpreter; its exit code and the heavy modules."""
    script = RUN.replace("json.loads(HEAVY)", repr(json.dumps(HEAVY)).join(["json.loads(", ")"]))
    proc = subprocess.run(
        [sys.executable, "-c", script, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    last = proc.stdout.rsplit("\nLOADED ", 1)
    assert len(last) == 2, f"{args} did not finish: {proc.stdout[-500:]}{proc.stderr[-2000:]}"
    return json.loads(last[1])


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_commands_never_import_the_dashboard(agent: Any, tmp_path: Path) -> None:
    log = tmp_path / "all.log"
    log.write_text("2026-11-29T03:00:00Z ERROR job 1 failed: connection timeout\n")
    config = tmp_path / "config.yaml"
    config.write_text(
        f"targets:\n  local:\n    url: {agent.url}\n"
        f"watch:\n  state_file: {tmp_path / 'watch.json'}\n"
        f"incident:\n  dir: {tmp_path / 'incidents'}\n"
    )
    url = ["--config", str(config)]
    commands = [
        ["check", *url],
        ["watch", "--once", *url],
        ["backup", *url],
        ["backups", *url],
        ["errors", *url],
        ["capacity", *url],
        ["incident", *url],
        ["logs", "analyze", str(log)],
    ]
    for args in commands:
        result = loaded(args, tmp_path)
        assert result["heavy"] == [], f"jobtui {' '.join(args)} imported {result['heavy']}"
        assert result["code"] in (0, 1), f"jobtui {' '.join(args)} failed: {result}"


def test_the_probe_sees_an_import():
    """The check above can fail: the dashboard's module does load Textual."""
    script = "import sys, jobtui.dashboard.app; print('textual' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "True"


@pytest.mark.parametrize(
    ("argv", "commands"),
    [
        (["--url", "http://127.0.0.1:1"], []),
        (["--url", "http://127.0.0.1:1", "check"], ["check"]),
        (["backups", "--target", "staging"], ["backup", "common"]),
    ],
)
def test_parsing_imports_only_the_named_commands(argv: list[str], commands: list[str]) -> None:
    """On the dashboard's way to its first frame, no other command's module (``serve``'s log
    options import all of logging's handlers) is imported to build the parser."""
    script = (
        "import json, sys; from jobtui.cli import build_parser; "
        f"build_parser({argv!r}).parse_args({argv!r}); "
        "print(json.dumps(sorted(m.rsplit('.', 1)[1] for m in sys.modules "
        "if m.startswith('jobtui.commands.') and m != 'jobtui.commands.argtypes')))"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert json.loads(out.stdout) == commands, out.stderr


def test_the_first_frame_imports_only_the_overview() -> None:
    """The dashboard's module brings the Overview and the app's chrome; each other tab, screen
    and Textual's DataTable (with Rich's pretty printer and attrs) is imported when first shown.
    Each of them cost the first frame time (about 0.1 s of the 0.47 s to first data)."""
    later = [
        "jobtui.dashboard.jobs",
        "jobtui.dashboard.errors",
        "jobtui.dashboard.performance",
        "jobtui.dashboard.detail",
        "jobtui.dashboard.backups",
        "jobtui.dashboard.targets",
        "jobtui.dashboard.help",
        "jobtui.dashboard.lists",
        "textual.widgets._data_table",
    ]
    script = (
        "import json, sys, jobtui.dashboard.app; "
        f"print(json.dumps([m for m in {later!r} if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert json.loads(out.stdout) == [], out.stderr
