"""The shared client against a seed-only server misbehaving in every way: one clear line each."""

from __future__ import annotations

import socket

import pytest

from jobtui.client import Client
from jobtui.errors import (
    HTTPError,
    InvalidURL,
    NotFound,
    NotJSON,
    NotProvided,
    TimedOut,
    Unauthorized,
    Unreachable,
    WrongShape,
)
from tests.support import Canned, seed_health

HEALTH = "/api/jobs/health"


async def test_seed_health_parses_and_is_timed(seed_server):
    async with Client(seed_server.url) as c:
        r = await c.health()
    assert r.value.status == "healthy"
    assert r.value.metrics.queue_depth == 3
    assert 0 < r.seconds < 5


async def test_token_travels_only_in_the_header(seed_server):
    async with Client(seed_server.url, token="s3cret") as c:
        await c.health()
    _, path, headers = seed_server.requests[-1]
    assert headers["Authorization"] == "Bearer s3cret"
    assert "s3cret" not in path


@pytest.mark.parametrize(
    ("canned", "error", "text"),
    [
        (
            Canned(500, {"error": "Failed to check health"}),
            HTTPError,
            "GET /api/jobs/health → 500 Internal Server Error: Failed to check health",
        ),
        (
            Canned(200, "<html><body>Login</body></html>", "text/html"),
            NotJSON,
            "answered text/html, not JSON (is the URL right?)",
        ),
        (Canned(200, '{"status": "healthy", "metr'), NotJSON, "invalid or truncated JSON"),
        (
            Canned(200, seed_health(metrics={"queueDepth": "many"})),
            WrongShape,
            "Health.metrics.queueDepth: expected a number",
        ),
        (
            Canned(401, {"error": "nope"}),
            Unauthorized,
            "unauthorized (401) on GET /api/jobs/health: set JOBTUI_TOKEN",
        ),
        (Canned(403, "Forbidden", "text/plain"), Unauthorized, "forbidden (403)"),
        (Canned(503, "<html>Bad gateway</html>", "text/html"), HTTPError, "503"),
        (Canned(200, [1, 2]), WrongShape, "expected an object"),
    ],
)
async def test_every_failure_is_one_clear_line(seed_server, canned, error, text):
    seed_server.set("GET", HEALTH, canned)
    async with Client(seed_server.url) as c:
        with pytest.raises(error) as exc:
            await c.health()
    message = str(exc.value)
    assert text in message
    assert "\n" not in message


async def test_503_with_the_contract_shape_is_an_answer(seed_server):
    body = seed_health(status="critical", message="Database connection failed")
    seed_server.set("GET", HEALTH, Canned(503, body))
    async with Client(seed_server.url) as c:
        r = await c.health()
    assert r.value.status == "critical"


async def test_timeout(seed_server):
    seed_server.set("GET", HEALTH, Canned(body=seed_health(), delay=1.0))
    async with Client(seed_server.url, timeout=0.2) as c:
        with pytest.raises(TimedOut, match=r"no answer within 0\.2 s"):
            await c.health()


async def test_nothing_listening():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    async with Client(f"http://127.0.0.1:{port}") as c:
        with pytest.raises(Unreachable, match=f"cannot connect to http://127.0.0.1:{port}"):
            await c.health()


@pytest.mark.parametrize("url", ["localhost:8787", "ftp://x", "http://", "http://host:99999"])
def test_invalid_urls(url):
    with pytest.raises(InvalidURL, match="invalid URL"):
        Client(url)


def test_passwords_in_urls_are_never_shown():
    with pytest.raises(InvalidURL) as exc:
        Client("htp://user:pw@host")
    assert "pw" not in str(exc.value)


async def test_our_endpoints_on_a_seed_server_are_not_provided(seed_server):
    async with Client(seed_server.url) as c:
        for call in (c.jobs(), c.errors(), c.backups(), c.recover_stuck(), c.job("x")):
            with pytest.raises(NotProvided, match="not provided by this server"):
                await call


async def test_an_unknown_job_on_our_agent_is_not_found(agent):
    async with Client(agent.url) as c:
        with pytest.raises(NotFound, match="job nope not found"):
            await c.job("nope")
        assert (await c.jobs()).jobs == ()


async def test_an_error_names_the_path_as_the_id_reads_not_url_encoded(agent):
    async with Client(agent.url) as c:
        with pytest.raises(NotFound) as exc:
            await c.retry_job("job 1/ä")
    assert "POST /api/jobs/job 1/ä/retry" in str(exc.value), str(exc.value)
    assert "%" not in str(exc.value)


async def test_latest_metrics_none_on_404(seed_server):
    seed_server.set(
        "GET", "/api/monitoring/metrics", Canned(404, {"error": "No metrics available"})
    )
    async with Client(seed_server.url) as c:
        assert await c.latest_metrics() is None


def test_tls_is_verified_whatever_the_scheme():
    """https gets the CA bundle; http never handshakes, but its context still verifies."""
    import ssl

    from jobtui.client import _tls

    assert _tls("https://jobs.example.com") is True
    plain = _tls("http://127.0.0.1:8000")
    assert isinstance(plain, ssl.SSLContext)
    assert plain.verify_mode == ssl.CERT_REQUIRED and plain.check_hostname
