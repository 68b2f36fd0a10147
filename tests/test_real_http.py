"""The whole flow over real HTTP, with the real SDKs pointed at stand-in Retell and OpenAI servers."""

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.support import expected_result, wait_until_final
from tests.support.app import free_port, login
from tests.support.standins import load_fixture, openai_standin, retell_standin, serve_in_thread

KEY = "standin-retell-key-for-tests"


@pytest.fixture
def standins() -> Iterator[dict[str, Any]]:
    fixture = load_fixture("emergency_blowout")
    retell_app = retell_standin(api_key=KEY, fixture=fixture, pace_seconds=0.05)
    openai_app = openai_standin(labels=fixture["expected"])
    retell_port, openai_port = free_port(), free_port()
    servers = [serve_in_thread(retell_app, retell_port), serve_in_thread(openai_app, openai_port)]
    yield {
        "fixture": fixture,
        "retell": retell_app.state.standin,
        "openai_requests": openai_app.state.requests,
        "settings": {
            "retell_mode": "live",
            "retell_api_key": KEY,
            "retell_base_url": f"http://127.0.0.1:{retell_port}",
            "extractor": "openai",
            "openai_api_key": "sk-standin",
            "openai_base_url": f"http://127.0.0.1:{openai_port}/v1",
        },
    }
    for server in servers:
        server.should_exit = True


@pytest.mark.parametrize("call_type", ["web", "phone"])
async def test_trigger_to_completed_against_stand_in_servers(
    live_server: Callable[..., str], standins: dict[str, Any], call_type: str
) -> None:
    base_url = live_server(**standins["settings"])
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        auth = await login(client)
        response = await client.post(
            "/api/call/trigger",
            json={
                "driver_name": "Carlos Ramirez",
                "phone_number": "+17025550142",
                "load_number": "5521-C",
                "call_type": call_type,
            },
            headers=auth,
        )
        assert response.status_code == 201, response.text
        detail = await wait_until_final(client, auth, response.json()["id"])

    expected = expected_result(standins["fixture"])
    assert detail["status"] == "completed"
    assert detail["result"] == {"scenario": "emergency", **expected}
    assert detail["call_summary"] == "Stand-in summary of emergency_blowout."
    paths = [path for path, _ in standins["retell"]["requests"]]
    assert paths[:2] == ["/create-retell-llm", "/create-agent"]
    agent = next(iter(standins["retell"]["agents"].values()))
    assert agent["webhook_url"] == f"{base_url}/webhook/retell"
    assert len(standins["openai_requests"]) == 1
    assert standins["openai_requests"][0]["messages"][-1]["content"].endswith(
        standins["fixture"]["transcript"]
    )
