"""The actions that change or read the server, each confirmed first: recover stuck jobs, the
seed's system recovery (its own key, and ``R``'s fallback where recover-stuck is missing), a
backup, an incident report, another target, a job's retry or cancel; and the failed jobs of
the highlighted error category.

A layer of the app (like :class:`~jobtui.dashboard.toasts.ToastingApp`): every request goes
through :meth:`ServerActions.request`, on the poller's loop, never in the UI thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from rich.text import Text
from textual import on, work
from textual.app import App

from jobtui.config import Config, ConfigError, DashboardConfig, Target
from jobtui.dashboard.confirm import ConfirmScreen
from jobtui.dashboard.messages import CategoryHighlighted, JobAction, JobChosen
from jobtui.dashboard.widgets import literal
from jobtui.errors import NotProvided, describe

if TYPE_CHECKING:
    from textual.notifications import SeverityLevel

    from jobtui.client import Client
    from jobtui.contract import ErrorCategory, Job, RecoveryResult
    from jobtui.dashboard.detail import JobDetailScreen
    from jobtui.dashboard.poller import Poller
    from jobtui.dashboard.recovery import RecoveryScreen
    from jobtui.dashboard.state import State

T = TypeVar("T")
CATEGORY_JOBS = 20  # failed jobs fetched for the highlighted category


class ServerActions(App[int]):
    """The app's actions on the server; the rest of the app is the dashboard's."""

    if TYPE_CHECKING:  # the dashboard's, used here
        target: Target
        targets: dict[str, Target]
        config: Config
        settings: DashboardConfig
        state: State
        poller: Poller

        def retarget(self, target: Target) -> None: ...
        def view(self, tab: str) -> Any: ...

    _incident = False  # a report is being written
    _recovering = False  # a system recovery's request is on its way

    async def request(self, fn: Callable[[Client], Awaitable[T]]) -> T:
        """One request on the poller's loop (never in the UI thread)."""
        return await asyncio.wrap_future(self.poller.call(fn))

    def _failed(self, what: str, exc: BaseException) -> None:
        severity: SeverityLevel = "warning" if isinstance(exc, NotProvided) else "error"
        self.notify(f"{what}: {describe(exc)}", severity=severity, timeout=8)

    @work(exclusive=True, group="action", exit_on_error=False)
    async def action_recover_stuck(self) -> None:
        h = self.state.health.value
        count = "an unknown number of" if h is None else str(h.health.stuck_jobs_count)
        body = Text()
        body.append(f"Reset {count} stuck job(s) on ")
        body.append(literal(self.target.name))
        body.append(" to pending?\n\n")
        body.append(
            "Stuck: processing, with no update for a while (the server decides how long). "
            "Jobs past their last attempt are marked failed instead.",
            style="dim",
        )
        if not await self.push_screen_wait(ConfirmScreen("Recover stuck jobs", body, "Recover")):
            return
        try:
            result = await self.request(lambda c: c.recover_stuck())
        except Exception as exc:
            if isinstance(exc, NotProvided):
                await self._system_recovery()
                return
            self._failed("Recover stuck jobs", exc)
            return
        text = f"Recovered {result.recovered} stuck job(s)"
        if result.failed:
            text += f"; {result.failed} failed (maximum retries exceeded)"
        self.notify(text + ".", title="Recover stuck jobs", timeout=8)
        self.poller.kick()

    async def _system_recovery(self) -> None:
        """The seed's recovery, offered by ``R`` on a server without recover-stuck."""
        body = Text(
            "This server does not provide recover-stuck.\n\n"
            "Run its system recovery instead (S)? It backs up the jobs table, resets stuck "
            "jobs and restarts processing."
        )
        if not await self.push_screen_wait(ConfirmScreen("System recovery", body, "Run recovery")):
            return
        await self._start_recovery()

    @work(exclusive=True, group="action", exit_on_error=False)
    async def action_system_recovery(self) -> None:
        """The seed's System Recovery button: back up, reset stuck jobs, restart processing;
        confirmed, then each step's result shown."""
        from jobtui.dashboard.recovery import TITLE, recovery_question

        if self._recovering:
            self.notify("The system recovery is running…", title=TITLE, timeout=3)
            return
        h = self.state.health.value
        stuck = None if h is None else h.health.stuck_jobs_count
        body = recovery_question(self.target.name, stuck)
        if not await self.push_screen_wait(ConfirmScreen(TITLE, body, "Run recovery")):
            return
        await self._start_recovery()

    async def _start_recovery(self) -> None:
        """Show the recovery's view and send it, in a worker of its own: another action
        started once the view is closed does not cancel it (the outcome then is a toast)."""
        from jobtui.dashboard.recovery import RecoveryScreen

        if self._recovering:
            return
        self._recovering = True
        screen = RecoveryScreen(self.target.name)
        await self.push_screen(screen)
        self._recover(screen)

    @work(group="recovery", exit_on_error=False)
    async def _recover(self, screen: RecoveryScreen) -> None:
        from jobtui.dashboard.recovery import TITLE, summary

        outcome: RecoveryResult | BaseException
        try:
            outcome = await self.request(lambda c: c.recovery())
        except Exception as exc:
            outcome = exc
        finally:
            self._recovering = False
        if screen in self.screen_stack:
            screen.show(outcome)
        else:
            line, ok = summary(outcome)
            self.notify(line, title=TITLE, severity="information" if ok else "error", timeout=15)
        self.poller.kick()

    @work(exclusive=True, group="action", exit_on_error=False)
    async def action_backup(self) -> None:
        try:
            listing = await self.request(lambda c: c.backups())
        except Exception as exc:
            self._failed("Backup", exc)
            return
        from jobtui.dashboard.backups import backed_up, backup_question

        question = backup_question(self.target.name, listing.backups, self.state.clock())
        if not await self.push_screen_wait(question):
            return
        try:
            r = await self.request(lambda c: c.create_backup())
        except Exception as exc:
            self._failed("Backup", exc)
            return
        self.notify(backed_up(r), title="Backup", timeout=8)

    def action_backups(self) -> None:
        """The Backups screen; its keys that change the server are off when read-only."""
        from jobtui.dashboard.backups import BackupsScreen

        if isinstance(self.screen, BackupsScreen):
            return
        self.push_screen(
            BackupsScreen(self.target.name, self.request, self.state.clock, self.poller.kick)
        )

    @work(group="incident", exit_on_error=False)
    async def action_incident(self) -> None:
        """Classify the incident and write its report (reads only: allowed when read-only)."""
        if self._incident:
            self.notify("The incident report is being written…", timeout=3)
            return
        self._incident = True
        self.notify("Writing the incident report…", title="Incident", timeout=4)
        target, config = self.target, self.config
        secrets = [target.token] if target.token else []

        async def write(c: Client) -> Any:
            from jobtui.alerting.observe import target_label  # off the UI thread
            from jobtui.incident import write_report

            return await write_report(c, config, target=target_label(target), secrets=secrets)

        try:
            written = await self.request(write)
        except Exception as exc:
            if isinstance(exc, ConfigError):
                reason = str(exc)
            elif isinstance(exc, OSError):
                reason = f"cannot write it: {exc.strerror or exc}"
            else:
                reason = describe(exc)
            self.notify(f"Incident report not written: {reason}", severity="error", timeout=10)
            return
        finally:
            self._incident = False
        level = written.assessment.severity
        severity: SeverityLevel = (
            "error" if level in (1, 2) else "warning" if level == 3 else "information"
        )
        self.notify(
            f"{written.assessment.title}\nReport: {written.path}",
            title="Incident report",
            severity=severity,
            timeout=20,
        )

    @work(exclusive=True, group="action", exit_on_error=False)
    async def action_switch_target(self) -> None:
        choices = list(self.targets.values())
        if not any(t.url == self.target.url for t in choices):
            choices.insert(0, self.target)
        if len(choices) < 2:
            self.notify(
                "Only one target. List environments under `targets:` in the config file "
                "(see config.example.yaml), then press t.",
                timeout=8,
            )
            return
        from jobtui.dashboard.targets import TargetScreen

        chosen = await self.push_screen_wait(TargetScreen(choices, self.target))
        if chosen is None or (chosen.url == self.target.url and chosen.name == self.target.name):
            return
        self.retarget(chosen)
        self.notify(f"Now watching {chosen.name} ({chosen.url}).", timeout=4)

    # ------------------------------------------------------------------ jobs

    @on(JobChosen)
    def _job_chosen(self, message: JobChosen) -> None:
        if message.what == "open":
            self.open_job(message.job)
        else:
            self.job_action(message.job, message.what)

    @work(group="detail", exit_on_error=False)
    async def open_job(self, job: Job) -> None:
        """The job's detail, read again every health poll while it is open: what it shows and
        offers (retry, cancel) follows the job as workers move it on."""
        from jobtui.dashboard.detail import JobDetailScreen

        screen = JobDetailScreen(job, self.state.clock())
        await self.push_screen(screen)
        while screen in self.screen_stack:
            if not self.poller.paused:
                await self._reread(screen)
            await asyncio.sleep(self.settings.health_interval)

    async def _reread(self, screen: JobDetailScreen) -> None:
        try:
            fresh = await self.request(lambda c: c.job(screen.job.id))
        except Exception as exc:
            screen.show(None, self.state.clock(), f"could not refresh: {describe(exc)}")
            return
        screen.show(fresh, self.state.clock())

    @work(exclusive=True, group="action", exit_on_error=False)
    async def job_action(self, job: Job, what: JobAction) -> None:
        from jobtui.dashboard.detail import JobDetailScreen

        verb = {"retry": "Retry", "cancel": "Cancel"}[what]
        body = Text()
        body.append(f"{verb} job ")
        body.append(literal(job.id))
        body.append("?\n\n")
        body.append(literal(job.type, "dim"))
        body.append(
            f" · {job.status} · attempt {job.attempts} of {job.max_attempts}\n", style="dim"
        )
        body.append(
            "It goes back to pending, to run again."
            if what == "retry"
            else "It will not run; a worker that holds it stops at its next update.",
            style="dim",
        )
        label = "Retry" if what == "retry" else "Cancel job"
        if not await self.push_screen_wait(ConfirmScreen(f"{verb} job", body, label)):
            return
        try:
            if what == "retry":
                changed = await self.request(lambda c: c.retry_job(job.id))
            else:
                changed = await self.request(lambda c: c.cancel_job(job.id))
        except Exception as exc:
            self._failed(f"{verb} job {job.id}", exc)
            if isinstance(self.screen, JobDetailScreen) and self.screen.job.id == job.id:
                await self._reread(self.screen)  # e.g. a 409: show what the job is now
            return
        self.notify(f"Job {job.id} is now {changed.status}.", title=f"{verb} job", timeout=6)
        if isinstance(self.screen, JobDetailScreen):
            self.screen.show(changed, self.state.clock())
        self.poller.kick("jobs", "health", "errors")

    # ------------------------------------------------------------------ errors

    @on(CategoryHighlighted)
    def _category(self, message: CategoryHighlighted) -> None:
        self.load_category(message.category)

    @work(exclusive=True, group="category", exit_on_error=False)
    async def load_category(self, category: ErrorCategory) -> None:
        ids = category.job_ids[:CATEGORY_JOBS]

        async def fetch(c: Client) -> list[Any]:
            return await asyncio.gather(*(c.job(i) for i in ids), return_exceptions=True)

        problem = None
        jobs: list[Job] = []
        if ids:
            try:
                answers = await self.request(fetch)
            except Exception as exc:
                answers, problem = [], describe(exc)
            failures = [a for a in answers if isinstance(a, BaseException)]
            jobs = [a for a in answers if not isinstance(a, BaseException)]
            if failures and not problem:
                problem = f"{len(failures)} job(s) could not be read: {describe(failures[0])}"
        view = self.view("errors")
        if view is not None:
            view.show_category(category, jobs, problem, self.state.clock())
