"""Clients that send nothing, send slowly, send too much, or open too many connections: the
agent bounds each, keeps answering everyone else, and says so in one line, not tracebacks.
Each test talks to a real agent (``jobtui serve``) over loopback sockets."""

from __future__ import annotations

import contextlib
import errno
import logging
import resource
import select
import socket
import time
from typing import Any

import httpx
import psutil
import pytest

from tests.support import wait_for

sqlite = pytest.mark.parametrize("database", ["sqlite"], indirect=True)  # the store is no matter

HEAD = b"GET /api/jobs/health HTTP/1.1\r\nHost: 127.0.0.1\r\n"


def address(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


def connect(url: str, timeout: float = 5.0) -> socket.socket:
    return socket.create_connection(address(url), timeout=timeout)


def closed_after(sock: socket.socket, within: float) -> tuple[float, bytes]:
    """Read until the agent closes ``sock``: how long that took and what it sent. Fails if
    it is still open after ``within`` seconds."""
    start = time.monotonic()
    got = b""
    sock.settimeout(within)
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            got += chunk
    except TimeoutError:
        pytest.fail(f"still open after {within} s")
    except ConnectionResetError:
        pass
    return time.monotonic() - start, got


def open_files_256() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))


@sqlite
def test_half_sent_requests_cannot_starve_a_normal_client(agent_factory):
    """300 requests that never finish their headers, against an agent allowed 256 open
    files: a normal client still gets health at once, and the log says so in one line."""
    a = agent_factory(preexec_fn=open_files_256)
    assert psutil.Process(a.proc.pid).rlimit(psutil.RLIMIT_NOFILE) == (256, 256)
    hostile = []
    try:
        for _ in range(300):
            s = connect(a.url)
            s.sendall(HEAD)  # and never the blank line that ends the headers
            hostile.append(s)
        time.sleep(0.3)
        start = time.monotonic()
        r = httpx.get(a.url + "/api/jobs/health", timeout=1.0)
        took = time.monotonic() - start
        assert r.status_code == 200
        assert took < 1.0
        assert psutil.Process(a.proc.pid).num_fds() < 256
    finally:
        for s in hostile:
            s.close()
    time.sleep(0.3)
    a.stop()
    err = a.stderr()
    assert "Traceback" not in err and "out of system resource" not in err
    limit_lines = [ln for ln in err.splitlines() if "connection limit reached" in ln]
    assert len(limit_lines) == 1, err[-3000:]
    assert len(err) < 10_000


@sqlite
def test_a_huge_header_is_refused_and_memory_stays_flat(agent_factory):
    a = agent_factory()
    proc = psutil.Process(a.proc.pid)
    cookie = b"Cookie: " + b"c" * 32_000 + b"\r\n"  # big but fair: still served
    with connect(a.url) as s:
        s.sendall(HEAD + cookie + b"\r\n")
        assert s.recv(100).startswith(b"HTTP/1.1 200")
    for _ in range(3):
        httpx.get(a.url + "/api/jobs/health")
    before = proc.memory_info().rss
    answers = []
    socks = [connect(a.url) for _ in range(8)]
    try:
        for s in socks:  # eight at once, each 1 MB of one header that never ends
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                s.sendall(HEAD + b"X-Big: " + b"a" * 1024 * 1024)  # refused before the end
        for s in socks:
            _, got = closed_after(s, within=5)
            answers.append(got)
        grown = proc.memory_info().rss - before
    finally:
        for s in socks:
            s.close()
    for got in answers:
        assert got == b"" or got.startswith(b"HTTP/1.1 431 "), got[:200]
    assert any(got.startswith(b"HTTP/1.1 431 ") for got in answers)
    assert b'{"error": "request headers over 65536 bytes"}' in answers[0] + b"".join(answers)
    assert grown < 4 * 1024 * 1024, f"RSS grew {grown / 1e6:.1f} MB"
    assert httpx.get(a.url + "/api/jobs/health").status_code == 200


TEN_MB = 10 * 1024 * 1024
TOO_LARGE = b'{"error": "request body over 1048576 bytes"}'


@sqlite
def test_a_huge_body_is_refused_before_it_is_read(agent_factory):
    """A 10 MB body (``agent.http.max_body_size``, 1 MiB by default) is answered 413 as soon
    as its Content-Length is seen, chunked ones once they pass the limit; the agent reads
    none of it into memory, and the client that sends it whole still gets the answer."""
    a = agent_factory()
    proc = psutil.Process(a.proc.pid)
    url = a.url + "/api/jobs/bulk"
    assert httpx.post(url, json={"action": "retry", "dryRun": True}).status_code == 200
    before = proc.memory_info().rss

    head = b"POST /api/jobs/bulk HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    with connect(a.url) as s:  # the head only: answered without waiting for the body
        s.sendall(head + b"Content-Length: %d\r\n\r\n" % TEN_MB)
        _, got = closed_after(s, within=5)
    assert got.startswith(b"HTTP/1.1 413 "), got[:200]
    assert got.endswith(TOO_LARGE) and b"connection: close" in got

    r = httpx.post(url, content=b"x" * TEN_MB, timeout=30)  # sent whole, then the answer read
    assert r.status_code == 413 and r.content == TOO_LARGE

    def chunks():
        for _ in range(TEN_MB // 65536):
            yield b"y" * 65536

    r = httpx.post(url, content=chunks(), timeout=30)  # no Content-Length: chunked
    assert r.status_code == 413 and r.content == TOO_LARGE
    grown = proc.memory_info().rss - before
    assert grown < 4 * 1024 * 1024, f"RSS grew {grown / 1e6:.1f} MB"

    r = httpx.post(url, content=b" " * 500_000 + b'{"action": "retry", "dryRun": true}')
    assert r.status_code == 200  # under the limit: served as before
    assert httpx.get(a.url + "/api/jobs/health").status_code == 200
    wait_for(lambda: "refused a request whose body exceeds 1048576 bytes" in a.stderr())
    assert "Traceback" not in a.stderr()


@sqlite
def test_the_body_limit_is_configured(agent_factory):
    a = agent_factory({"agent": {"http": {"max_body_size": 2048}}})
    url = a.url + "/api/jobs/bulk"
    body = b'{"action": "retry", "dryRun": true}'
    assert httpx.post(url, content=body + b" " * 2000).status_code == 200
    r = httpx.post(url, content=body + b" " * 2100)
    assert r.status_code == 413 and r.json() == {"error": "request body over 2048 bytes"}


@sqlite
def test_an_idle_connection_is_closed(agent_factory):
    a = agent_factory({"agent": {"http": {"idle_timeout": "0.5s"}}})
    with connect(a.url) as s:  # says nothing at all
        took, got = closed_after(s, within=5)
    assert 0.4 < took < 3 and got == b""
    with connect(a.url) as s:  # one request, then nothing: kept alive as long, no longer
        s.sendall(HEAD + b"\r\n")
        took, got = closed_after(s, within=5)
    assert got.startswith(b"HTTP/1.1 200") and 0.4 < took < 3


@sqlite
def test_a_request_trickling_in_is_cut_off(agent_factory):
    """One byte every 0.1 s restarts no timer: the whole request has ``request_timeout``."""
    a = agent_factory({"agent": {"http": {"request_timeout": "1s", "idle_timeout": "5s"}}})
    request = HEAD + b"X-Slow: " + b"s" * 200
    with connect(a.url) as s:
        start = time.monotonic()
        got = b""
        for byte in request:
            s.sendall(bytes([byte]))
            if select.select([s], [], [], 0.1)[0]:  # the agent answered (or closed)
                got = s.recv(65536)
                break
        took = time.monotonic() - start
    assert took < 3, "the agent kept the trickling request open"
    assert got.startswith(b"HTTP/1.1 408 "), got[:200]
    assert httpx.get(a.url + "/api/jobs/health").status_code == 200


def test_accept_failures_are_one_line_a_minute(caplog):
    """Out of files, asyncio's accept loop reports every failed ``accept()`` with a
    traceback (29 MB of them were seen): the agent's handler writes one line a minute."""
    from jobtui.agent.guard import Throttle, accept_errors

    class Loop:
        def __init__(self) -> None:
            self.passed: list[dict[str, Any]] = []

        def default_exception_handler(self, context: dict[str, Any]) -> None:
            self.passed.append(context)

    loop = Loop()
    handler = accept_errors(Throttle(logging.getLogger("jobtui.http")))
    emfile = OSError(errno.EMFILE, "Too many open files")
    with caplog.at_level(logging.WARNING, logger="jobtui.http"):
        for _ in range(2000):
            handler(
                loop, {"message": "socket.accept() out of system resource", "exception": emfile}
            )  # type: ignore[arg-type]
        handler(loop, {"message": "something else", "exception": ValueError("x")})  # type: ignore[arg-type]
    lines = [r.getMessage() for r in caplog.records]
    assert lines == ["cannot accept connections: Too many open files (open-file limit "
                     f"{resource.getrlimit(resource.RLIMIT_NOFILE)[0]}); retrying"]  # fmt: skip
    assert all(r.exc_info is None for r in caplog.records)
    assert [c["message"] for c in loop.passed] == ["something else"]
