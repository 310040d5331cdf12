"""The agent's HTTP layer against hostile requests: web pages that try to drive an agent
without tokens. Each against a real agent (``jobtui serve``) over loopback."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

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
