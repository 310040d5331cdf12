"""The agent's HTTP layer against hostile requests: web pages that try to drive an agent
without tokens, an unhandled error, a path that forges a log line, 405s, trailing slashes,
WebSocket handshakes. Each against a real agent (``jobtui serve``) over loopback."""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
from typing import Any

import httpx
import pytest

from tests.support import jobtui_cmd

pytestmark = pytest.mark.parametrize("database", ["sqlite"], indirect=True)  # no matter here

READ, ADMIN = "read-token-123", "admin-token-456"
TOKENS = {"JOBTUI_READ_TOKEN": READ, "JOBTUI_ADMIN_TOKEN": ADMIN}
EVIL = "http://evil.example"


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def backups(url: str, headers: dict[str, str] | None = None) -> list[Any]:
    return httpx.get(url + "/api/admin/backups", headers=headers).json()["backups"]


# --------------------------------------------------------------------------- no tokens


def test_without_tokens_a_web_page_cannot_write(agent):
    """A page on another site can send a "simple" POST (text/plain, no preflight) to
    127.0.0.1: it is refused, in the contract's error shape, and changes nothing."""
    u = agent.url
    text = {"Content-Type": "text/plain"}
    for headers in (
        {"Origin": EVIL, **text},
        {"Origin": "null", **text},  # a sandboxed frame or a file
        {"Origin": f"http://127.0.0.1:{port_of(u) + 1}", **text},  # another local port
        {"Sec-Fetch-Site": "cross-site", **text},
        {"Sec-Fetch-Site": "same-site", **text},
    ):
        for path in ("/api/admin/backups", "/api/admin/recovery", "/api/admin/recover-stuck"):
            r = httpx.post(u + path, headers=headers, content="x")
            assert r.status_code == 403, (path, headers, r.text)
            assert "another site" in r.json()["error"]
    assert backups(u) == []
    # The agent's own page, a browser's address bar, and every client that is no browser.
    assert httpx.post(u + "/api/admin/backups", headers={"Origin": u}).status_code == 201
    same = {"Sec-Fetch-Site": "same-origin", "Origin": u.replace("127.0.0.1", "localhost")}
    r = httpx.post(u.replace("127.0.0.1", "localhost") + "/api/admin/backups", headers=same)
    assert r.status_code == 201
    assert httpx.post(u + "/api/admin/backups", headers={"Sec-Fetch-Site": "none"}).is_success
    assert httpx.post(u + "/api/admin/recovery").status_code == 200
    assert len(backups(u)) >= 3
    # Reads from another site get nothing they could use: the browser withholds the answer.
    assert httpx.get(u + "/api/jobs/health", headers={"Origin": EVIL}).status_code == 200


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:{port}", "127.0.0.1.evil.example", "localhost.evil"]
)
def test_without_tokens_a_foreign_host_is_refused(agent, host):
    """DNS rebinding: a page whose own name was made to resolve to 127.0.0.1 sends its name
    as ``Host``; the agent answers only its loopback names."""
    h = {"Host": host.format(port=port_of(agent.url))}
    for method, path in (("GET", "/api/jobs/health"), ("GET", "/api/jobs"),
                         ("POST", "/api/admin/backups")):  # fmt: skip
        r = httpx.request(method, agent.url + path, headers=h)
        assert r.status_code == 403, (method, path, r.text)
        assert "loopback" in r.json()["error"]
    assert backups(agent.url) == []


def test_without_tokens_every_loopback_host_is_answered(agent):
    p = port_of(agent.url)
    for host in (f"127.0.0.1:{p}", f"localhost:{p}", f"[::1]:{p}", "127.0.0.1", "LOCALHOST"):
        r = httpx.get(agent.url + "/api/jobs/health", headers={"Host": host})
        assert r.status_code == 200, host


def test_with_tokens_host_and_origin_are_the_tokens_business(agent_factory):
    a = agent_factory(env=TOKENS)
    admin = {"Authorization": f"Bearer {ADMIN}"}
    assert httpx.get(a.url + "/api/jobs/health", headers={"Host": "jobs.example.com"}).is_success
    r = httpx.post(a.url + "/api/admin/backups", headers={**admin, "Origin": EVIL})
    assert r.status_code == 201
    r = httpx.post(a.url + "/api/admin/backups", headers={"Origin": EVIL})
    assert r.status_code == 401


# --------------------------------------------------------------------------- 500s

BROKEN = """
from jobtui.agent.store import JobStore

def get_job(self, job_id):
    raise RuntimeError("injected failure for " + job_id)

JobStore.get_job = get_job
"""


def test_an_unhandled_error_is_one_json_500_logged_once(agent_factory, tmp_path):
    a = agent_factory(prelude=BROKEN, extra_args=["--log-level", "http"])
    conn = http.client.HTTPConnection("127.0.0.1", port_of(a.url), timeout=5)
    conn.request("GET", "/api/jobs/abc", headers={"X-Request-ID": "req-500"})
    resp = conn.getresponse()
    body = json.loads(resp.read())
    assert resp.status == 500
    assert resp.getheader("X-Request-ID") == "req-500"
    assert resp.getheader("Content-Type") == "application/json"
    assert body == {"error": "internal error (request id req-500)"}
    sock = conn.sock
    assert sock is not None, "the connection was closed after the 500"
    conn.request("GET", "/api/jobs/health")
    resp = conn.getresponse()
    resp.read()
    assert resp.status == 200 and conn.sock is sock  # the same connection, kept alive
    conn.close()
    a.stop()
    err = a.stderr()
    logs = tmp_path / "logs"
    error_log = (logs / "error.log").read_text()
    all_log = (logs / "all.log").read_text()
    assert error_log.count("Traceback") == 1, error_log
    assert error_log.count("RuntimeError: injected failure for abc") == 1
    assert "Unhandled error in GET /api/jobs/abc [req-500]" in error_log
    assert "[req-500] GET /api/jobs/abc 500 " in all_log
    assert err.count("Traceback") == 1 and "Exception in ASGI application" not in err


# --------------------------------------------------------------------------- smaller


FORGED = "2026-12-03 03:00:00.000 ERROR jobtui.agent: Database connection failed"


def test_a_path_cannot_forge_a_log_line(agent_factory, tmp_path):
    a = agent_factory(extra_args=["--log-level", "http"])
    with socket.create_connection(("127.0.0.1", port_of(a.url))) as s:
        path = "/x%0A" + FORGED.replace(" ", "%20") + "%0D%1B[2J"
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
        assert s.recv(100).startswith(b"HTTP/1.1 404")
    a.stop()
    all_log = tmp_path / "logs" / "all.log"
    lines = all_log.read_text().splitlines()
    assert not [ln for ln in lines if ln.startswith(FORGED[:23])]
    assert [
        ln for ln in lines if "GET /x\\n2026-12-03 03:00:00.000 ERROR" in ln and "\\r\\x1b[2J" in ln
    ]
    report = subprocess.run(
        jobtui_cmd("logs", "analyze", str(all_log), "--format", "json"),
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert report.returncode == 0, report.stderr
    assert json.loads(report.stdout)["critical"]["total"] == 0


def test_405_says_which_methods_the_path_has(agent):
    r = httpx.delete(agent.url + "/api/jobs/health")
    assert r.status_code == 405 and r.headers["Allow"] == "GET, HEAD"
    assert r.json() == {"error": "method not allowed: DELETE /api/jobs/health"}
    r = httpx.put(agent.url + "/api/admin/backups")
    assert r.status_code == 405 and r.headers["Allow"] == "DELETE, GET, HEAD, POST"


def test_a_trailing_slash_is_served_not_redirected_to_the_callers_host(agent_factory):
    a = agent_factory(env=TOKENS)
    read = {"Authorization": f"Bearer {READ}", "Host": "evil.example"}
    r = httpx.get(a.url + "/api/jobs/", headers=read)
    assert r.status_code == 200 and "location" not in r.headers
    assert r.json() == {"jobs": [], "nextCursor": None}
    r = httpx.get(a.url + "/api/jobs/health/", headers=read)
    assert r.status_code == 200 and r.json()["status"] in ("healthy", "warning", "critical")


def test_a_websocket_handshake_gets_the_http_answer(agent_factory):
    """No WebSocket endpoint exists: a handshake is an HTTP request like any other, with
    the same auth (before, it reached the app as a WebSocket, which auth let through)."""
    a = agent_factory(env=TOKENS)
    with socket.create_connection(("127.0.0.1", port_of(a.url)), timeout=5) as s:
        s.sendall(
            b"GET /api/admin/backups HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            b"Sec-WebSocket-Version: 13\r\n\r\n"
        )
        got = b""
        while not got.endswith(b"}") and (chunk := s.recv(65536)):
            got += chunk
    assert got.startswith(b"HTTP/1.1 401 "), got[:200]
    assert b'{"error":"unauthorized: send Authorization: Bearer <token>"}' in got
    assert "Unsupported upgrade" not in a.stderr()


async def test_the_app_refuses_websocket_scopes(database):
    """Run by another ASGI server that does offer WebSockets, the app closes one before
    accepting it, with 1008 (policy), whatever its path: no route reads it, no auth sees it."""
    from jobtui.agent.api import create_app
    from jobtui.agent.service import Agent
    from jobtui.agent.store import JobStore
    from jobtui.config import Config

    store = JobStore(database)
    store.migrate()
    try:
        app = create_app(Agent(store, Config()))
        for path in ("/api/admin/backups", "/api/jobs/health", "/nowhere"):
            sent: list[dict[str, Any]] = []

            async def receive() -> dict[str, Any]:
                return {"type": "websocket.connect"}

            async def send(message: dict[str, Any], sent: list[dict[str, Any]] = sent) -> None:
                sent.append(message)

            scope = {"type": "websocket", "path": path, "raw_path": path.encode(),
                     "headers": [(b"host", b"127.0.0.1")], "query_string": b"",
                     "root_path": "", "scheme": "ws", "subprotocols": []}  # fmt: skip
            await app(scope, receive, send)
            assert sent == [{"type": "websocket.close", "code": 1008}], path
    finally:
        store.close()
