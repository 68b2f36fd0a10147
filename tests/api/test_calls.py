"""Triggering calls through Retell, and reading them back: list, filters, pagination, detail."""

import base64
import json
import uuid
from collections.abc import Callable

import httpx
import pytest
import respx

from app.config import Settings
from tests.support import RETELL_BASE_URL, execute_sql
from tests.support.app import login, running_app

DRIVER = {"driver_name": "Sarah Lee", "phone_number": "214 555 0177", "load_number": "4410-A"}


def mock_sync(router: respx.MockRouter) -> None:
    router.post("/create-retell-llm").respond(200, json={"llm_id": "llm_1"})
    router.post("/create-agent").respond(200, json={"agent_id": "agent_1"})


async def test_phone_call_is_placed_with_the_driver_number_and_context(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    with respx.mock(base_url=RETELL_BASE_URL) as router:
        mock_sync(router)
        phone = router.post("/v2/create-phone-call").respond(201, json={"call_id": "call_p1"})
        response = await client.post(
            "/api/call/trigger",
            json={**DRIVER, "call_type": "phone", "context": {"gps_location": "I-45 near Ennis, TX"}},
            headers=auth,
        )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "registered" and body["call_type"] == "phone" and body["access_token"] is None
    assert body["retell_call_id"] == "call_p1"
    sent = json.loads(phone.calls.last.request.content)
    assert sent == {
        "from_number": "+14155550100",
        "to_number": "+12145550177",
        "override_agent_id": "agent_1",
        "retell_llm_dynamic_variables": {
            "origin": "unknown",
            "destination": "unknown",
            "gps_location": "I-45 near Ennis, TX",
            "driver_name": "Sarah Lee",
            "load_number": "4410-A",
        },
        "metadata": {"call_id": body["id"]},
    }
    detail = (await client.get(f"/api/call/{body['id']}", headers=auth)).json()
    assert detail["context"] == {"gps_location": "I-45 near Ennis, TX"}


async def test_an_already_synced_agent_is_not_synced_again(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    with respx.mock(base_url=RETELL_BASE_URL) as router:
        mock_sync(router)
        router.post("/v3/create-web-call").respond(201, json={"call_id": "c1", "access_token": "t1"})
        await client.post("/api/call/trigger", json=DRIVER, headers=auth)
        router.post("/v3/create-web-call").respond(201, json={"call_id": "c2", "access_token": "t2"})
        second = await client.post("/api/call/trigger", json=DRIVER, headers=auth)
        assert router.routes[0].call_count == 1  # create-retell-llm only on the first trigger
    assert second.json()["access_token"] == "t2"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"phone_number": "12345"}, "phone_number"),
        ({"phone_number": "+1 555 555 0101"}, "phone_number"),
        ({"driver_name": "   "}, "driver_name"),
        ({"load_number": ""}, "load_number"),
        ({"call_type": "fax"}, "call_type"),
        ({"context": {"not a key": "x"}}, "context"),
        ({"simulation": {"persona": "dragon"}}, "simulation.persona"),
    ],
)
async def test_invalid_trigger_input_gets_422_naming_the_field(
    client: httpx.AsyncClient, auth: dict[str, str], change: dict[str, object], field: str
) -> None:
    response = await client.post("/api/call/trigger", json={**DRIVER, **change}, headers=auth)
    assert response.status_code == 422
    assert [item["field"] for item in response.json()["detail"]] == [field]


async def test_retell_failure_is_502_and_the_call_is_kept_as_failed(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    with respx.mock(base_url=RETELL_BASE_URL) as router:
        mock_sync(router)
        router.post("/v3/create-web-call").respond(402, json={"error_message": "Insufficient balance"})
        response = await client.post("/api/call/trigger", json=DRIVER, headers=auth)
    assert response.status_code == 502
    assert response.json()["detail"] == "Retell: Insufficient balance"
    items = (await client.get("/api/call", headers=auth)).json()["items"]
    assert [(i["status"], i["driver_name"]) for i in items] == [("failed", "Sarah Lee")]
    detail = (await client.get(f"/api/call/{items[0]['id']}", headers=auth)).json()
    assert detail["status_detail"] == "Retell: Insufficient balance"
    # The agent sync that succeeded before the failure is kept.
    configs = (await client.get("/api/agent-config", headers=auth)).json()["items"]
    assert configs[0]["retell_agent_id"] == "agent_1"


@pytest.mark.parametrize(
    ("retell_answer", "status"),
    [
        (httpx.Response(201, json={"call_id": "c9", "access_token": "t"}), "registered"),
        (httpx.Response(402, json={"error_message": "Insufficient balance"}), "failed"),
    ],
    ids=["accepted", "refused"],
)
async def test_retells_answer_changes_only_its_own_call_not_others_waiting_on_retell(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    clean_database: str,
    retell_answer: httpx.Response,
    status: str,
) -> None:
    [waiting] = await seed_calls(client, auth, 1)
    # Another dispatcher's trigger still waiting for Retell's answer.
    await execute_sql(clean_database, "UPDATE calls SET status = 'queued'")
    with respx.mock(base_url=RETELL_BASE_URL) as router:
        router.post("/v3/create-web-call").mock(return_value=retell_answer)
        await client.post("/api/call/trigger", json=DRIVER, headers=auth)
    items = (await client.get("/api/call", headers=auth)).json()["items"]
    assert [(i["id"] == waiting, i["status"]) for i in items] == [(False, status), (True, "queued")]


async def test_retells_late_answer_does_not_pull_back_a_call_its_webhook_already_started(
    client: httpx.AsyncClient, auth: dict[str, str], clean_database: str
) -> None:
    async def call_started_webhook_first(request: httpx.Request) -> httpx.Response:
        # Retell's `call_started` delivery lands before its answer to the create request does.
        await execute_sql(clean_database, "UPDATE calls SET status = 'ongoing'")
        return httpx.Response(201, json={"call_id": "call_race", "access_token": "t"})

    with respx.mock(base_url=RETELL_BASE_URL) as router:
        mock_sync(router)
        router.post("/v3/create-web-call").mock(side_effect=call_started_webhook_first)
        response = await client.post("/api/call/trigger", json=DRIVER, headers=auth)
    assert response.status_code == 201, response.text
    detail = (await client.get(f"/api/call/{response.json()['id']}", headers=auth)).json()
    assert (detail["status"], detail["retell_call_id"]) == ("ongoing", "call_race")


async def test_a_call_placed_with_a_chosen_configuration_uses_that_configuration(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    created = await client.post(
        "/api/agent-config",
        json={"name": "Night shift", "general_prompt": "Ask about parking."},
        headers=auth,
    )
    assert created.status_code == 201, created.text
    chosen = created.json()["id"]
    with respx.mock(base_url=RETELL_BASE_URL) as router:
        mock_sync(router)
        router.post("/v3/create-web-call").respond(201, json={"call_id": "c1", "access_token": "t"})
        response = await client.post(
            "/api/call/trigger", json={**DRIVER, "agent_config_id": chosen}, headers=auth
        )
    assert response.status_code == 201, response.text
    assert response.json()["agent_config_id"] == chosen


async def test_phone_call_without_from_number_is_409(make_settings: Callable[..., Settings]) -> None:
    async with running_app(make_settings(retell_from_number=None)) as client:
        auth = await login(client)
        response = await client.post("/api/call/trigger", json={**DRIVER, "call_type": "phone"}, headers=auth)
        assert response.status_code == 409
        assert response.json()["error"] == "RetellNotConfigured"
        assert response.json()["detail"] == (
            "RETELL_FROM_NUMBER is not set: phone calls need a Retell number to call from"
        )
        assert (await client.get("/api/call", headers=auth)).json()["items"] == []


async def test_unknown_agent_configuration_is_404(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    response = await client.post(
        "/api/call/trigger",
        json={**DRIVER, "agent_config_id": "00000000-0000-0000-0000-000000000000"},
        headers=auth,
    )
    assert response.status_code == 404
    assert response.json()["error"] == "AgentConfigNotFound"
    assert (await client.get("/api/call", headers=auth)).json()["items"] == []


async def test_unknown_call_is_404(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    response = await client.get("/api/call/00000000-0000-0000-0000-000000000000", headers=auth)
    assert response.status_code == 404
    assert response.json()["error"] == "CallNotFound"


async def test_a_retell_summary_that_is_not_text_is_left_out_of_the_detail(
    client: httpx.AsyncClient, auth: dict[str, str], clean_database: str
) -> None:
    [call_id] = await seed_calls(client, auth, 1)
    await execute_sql(
        clean_database, """UPDATE calls SET call_analysis = '{"call_summary": {"text": "x"}}'"""
    )
    response = await client.get(f"/api/call/{call_id}", headers=auth)
    assert response.status_code == 200, response.text
    assert response.json()["call_summary"] is None


async def seed_calls(client: httpx.AsyncClient, auth: dict[str, str], count: int) -> list[str]:
    ids = []
    with respx.mock(base_url=RETELL_BASE_URL) as router:
        mock_sync(router)
        web = router.post("/v3/create-web-call")
        for n in range(count):
            web.respond(201, json={"call_id": f"call_{n}", "access_token": "t"})
            driver = ["Mike Johnson", "Sarah Lee", "Dave Miller"][n % 3]
            response = await client.post(
                "/api/call/trigger",
                json={**DRIVER, "driver_name": driver, "load_number": f"L-{n % 2}"},
                headers=auth,
            )
            ids.append(response.json()["id"])
    return ids


async def test_list_is_newest_first_with_keyset_pagination(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    ids = await seed_calls(client, auth, 7)
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/api/call", params=params, headers=auth)).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))


async def test_the_last_page_has_no_next_cursor_when_the_calls_fill_it_exactly(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    ids = await seed_calls(client, auth, 6)
    first = (await client.get("/api/call", params={"limit": 3}, headers=auth)).json()
    params = {"limit": 3, "cursor": first["next_cursor"]}
    second = (await client.get("/api/call", params=params, headers=auth)).json()
    assert [item["id"] for item in first["items"] + second["items"]] == list(reversed(ids))
    assert second["next_cursor"] is None  # not a cursor to an empty page


@pytest.mark.usefixtures("host_clock_not_on_utc")
async def test_paging_through_calls_works_on_a_host_whose_clock_is_not_on_utc(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    ids = await seed_calls(client, auth, 5)
    seen: list[str] = []
    cursor = None
    for _ in range(5):
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/api/call", params=params, headers=auth)).json()
        seen += [item["id"] for item in page["items"]]
        if (cursor := page["next_cursor"]) is None:
            break
    assert seen == list(reversed(ids))


async def test_calls_created_on_a_whole_second_page_correctly(
    client: httpx.AsyncClient, auth: dict[str, str], clean_database: str
) -> None:
    ids = await seed_calls(client, auth, 5)
    # No fraction of a second in the timestamp: the cursor's base64 then needs padding put back.
    whole_second = (
        "date_trunc('second', MIN(created_at))"
        if clean_database.startswith("postgresql")
        else "substr(MIN(created_at), 1, 19) || '.000000'"
    )
    await execute_sql(clean_database, f"UPDATE calls SET created_at = (SELECT {whole_second} FROM calls)")
    seen: list[str] = []
    cursor = None
    for _ in range(5):
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        response = await client.get("/api/call", params=params, headers=auth)
        assert response.status_code == 200, response.text
        seen += [item["id"] for item in response.json()["items"]]
        cursor = response.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(ids, reverse=True)


async def test_list_filters(client: httpx.AsyncClient, auth: dict[str, str], clean_database: str) -> None:
    ids = await seed_calls(client, auth, 6)
    await execute_sql(
        clean_database, "UPDATE calls SET call_outcome = 'Emergency Escalation' WHERE load_number = 'L-1'"
    )

    async def listed(**params: object) -> set[str]:
        response = await client.get("/api/call", params=params, headers=auth)
        assert response.status_code == 200, response.text
        return {item["id"] for item in response.json()["items"]}

    assert await listed(load_number="L-0") == {ids[0], ids[2], ids[4]}
    assert await listed(call_outcome="Emergency Escalation") == {ids[1], ids[3], ids[5]}
    assert await listed(driver="sarah") == {ids[1], ids[4]}
    assert await listed(driver="%") == set()
    assert await listed(status="registered") == set(ids)
    assert await listed(status="completed") == set()


async def test_driver_search_takes_percent_underscore_and_backslash_literally(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    names = ["Sarah Lee", "Jo_Ann 50%", "Back\\Slash"]
    with respx.mock(base_url=RETELL_BASE_URL) as router:
        mock_sync(router)
        web = router.post("/v3/create-web-call")
        for n, name in enumerate(names):
            web.respond(201, json={"call_id": f"call_{n}", "access_token": "t"})
            response = await client.post(
                "/api/call/trigger", json={**DRIVER, "driver_name": name}, headers=auth
            )
            assert response.status_code == 201, response.text

    async def found(driver: str) -> set[str]:
        response = await client.get("/api/call", params={"driver": driver}, headers=auth)
        assert response.status_code == 200, response.text
        return {item["driver_name"] for item in response.json()["items"]}

    assert await found("_") == {"Jo_Ann 50%"}
    assert await found("%") == {"Jo_Ann 50%"}
    assert await found("50%") == {"Jo_Ann 50%"}
    assert await found("\\") == {"Back\\Slash"}
    assert await found("k\\s") == {"Back\\Slash"}


async def test_created_after_includes_a_call_created_at_that_very_instant(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    ids = await seed_calls(client, auth, 3)
    items = (await client.get("/api/call", headers=auth)).json()["items"]
    middle = next(item for item in items if item["id"] == ids[1])
    after = (
        await client.get("/api/call", params={"created_after": middle["created_at"]}, headers=auth)
    ).json()
    before = (
        await client.get("/api/call", params={"created_before": middle["created_at"]}, headers=auth)
    ).json()
    assert [item["id"] for item in after["items"]] == [ids[2], ids[1]]
    assert [item["id"] for item in before["items"]] == [ids[0]]


@pytest.mark.parametrize(
    ("params", "status", "error"),
    [
        ({"limit": 0}, 422, "ValidationError"),
        ({"limit": 101}, 422, "ValidationError"),
        ({"status": "exploded"}, 422, "ValidationError"),
        ({"cursor": "not-a-cursor"}, 400, "InvalidCursor"),
        # Valid base64 of a timestamp at the edge of the calendar: must not overflow into a 500.
        (
            {
                "cursor": base64.urlsafe_b64encode(
                    b"9999-12-31T23:59:59-05:00|" + str(uuid.uuid4()).encode()
                ).decode()
            },
            400,
            "InvalidCursor",
        ),
        (
            {
                "cursor": base64.urlsafe_b64encode(
                    b"0001-01-01T00:00:00+05:00|" + str(uuid.uuid4()).encode()
                ).decode()
            },
            400,
            "InvalidCursor",
        ),
    ],
)
async def test_bad_list_parameters_get_the_one_right_4xx(
    client: httpx.AsyncClient, auth: dict[str, str], params: dict[str, object], status: int, error: str
) -> None:
    response = await client.get("/api/call", params=params, headers=auth)
    assert response.status_code == status
    assert response.json()["error"] == error
    if status == 422:
        assert [item["field"] for item in response.json()["detail"]] == [f"query.{name}" for name in params]
    else:
        assert response.json()["detail"] == "cursor is not one this API returned"
