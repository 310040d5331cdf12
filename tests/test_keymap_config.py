"""``dashboard.keymap``: read and checked with the config, without importing Textual; a bad
entry is one line naming the file and the key, never a crash."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from jobtui.config import ConfigError, load_config
from tests.support import jobtui_cmd


def write(tmp_path: Path, keymap: str) -> Path:
    f = tmp_path / "config.yaml"
    f.write_text(f"dashboard:\n  keymap:\n{keymap}")
    return f


def test_a_keymap_is_read_as_given(tmp_path):
    f = write(tmp_path, "    refresh_now: ctrl+r\n    show_tab.jobs: J,f3\n    last: end\n")
    keymap = load_config(f, env={}).dashboard.keymap
    assert keymap == {"refresh_now": "ctrl+r", "show_tab.jobs": "J,f3", "last": "end"}
    assert load_config(None, env={"XDG_CONFIG_HOME": str(tmp_path / "none")}).dashboard.keymap == {}


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ("refresh: x", "dashboard.keymap.refresh: no key has this id"),
        ("refresh_now: Page_Down", "dashboard.keymap.refresh_now: 'Page_Down' is not a key"),
        ("refresh_now: ctrl+", "dashboard.keymap.refresh_now: 'ctrl+' is not a key"),
        ("refresh_now: hyperr+x", "'hyperr' is not a modifier"),
        ("refresh_now: ", "dashboard.keymap.refresh_now: '' is not a key"),
        ("refresh_now: q", "dashboard.keymap.refresh_now: q is already the key of quit"),
        ("retry: s", "dashboard.keymap.retry: s is already the key of cycle_status (Jobs tab)"),
        ("search: r", "r is already the key of refresh_now (Everywhere)"),
        ("refresh_now: /", "slash is already the key of search (Jobs tab)"),
        ("first: s", "s is already the key of cycle_status (Jobs tab)"),
        ("reload: ctrl+c", "ctrl+c is already the key of quit.anywhere (Everywhere)"),
        ("refresh_now: ctrl+?", "'ctrl+?': after a modifier, name the character (question_mark)"),
    ],
)
def test_a_bad_entry_names_the_file_and_the_key(tmp_path, entry, problem):
    f = write(tmp_path, f"    {entry}\n")
    with pytest.raises(ConfigError) as err:
        load_config(f, env={})
    assert str(err.value).startswith(f"{f}: ")
    assert problem in str(err.value)


def test_keys_can_swap_and_a_key_can_serve_apart_places(tmp_path):
    f = write(tmp_path, "    refresh_now: p\n    toggle_pause: r\n    reload: p\n")
    assert load_config(f, env={}).dashboard.keymap == {
        "refresh_now": "p",
        "toggle_pause": "r",
        "reload": "p",  # the Backups screen's own: the app's keys do not reach it
    }


def test_checking_a_keymap_imports_no_textual_and_a_bad_one_is_one_line(tmp_path):
    f = write(tmp_path, "    refresh_now: ctrl+r\n")
    code = (
        "import sys; from jobtui.config import load_config; "
        f"load_config({str(f)!r}); print('textual' in sys.modules, 'rich' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["False", "False"], out.stderr
    bad = write(tmp_path, "    refresh: x\n")
    run = subprocess.run(
        [*jobtui_cmd("--config", str(bad))], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [
        f"jobtui: {bad}: dashboard.keymap.refresh: no key has this id "
        "(the help screen shows each key's id)"
    ]
