import httpx

from tests.support import add_job


def test_agent_answers_health(agent):
    add_job(agent.store, status="pending")
    r = httpx.get(agent.url + "/api/jobs/health")
    assert r.status_code == 200
    assert r.json()["metrics"]["queueDepth"] == 1
