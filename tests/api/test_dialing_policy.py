"""The dialing policy and the trigger limit: what a phone call may dial, and how often a user may try."""

import csv
import io
import uuid
from collections.abc import Callable

import httpx
import pytest
import respx

from app.config import Settings
from tests.support import RETELL_BASE_URL, count_rows
from tests.support.accounts import member
from tests.support.app import login, running_app

DRIVER = {"driver_name": "Sarah Lee", "load_number": "4410-A", "call_type": "phone"}


def mock_retell(router: respx.MockRouter) -> respx.Route:
    router.post("/create-retell-llm").respond(200, json={"llm_id": "llm_1"})
    router.post("/create-agent").respond(200, json={"agent_id": "agent_1"})
    router.post("/v3/create-web-call").mock(
        side_effect=lambda _: httpx.Response(
            201, json={"call_id": f"w_{uuid.uuid4().hex}", "access_token": "t"}
        )
    )
    return router.post("/v2/create-phone-call").mock(
        side_effect=lambda _: httpx.Response(201, json={"call_id": f"p_{uuid.uuid4().hex}"})
    )


@pytest.mark.parametrize(
    ("number", "why"),
    [
        ("+19002001234", "premium-rate"),
        ("+18765551234", "region JM, outside the dialing policy's regions (US, CA)"),  # +1, but Jamaica
        ("+5511987654321", "region BR"),
        ("+449012345678", "premium-rate"),  # premium beats region in the message
        ("911", "emergency number"),
        ("112", "emergency number"),
        ("311", "short code"),
    ],
)
async def test_refused_numbers_are_422_saying_why_and_nothing_is_dialed(
    client: httpx.AsyncClient, clean_database: str, number: str, why: str
) -> None:
    auth = await login(client)
    with respx.mock(base_url=RETELL_BASE_URL, assert_all_called=False) as router:
        phone = mock_retell(router)
        response = await client.post(
            "/api/call/trigger", json={**DRIVER, "phone_number": number}, headers=auth
        )
    assert response.status_code == 422, response.text
    assert why in str(response.json()["detail"])
    assert phone.call_count == 0 and await count_rows(clean_database, "calls") == 0


@pytest.mark.parametrize(
    ("number", "why"),
    [
        ("+33884012345", "shared-cost"),
        ("+445512345678", "universal access number"),
        ("+49177991234567", "voicemail"),
    ],
)
async def test_refused_number_types_in_allowed_regions(
    make_settings: Callable[..., Settings], number: str, why: str
) -> None:
    async with running_app(make_settings(dialing_allowed_regions="US,CA,GB,FR,DE")) as client:
        auth = await login(client)
        response = await client.post(
            "/api/call/trigger", json={**DRIVER, "phone_number": number}, headers=auth
        )
    assert response.status_code == 422 and why in response.json()["detail"]


async def test_allowed_numbers_are_dialed_and_web_calls_are_never_refused(client: httpx.AsyncClient) -> None:
    auth = await login(client)
    with respx.mock(base_url=RETELL_BASE_URL) as router:
        phone = mock_retell(router)
        for number in ("+13125550101", "+16135550123"):  # US, CA
            placed = await client.post(
                "/api/call/trigger", json={**DRIVER, "phone_number": number}, headers=auth
            )
            assert placed.status_code == 201, placed.text
        # A web call dials nobody: a number the policy refuses is only a label on it.
        web = await client.post(
            "/api/call/trigger",
            json={**DRIVER, "call_type": "web", "phone_number": "+19002001234"},
            headers=auth,
        )
    assert web.status_code == 201, web.text
    assert phone.call_count == 2


async def test_an_admin_sets_the_regions_and_dispatchers_dial_by_them(client: httpx.AsyncClient) -> None:
    admin = await login(client)
    _, dispatcher = await member(client, admin, "dispatcher")
    assert (await client.get("/api/dialing-policy", headers=dispatcher)).json()["allowed_regions"] == [
        "US",
        "CA",
    ]
    refused = await client.put("/api/dialing-policy", json={"allowed_regions": ["GB"]}, headers=dispatcher)
    assert refused.status_code == 403
    assert (
        await client.put("/api/dialing-policy", json={"allowed_regions": ["XX"]}, headers=admin)
    ).status_code == 422
    policy = await client.put("/api/dialing-policy", json={"allowed_regions": ["us", "BR"]}, headers=admin)
    assert policy.status_code == 200 and policy.json()["allowed_regions"] == ["US", "BR"]
    assert policy.json()["updated_by"] == (await client.get("/api/auth/me", headers=admin)).json()["id"]
    with respx.mock(base_url=RETELL_BASE_URL, assert_all_called=False) as router:
        mock_retell(router)
        brazil = await client.post(
            "/api/call/trigger", json={**DRIVER, "phone_number": "+5511987654321"}, headers=dispatcher
        )
        canada = await client.post(
            "/api/call/trigger", json={**DRIVER, "phone_number": "+16135550123"}, headers=dispatcher
        )
    assert brazil.status_code == 201, brazil.text
    assert canada.status_code == 422 and "(US, BR)" in canada.json()["detail"]


async def test_each_user_has_a_trigger_limit_with_retry_after(make_settings: Callable[..., Settings]) -> None:
    async with running_app(make_settings(trigger_limit_per_user="2 per minute")) as client:
        admin = await login(client)
        _, dispatcher = await member(client, admin, "dispatcher")
        with respx.mock(base_url=RETELL_BASE_URL, assert_all_called=False) as router:
            phone = mock_retell(router)
            answers = [
                await client.post(
                    "/api/call/trigger", json={**DRIVER, "phone_number": "+13125550101"}, headers=dispatcher
                )
                for _ in range(3)
            ]
            # Another user's window is their own.
            other = await client.post(
                "/api/call/trigger", json={**DRIVER, "phone_number": "+13125550101"}, headers=admin
            )
    assert [a.status_code for a in answers] == [201, 201, 429]
    assert answers[2].json()["error"] == "TooManyCallsTriggered"
    assert 1 <= int(answers[2].headers["Retry-After"]) <= 60
    assert other.status_code == 201 and phone.call_count == 3


async def test_who_triggered_a_call_shows_in_the_detail_the_list_filter_and_the_csv(
    client: httpx.AsyncClient,
) -> None:
    admin = await login(client)
    dispatcher_id, dispatcher = await member(client, admin, "dispatcher")
    admin_id = (await client.get("/api/auth/me", headers=admin)).json()["id"]
    with respx.mock(base_url=RETELL_BASE_URL, assert_all_called=False) as router:
        mock_retell(router)
        mine = (
            await client.post(
                "/api/call/trigger", json={**DRIVER, "phone_number": "+13125550101"}, headers=dispatcher
            )
        ).json()
        await client.post("/api/call/trigger", json={**DRIVER, "phone_number": "+13125550101"}, headers=admin)
    detail = (await client.get(f"/api/call/{mine['id']}", headers=admin)).json()
    assert detail["triggered_by"] == dispatcher_id
    listed = (await client.get("/api/call", params={"triggered_by": dispatcher_id}, headers=admin)).json()[
        "items"
    ]
    assert [row["id"] for row in listed] == [mine["id"]] and listed[0]["triggered_by"] == dispatcher_id
    exported = (await client.get("/api/call/export", params={"triggered_by": admin_id}, headers=admin)).text
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert len(rows) == 1 and rows[0]["triggered_by"] == admin_id
