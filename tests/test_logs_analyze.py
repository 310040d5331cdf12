"""``jobtui logs analyze``: the seed's report on generated logs with known counts."""

from __future__ import annotations

import gzip
import json
import subprocess

import pytest

from jobtui.logs.analyze import MAX_LINE, analyze, normalise
from jobtui.logs.patterns import read_line
from tests.log_support import generate
from tests.support import jobtui_cmd


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(jobtui_cmd(*args), capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    path = tmp_path_factory.mktemp("logs") / "all.log"
    return path, generate(path, lines=30_000)


def test_counts_match_the_generated_log(generated):
    path, exp = generated
    r = run("logs", "analyze", str(path), "--format", "json")
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    assert (got["lines"], got["bytes"]) == (exp.lines, exp.bytes)
    assert got["critical"]["total"] == sum(exp.critical.values())
    assert {k: v for k, v in got["critical"]["patterns"].items() if v} == dict(exp.critical)
    assert got["warnings"]["total"] == sum(exp.warning.values())
    assert {k: v for k, v in got["warnings"]["patterns"].items() if v} == dict(exp.warning)
    assert got["successes"]["total"] == sum(exp.success.values())
    assert got["jobs"] == {"created": exp.created, "completed": exp.completed, "failed": exp.failed}
    assert got["errorLines"] == sum(exp.errors.values())
    assert [(e["count"], e["message"]) for e in got["topErrors"]] == [
        (n, m) for m, n in exp.errors.most_common(10)
    ]


def test_blocks_of_any_size_give_the_same_report(generated):
    path, _ = generated
    assert analyze(path, block=997).to_json() | {"seconds": 0} == analyze(path).to_json() | {
        "seconds": 0
    }


def test_parallel_ranges_add_up_to_the_same_report(generated, monkeypatch):
    import jobtui.logs.analyze as analyze_module

    path, _ = generated
    monkeypatch.setattr(analyze_module, "PARALLEL_MIN", 0)
    one = analyze(path, workers=1).to_json() | {"seconds": 0}
    for workers in (2, 7):  # 7 cuts land mid-line
        report = analyze(path, workers=workers, block=4096).to_json()
        assert report["processes"] == workers
        assert report | {"seconds": 0, "processes": 1} == one


def test_text_report_has_the_seeds_sections(generated):
    path, exp = generated
    r = run("logs", "analyze", str(path))
    assert r.returncode == 0
    out = r.stdout
    for heading in (
        "Log Analysis Report - ",
        f"Critical Errors: {sum(exp.critical.values()):,}",
        f"Warnings: {sum(exp.warning.values()):,}",
        f"Successful Operations: {sum(exp.success.values()):,}",
        "Most Common Errors (",
        f"Total jobs created: {exp.created:,}",
        f"Jobs completed: {exp.completed:,}",
        f"Jobs failed: {exp.failed:,}",
    ):
        assert heading in out
    assert "Job failed: <id> - Out of memory: worker heap limit of <n> MB reached" in out


def test_a_plain_log_counts_patterns_on_lines_without_levels(tmp_path):
    path = tmp_path / "app.log"
    path.write_text(
        "Database connection failed (pool exhausted)\n"
        "Slow database query: 2.3 s\n"
        "Processing completed\n"
        "Job completed: 42\n"
        "Created pdf_export job: 43\n"
        "Job failed: 43 - Invalid input\n"
        "something else entirely\n"
    )
    report = analyze(path)
    assert dict(report.totals) == {"critical": 1, "warning": 1, "success": 1}
    assert (report.jobs_created, report.jobs_completed, report.jobs_failed) == (1, 1, 1)
    assert report.error_lines == 0  # no line says it is an error


def test_gzip_and_over_long_lines(tmp_path):
    path = tmp_path / "all.log.1.gz"
    long = "2026-11-29 03:00:00.000 ERROR jobtui.agent: Out of memory " + "x" * (3 * MAX_LINE)
    with gzip.open(path, "wt") as f:
        f.write(f"{long}\n2026-11-29 03:00:01.000 INFO jobtui.demo: Job completed: 1\n")
    report = analyze(path, block=MAX_LINE // 2)
    assert report.lines == 2 and report.totals["critical"] == 1 and report.jobs_completed == 1


def test_formats_are_read_alike():
    ours = read_line("2026-11-29 03:00:00.123 WARN jobtui.demo: High queue depth: 60")
    winston = read_line("\x1b[33m2026-11-29 03:00:00:123 warn: High queue depth: 60\x1b[39m")
    js = read_line(
        '{"timestamp": "t", "level": "warn", "logger": "jobtui.demo", "message": "High queue depth: 60"}'
    )
    bracket = read_line("[2026-11-29T03:00:00Z] [warning] High queue depth: 60")
    for line in (ours, winston, js, bracket):
        assert (line.level, line.message) == ("warn", "High queue depth: 60")
    assert read_line("GET http://x/ 200").level is None  # a URL is not the http level
    assert normalise("Job 1b4e28ba-2fa1-11d2-883f-0016d3cca427 on 10.0.0.5:5432 took 12ms") == (
        "Job <id> on <ip> took <n>"
    )


def test_a_missing_file_is_one_line_and_exit_2(tmp_path):
    r = run("logs", "analyze", str(tmp_path / "nope.log"))
    assert r.returncode == 2
    assert r.stderr == f"jobtui logs analyze: {tmp_path / 'nope.log'}: no such file\n"
    bad = tmp_path / "bad.gz"
    bad.write_bytes(b"not gzip at all")
    r = run("logs", "analyze", str(bad))
    assert r.returncode == 2  # a bad input, like a missing one
    assert r.stderr == f"jobtui logs analyze: {bad}: cannot read: Not a gzipped file (b'no')\n"


def test_view_styles_levels_and_patterns():
    from jobtui.logs.view import styled

    s = styled("2026-11-29 03:00:00.123 ERROR jobtui.demo: Job failed: 7 - Out of memory")
    assert (s.level, s.style) == ("error", "red")
    ((start, end, style),) = s.spans
    assert s.text[start:end] == "Out of memory" and "red" in style
    js = styled(
        '{"timestamp": "t", "level": "info", "logger": "x", "message": "Processing completed"}'
    )
    assert js.text == "t INFO x: Processing completed" and js.style == "green"
    assert js.spans[0][2] == "bold green"


def test_tail_and_follow_across_rotation(tmp_path):
    from jobtui.logs.view import Follower, tail

    log = tmp_path / "all.log"
    log.write_text("".join(f"line {i}\n" for i in range(1000)))
    assert tail(log, 3) == ["line 997", "line 998", "line 999"]
    assert tail(log, 5, max_bytes=30)[-1] == "line 999" and "ine 996" not in tail(log, 5, 30)
    f = Follower(log)
    assert f.poll() == []
    with log.open("a") as w:
        w.write("new 1\nhalf")
    assert f.poll() == ["new 1"]
    with log.open("a") as w:
        w.write(" done\n")
    assert f.poll() == ["half done"]
    log.rename(tmp_path / "all.log.1")
    assert f.poll() == []  # between the rename and the new file
    log.write_text("after rotation\n")
    assert f.poll() == ["after rotation"]


def test_follow_a_line_without_end_in_bounded_pieces(tmp_path):
    from jobtui.logs.view import Follower

    log = tmp_path / "all.log"
    log.write_text("")
    f = Follower(log, max_bytes=100)
    for expected in ([], ["x" * 120], [], ["x" * 120]):
        with log.open("a") as w:
            w.write("x" * 60)  # a writer that never ends its line
        assert f.poll() == expected
        assert len(f._partial) < 100  # what waits for its newline stays within the bound
