"""What fits the classic SSH terminal (80×24) and what larger terminals get: the footer by
priority, the Overview without scrolling, columns sized to the width, charts at their size."""

from __future__ import annotations

import gc
import re
import weakref
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from rich.console import Console
from textual.widgets import DataTable
from textual.widgets._footer import FooterKey

from jobtui.dashboard.charts import AXIS_ROWS, MIN_ROWS, TimeChart, nice_top, value_ticks
from jobtui.dashboard.columns import Column, fit
from jobtui.dashboard.confirm import ConfirmScreen
from jobtui.dashboard.footer import KeyFooter
from jobtui.dashboard.overview import OverviewView, listing
from tests.dashboard.conftest import make_app, screen, shows, until
from tests.dashboard.test_snapshots import JOBS, fixed, job, settle, started  # noqa: F401
from tests.dashboard.test_snapshots_screens import OK, backups_server  # noqa: F401
from tests.support import Canned, seed_health, seed_metrics

SMALL = (80, 24)


def footer_line(app: Any) -> str:
    return screen(app).splitlines()[-1]


def footer_keys(app: Any) -> tuple[list[FooterKey], list[FooterKey]]:
    """The keys of the dashboard's footer (also behind a dialog): shown, and left out."""
    keys = list(app.main.query_one(KeyFooter).query(FooterKey))
    shown = [k for k in keys if k.display and k.parent.display]
    return shown, [k for k in keys if k not in shown]


async def footer_fits(pilot: Any) -> tuple[str, list[FooterKey], list[FooterKey]]:
    """Wait until the footer is fitted (every key shown ends left of the palette key); its
    line, the keys shown and those left out, read together."""
    app = pilot.app

    def fitted() -> tuple[str, list[FooterKey], list[FooterKey]] | None:
        (shown, hidden), line = footer_keys(app), footer_line(app)
        palette = [k for k in shown if "-command-palette" in k.classes]
        ok = bool(palette) and "^p palette" in line
        ok = ok and all(k.region.right <= palette[0].region.x for k in shown if k not in palette)
        return (line, shown, hidden) if ok else None

    return await until(pilot, fitted, what="a fitted footer")


@pytest.mark.parametrize(
    ("size", "tab"), [(SMALL, "1"), (SMALL, "2"), (SMALL, "3"), ((120, 40), "2"), ((120, 40), "3")]
)
async def test_the_footer_keeps_help_and_quit_and_leaves_out_whole_keys(fixed, size, tab):  # noqa: F811
    async with fixed.run_test(size=size) as pilot:
        await settle(pilot, lambda: started(fixed))
        await pilot.press(tab)
        name = ("overview", "performance", "jobs", "errors")[int(tab) - 1]
        await settle(pilot, lambda: fixed.active_tab == name and fixed.view(name) is not None)
        line, keys, hidden = await footer_fits(pilot)
        assert line.startswith(" 1234 Tabs ? Help q Quit "), line
        assert line.rstrip().endswith("^p palette"), line
        for key in keys:  # each key shown whole, label and all
            label = f"{key.key_display} {key.description}".strip()
            assert label in line, (label, line)
        if size == SMALL:
            assert hidden, line  # 80 columns cannot hold every key: some are left out
        for key in hidden:
            assert f"{key.key_display} {key.description}" not in line


async def test_a_wider_terminal_shows_the_keys_left_out(fixed):  # noqa: F811
    async with fixed.run_test(size=SMALL) as pilot:
        await settle(pilot, lambda: started(fixed))
        line, _, _ = await footer_fits(pilot)
        assert "t Target" not in line
        await pilot.resize_terminal(160, 40)
        await until(pilot, lambda: "t Target" in footer_line(fixed), what="t Target")
        line, _, _ = await footer_fits(pilot)
        assert "i Incident" in line and "p Pause" in line, line


async def test_the_footer_behind_a_dialog_is_fitted_too(fixed):  # noqa: F811
    async with fixed.run_test(size=SMALL) as pilot:
        await settle(pilot, lambda: started(fixed))
        await footer_fits(pilot)
        await pilot.press("R")
        await until(pilot, lambda: isinstance(fixed.screen, ConfirmScreen), what="the dialog")
        await pilot.pause(0.3)  # the footer behind it is rebuilt (its bindings changed)
        line, _, _ = await footer_fits(pilot)
        assert line.startswith(" 1234 Tabs ? Help q Quit "), line


async def test_the_footer_dims_a_disabled_key(fixed):  # noqa: F811
    fixed.read_only = "started with --read-only"
    fixed._flag_read_only = True
    async with fixed.run_test(size=SMALL) as pilot:
        await settle(pilot, lambda: started(fixed))
        _, keys, _ = await footer_fits(pilot)
        recover = next(k for k in keys if k.action == "recover_stuck")
        assert "-disabled" in recover.classes
        help_ = next(k for k in keys if k.action == "help")
        assert "-disabled" not in help_.classes


async def test_a_rebuilt_footer_lets_its_old_keys_go(fixed):  # noqa: F811
    """The footer is rebuilt whenever the bindings change (a tab, focus, a job's actions): the
    keys it removes must be freed, not kept by watchers on the footer (RSS grew ~1 MB per
    rebuild while the demo's stuck jobs came and went), nor their render caches by Textual's
    cache of colours (textual #6665: ~10 MB over 10,000 polls)."""
    async with fixed.run_test(size=SMALL) as pilot:
        await settle(pilot, lambda: started(fixed))
        await footer_fits(pilot)
        footer = fixed.main.query_one(KeyFooter)
        old = [weakref.ref(k) for k in footer.query(FooterKey)]
        drawn = [weakref.ref(k._styles_cache) for k in footer.query(FooterKey)]
        for _ in range(3):  # rebuilt as a change of bindings rebuilds it: from its own pump
            before = set(footer.query(FooterKey))
            footer.call_later(footer.recompose)
            await until(
                pilot,
                lambda before=before: not before & set(footer.query(FooterKey)),
                what="rebuilt",
            )
        await footer_fits(pilot)
        gc.collect()
        alive = [k for k in (r() for r in old) if k is not None]
        assert old and not alive, f"{len(alive)} of {len(old)} removed footer keys still alive"
        kept = [c for c in (r() for r in drawn) if c is not None]
        assert not kept, f"the render caches of {len(kept)} removed footer keys still alive"


async def test_the_footer_is_not_rebuilt_when_its_keys_stay_the_same(fixed):  # noqa: F811
    """Bindings are updated on every focus change; rebuilding the footer each time cost a
    quarter of the start-up time. Only a change of what it shows rebuilds it."""
    async with fixed.run_test(size=SMALL) as pilot:
        await settle(pilot, lambda: started(fixed))
        await footer_fits(pilot)
        footer = fixed.main.query_one(KeyFooter)
        keys = list(footer.query(FooterKey))
        for _ in range(3):  # what a focus change that shows the same keys does
            fixed.screen.bindings_updated_signal.publish(fixed.screen)
            await pilot.pause(0.05)
        await footer_fits(pilot)
        assert list(footer.query(FooterKey)) == keys
        await pilot.press("3")  # the Jobs tab has keys of its own: rebuilt
        await until(pilot, lambda: not set(keys) & set(footer.query(FooterKey)), what="rebuilt")


async def test_the_overview_fits_80x24_without_scrolling(fixed, seed_server):  # noqa: F811
    async with fixed.run_test(size=SMALL) as pilot:
        text = await shows(pilot, "3 stuck", "CPU 12%")
        view = fixed.main.query_one(OverviewView)
        assert view.max_scroll_y == 0, text
        for figure in (
            "▲ WARNING  Queue depth is high",  # status and message
            "▲ WARNING: Queue depth 27 > 20",  # the alerts
            "▲ WARNING: Stuck jobs 3 > 2",
            "Queue depth",  # the four cards, with their figures
            "27 ",
            "Success rate",
            "97.5%",
            "42.0 s",
            "Throughput",
            "120 /h",
            "3 stuck   R  reset to pending",  # the stuck count, with its key
            "CPU 12% · mem 41% · load 0.42",  # the host in one line
        ):
            assert figure in text, (figure, text)


async def test_the_cards_at_80_columns_say_their_lines_whole(fixed):  # noqa: F811
    """At 80 columns a card's title and line take their shorter wording ("5 free slots",
    "last 2s ago") instead of being cut ("5 free worker …", "last finished 0…")."""
    async with fixed.run_test(size=SMALL) as pilot:
        text = await shows(pilot, "CPU 12%")
        rows = text.splitlines()
        at = next(i for i, line in enumerate(rows) if "─ Queue depth" in line)
        top, cards = rows[at], rows[at + 1 : at + 3]  # the titles, the figures and lines
        assert "Avg time" in top or "Processing time" in top, top
        assert "…" not in top, top
        lines = "\n".join(cards)
        assert re.search(r"\d+ free slots|\d+ free\b", lines), lines
        assert re.search(r"last \d+[smhd]", lines), lines
        assert "…" not in lines, lines
        await pilot.resize_terminal(200, 50)
        await until(pilot, lambda: "free worker slots" in screen(fixed), what="the long line")
        assert "last finished" in screen(fixed) and "Avg processing time" in screen(fixed)


async def test_alerts_that_do_not_fit_are_summed_up_never_cut_mid_word(fixed, seed_server):  # noqa: F811
    alerts = [
        "CRITICAL: Error rate 24.0% > 20% over the last 24 hours",
        "WARNING: Queue depth 27 > 20",
        "WARNING: Average processing time 6.2 min > 5 min, the slowest type is story_generation",
        "WARNING: Stuck jobs 3 > 2",
    ]
    health = seed_health(status="critical", health={"alerts": alerts, "stuckJobsCount": 3})
    seed_server.set("GET", "/api/jobs/health", Canned(body=health))
    async with fixed.run_test(size=SMALL) as pilot:
        await shows(pilot, "CRITICAL: Error rate")
        box = fixed.main.query_one("#alerts")
        text = screen(fixed)
        rows = text.splitlines()[box.content_region.y : box.content_region.bottom]
        cells = [r[box.content_region.x : box.content_region.right].rstrip() for r in rows]
        assert re.fullmatch(r"\+[23] more", cells[-1].strip()), cells
        words = set(" ".join(alerts).split())
        for line in cells[:-1]:
            for word in line.replace("▲", " ").replace("…", " ").split():
                assert word in words, (word, cells)  # whole words only


async def test_the_jobs_columns_fit_80_columns_error_and_all(fixed):  # noqa: F811
    async with fixed.run_test(size=SMALL) as pilot:
        await settle(pilot, lambda: started(fixed))
        await pilot.press("3")
        text = await shows(pilot, "pdf_export")
        table = fixed.main.query_one("#jobs-table", DataTable)
        assert table.max_scroll_x == 0, text  # every column on screen, no scrolling
        header = next(line for line in text.splitlines() if " ID " in line)
        for label in ("ID", "Type", "Status", "Tries", "Age", "Duration", "Error"):
            assert label in header.split(), header
        failed = next(line for line in text.splitlines() if "00000002 " in line)
        assert "Database conn…" in failed, failed  # the error, cut with "…"
        assert "7c1e" not in text  # the short id


async def test_a_resize_keeps_the_selected_job(fixed):  # noqa: F811
    async with fixed.run_test(size=(120, 40)) as pilot:
        await settle(pilot, lambda: started(fixed))
        await pilot.press("3")
        await shows(pilot, "pdf_export")
        await pilot.press("down", "down", "down")
        view = fixed.view("jobs")
        await until(pilot, lambda: view.selected() and view.selected().id == JOBS[3]["id"])
        await pilot.resize_terminal(80, 24)
        await until(pilot, lambda: "Progress" not in screen(fixed), what="the 80-column table")
        assert view.selected() is not None and view.selected().id == JOBS[3]["id"]


async def test_the_backups_list_shortens_names_so_size_jobs_and_checksum_show(
    fixed,  # noqa: F811
    backups_server,  # noqa: F811
):
    async with fixed.run_test(size=SMALL) as pilot:
        await settle(pilot, lambda: started(fixed))
        await pilot.press("B")
        await shows(pilot, "Checksum", "9d 1h")
        text = screen(fixed)
        table = fixed.screen.query_one("#backups-table", DataTable)
        assert table.max_scroll_x == 0, text
        header = next(line for line in text.splitlines() if " Name " in line)
        for label in ("Name", "Age", "Size", "Jobs", "Checksum"):
            assert label in header.split(), header
        assert "jobs_backup_2026-11-29T02-00-00…" in text  # shortened with "…"
        for cell in ("5.2 MB", "18,240", "✓ ok", "✗ corrupt"):
            assert cell in text, (cell, text)
        assert f"{OK} · created" in text  # and in full under the table


def job_lines(app: Any) -> int:
    return sum(1 for line in screen(app).splitlines() if re.search(r" [0-9a-f]{8} ", line))


async def test_a_taller_terminal_shows_more_jobs(fixed, seed_server):  # noqa: F811
    jobs = [job(n, "completed") for n in range(100)]
    seed_server.set("GET", "/api/jobs", Canned(body={"jobs": jobs, "nextCursor": None}))
    async with fixed.run_test(size=(120, 40)) as pilot:
        await settle(pilot, lambda: started(fixed))
        await pilot.press("3")
        await until(pilot, lambda: job_lines(fixed) > 20, what="a page of jobs")
        at_120 = job_lines(fixed)
        await pilot.resize_terminal(200, 50)
        await until(pilot, lambda: job_lines(fixed) > at_120, what="more rows at 200×50")


def charts_shown(app: Any) -> list[TimeChart]:
    return [c for c in app.main.query(TimeChart) if c.display]


def serve_metrics(server: Any, n: int, **figures: float) -> None:
    metrics = seed_metrics(n, start=datetime(2026, 11, 29, 1, 0, tzinfo=UTC))
    for m in metrics:
        m.update(figures)
    body = {"count": n, "timespan": "24 hours", "metrics": metrics}
    server.set("GET", "/api/monitoring/metrics", Canned(body=body))


def y_labels(app: Any, chart: TimeChart) -> list[str]:
    """The y axis labels of ``chart`` on screen, top first."""
    r = chart.content_region
    rows = screen(app).splitlines()[r.y : r.bottom]
    return [m.group(1) for line in rows if (m := re.match(r"\s*([\d.]+)┤", line[r.x : r.right]))]


async def test_at_80x24_one_chart_shows_with_a_truthful_axis_and_v_switches(fixed, seed_server):  # noqa: F811
    serve_metrics(seed_server, 120, errorRate=0.0, successRate=100.0)
    async with fixed.run_test(size=SMALL) as pilot:
        await settle(pilot, lambda: started(fixed))
        await pilot.press("2")
        await shows(pilot, "Queue depth over time", "time (UTC)")
        (chart,) = charts_shown(fixed)
        assert chart.size.height - AXIS_ROWS >= MIN_ROWS
        assert y_labels(fixed, chart)[-1] == "0"
        await pilot.press("v")
        text = await shows(pilot, "Success vs. error rate", "error %")
        (chart,) = charts_shown(fixed)
        labels = y_labels(fixed, chart)
        assert labels[0] == "100" and labels[-1] == "0", (labels, text)  # the flat 0 line
        assert "33.3" not in text
        await pilot.press("v")
        await shows(pilot, "Processing performance", "jobs/min")


async def test_v_comes_with_the_short_layout_and_goes_with_it(fixed):  # noqa: F811
    async with fixed.run_test(size=(120, 40)) as pilot:
        await settle(pilot, lambda: started(fixed))
        await pilot.press("2")
        await shows(pilot, "Processing performance", "time (UTC)")
        assert len(charts_shown(fixed)) == 3
        assert "v Next chart" not in footer_line(fixed)
        await pilot.resize_terminal(120, 24)
        await until(pilot, lambda: "v Next chart" in footer_line(fixed), what="v in the footer")
        await until(pilot, lambda: len(charts_shown(fixed)) == 1, what="one chart")
        await pilot.resize_terminal(120, 40)
        await until(pilot, lambda: "v Next chart" not in footer_line(fixed), what="no v")
        await until(pilot, lambda: len(charts_shown(fixed)) == 3, what="three charts")


async def test_a_flat_zero_series_is_labelled_zero(fixed, seed_server):  # noqa: F811
    serve_metrics(seed_server, 120, queueDepth=0)
    async with fixed.run_test(size=(120, 40)) as pilot:
        await settle(pilot, lambda: started(fixed))
        await pilot.press("2")
        await shows(pilot, "Queue depth over time", "time (UTC)")
        chart = fixed.main.query_one("#chart-queue", TimeChart)
        await until(pilot, lambda: y_labels(fixed, chart), what="the queue chart's axis")
        assert y_labels(fixed, chart)[-1] == "0"
        assert value_ticks(nice_top(0), 9) == (
            [0, 0.25, 0.5, 0.75, 1],
            ["0", "0.25", "0.5", "0.75", "1"],
        )


async def test_a_chart_without_the_rows_its_axis_needs_says_so(fixed):  # noqa: F811
    async with fixed.run_test(size=(100, 18)) as pilot:
        await settle(pilot, lambda: started(fixed))
        await pilot.press("2")
        text = await shows(pilot, "Queue depth over time", "more row(s) needed for this chart")
        assert "┤" not in text


async def test_a_wider_terminal_draws_more_points(fixed, seed_server):  # noqa: F811
    serve_metrics(seed_server, 600)
    async with fixed.run_test(size=(120, 40)) as pilot:
        await settle(pilot, lambda: started(fixed))
        await pilot.press("2")
        await shows(pilot, "Processing performance", "time (UTC)")
        charts = list(fixed.main.query(TimeChart))
        await until(pilot, lambda: all(c.points for c in charts), what="charts drawn")
        before = {c.id: c.points for c in charts}
        await pilot.resize_terminal(200, 50)
        await until(
            pilot,
            lambda: all(c.points > before[c.id] for c in charts),
            what=f"more points than {before}",
        )
        assert all(c.points <= 200 for c in charts)  # still about one a column


def test_fit_leaves_out_optional_columns_and_gives_the_rest_to_one():
    cols = (
        Column("A", "a", 10, least=4),
        Column("B", "b", 8, optional=True),
        Column("C", "c", 6),
        Column("Rest", "rest", 5, rest=True),
    )
    assert fit(cols, 100) == {"a": 10, "b": 8, "c": 6, "rest": 100 - 24 - 8 - 5 + 5}
    assert fit(cols, 30) == {"a": 10, "c": 6, "rest": 8}  # B out, A grown, the rest to Rest
    assert fit(cols, 24) == {"a": 7, "c": 6, "rest": 5}  # A between its least and width
    assert fit(cols, 10) == {"a": 4, "c": 6, "rest": 5}  # too narrow: the least, scrolled


def test_listing_sums_up_what_does_not_fit_and_cuts_at_words():
    console = Console(width=80)
    items = ["one two three four five six seven", "eight nine", "ten"]
    text = listing(items, "- ", "", 16, 3, console).plain.splitlines()
    assert text == ["- one two three", "  four five six…", "+2 more"]  # cut at a word
    text = listing(items, "- ", "", 16, 4, console).plain.splitlines()
    assert text == ["- one two three", "  four five six", "  seven", "+2 more"]
    text = listing(items, "- ", "", 16, 5, console).plain.splitlines()
    assert text == ["- one two three", "  four five six", "  seven", "- eight nine", "- ten"]
    text = listing(items, "- ", "", 16, 2, console).plain.splitlines()
    assert text == ["- one two three…", "+2 more"]
    text = listing(["a b c"], "- ", "", 16, 3, console).plain.splitlines()
    assert text == ["- a b c"]


async def test_the_errors_tab_cuts_its_text_with_an_ellipsis_at_80_columns(agent):
    """Was: the Recommendation and Error cells were clipped at the screen's edge, no "…"."""
    from tests.support import add_jobs

    add_jobs(
        agent.store,
        [
            {
                "status": "failed",
                "started": timedelta(minutes=2),
                "finished": timedelta(minutes=1),
                "error": "Database connection failed: " + "x" * 90,
            }
        ],
    )
    app = make_app(agent.url)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("4")
        text = await shows(
            pilot, "Database", "Check database connectivit…", "Database connection faile…"
        )
        assert all(len(line) <= 80 for line in text.splitlines())
