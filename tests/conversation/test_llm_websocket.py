"""The LLM WebSocket route driven as Retell drives it: a real WebSocket client against a running app."""

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from app.models import AgentConfig, Call, CallStatus
from tests.conversation.conftest import EngineServer, answer, receive, spoken
from tests.support import count_rows, retell_event, signed_delivery
from tests.support.app import login
from tests.support.sse import read_events

Start = Callable[..., EngineServer]


def details(retell_call_id: str, **call: Any) -> str:
    return json.dumps({"interaction_type": "call_details", "call": {"call_id": retell_call_id, **call}})


def turn(response_id: int, *said: str) -> str:
    transcript = [{"role": "agent", "content": "Hi"}]
    transcript += [{"role": "user", "content": text, "words": []} for text in said]
    return json.dumps(
        {"interaction_type": "response_required", "response_id": response_id, "transcript": transcript}
    )


async def add(database_url: str, *rows: Any) -> None:
    engine = create_async_engine(database_url, poolclass=NullPool)
    async with AsyncSession(engine, expire_on_commit=False) as session:
        for row in rows:
            session.add(row)
            await session.commit()
    await engine.dispose()


async def stored_call(database_url: str, **where: Any) -> Call:
    engine = create_async_engine(database_url, poolclass=NullPool)
    async with AsyncSession(engine) as session:
        query = select(Call)
        for name, value in where.items():
            query = query.where(getattr(Call, name) == value)
        call = (await session.exec(query)).one()
    await engine.dispose()
    return call


async def test_a_wrong_secret_is_refused_at_the_handshake_with_403_and_nothing_is_stored(
    engine_server: Start,
) -> None:
    server = engine_server()
    with pytest.raises(InvalidStatus) as refused:
        async with connect(server.socket_url("call_x", secret="wrong-secret")):
            pass
    assert refused.value.response.status_code == 403
    assert await count_rows(server.settings.database_url, "calls") == 0
    assert await count_rows(server.settings.database_url, "webhook_events") == 0


async def test_an_unknown_call_is_created_by_the_webhooks_upsert_and_a_later_webhook_meets_the_same_row(
    engine_server: Start,
) -> None:
    server = engine_server()
    async with connect(server.socket_url("call_new")) as socket:
        assert await receive(socket) == {
            "response_type": "config",
            "config": {"auto_reconnect": True, "call_details": True},
        }
        variables = {"driver_name": "Ana Lopez", "load_number": "L-42", "origin": "Reno"}
        await socket.send(
            details("call_new", agent_id="agent_unknown", retell_llm_dynamic_variables=variables)
        )
        greeting = await receive(socket)
    assert greeting["response_id"] == 0 and greeting["content_complete"] is True
    assert greeting["content"].startswith("Hi Ana Lopez, this is Dispatch with a check call on load L-42.")
    call = await stored_call(server.settings.database_url, retell_call_id="call_new")
    assert call.agent_config_id is not None  # the default configuration
    body, headers = signed_delivery(retell_event("call_started", retell_call_id="call_new", our_call_id=None))
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        assert (await client.post("/webhook/retell", content=body, headers=headers)).status_code == 204
    assert await count_rows(server.settings.database_url, "calls") == 1
    call = await stored_call(server.settings.database_url, retell_call_id="call_new")
    assert call.status == CallStatus.ONGOING and call.last_response_id == 0


async def test_our_call_named_in_the_metadata_is_greeted_with_its_facts_and_context(
    engine_server: Start,
) -> None:
    server = engine_server()
    url = server.settings.database_url
    config = AgentConfig(
        name="Engine",
        general_prompt="p",
        begin_message="Hey {{driver_name}}, load {{load_number}} to {{destination}}.",
        response_engine="custom_llm",
        retell_agent_id="agent_engine",
    )
    ours = Call(
        driver_name="Mike",
        load_number="7891-B",
        context={"destination": "El Paso"},
        agent_config_id=config.id,
    )
    await add(url, config, ours)
    async with connect(server.socket_url("call_ours")) as socket:
        await receive(socket)
        await socket.send(details("call_ours", agent_id="agent_engine", metadata={"call_id": str(ours.id)}))
        greeting = await receive(socket)
    assert greeting["content"] == "Hey Mike, load 7891-B to El Paso."
    assert (await stored_call(url, id=ours.id)).retell_call_id == "call_ours"
    assert await count_rows(url, "calls") == 1


async def test_the_config_is_the_one_synced_as_the_calls_retell_agent(engine_server: Start) -> None:
    server = engine_server()
    config = AgentConfig(
        name="Other", general_prompt="p", begin_message="Engine speaking.", retell_agent_id="agent_7"
    )
    await add(server.settings.database_url, config)
    async with connect(server.socket_url("call_a7")) as socket:
        await receive(socket)
        await socket.send(details("call_a7", agent_id="agent_7"))
        assert (await receive(socket))["content"] == "Engine speaking."
    call = await stored_call(server.settings.database_url, retell_call_id="call_a7")
    assert call.agent_config_id == config.id


async def test_each_turn_is_stored_with_its_live_result_and_the_dashboard_sees_the_outcome_at_once(
    engine_server: Start,
) -> None:
    server = engine_server()
    url = server.settings.database_url
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as client:
        auth = await login(client)
        async with client.stream("GET", "/api/events", headers=auth) as stream:
            events = read_events(stream)
            async with connect(server.socket_url("call_live")) as socket:
                await receive(socket)
                await socket.send(details("call_live", retell_llm_dynamic_variables={"driver_name": "Sam"}))
                await receive(socket)
                await socket.send(turn(1, "blowout on I-40"))
                reply = await answer(socket, 1)
                call = await stored_call(url, retell_call_id="call_live")

                async def outcome() -> dict[str, Any]:
                    async for event in events:
                        if event.name == "call" and event.data["call_outcome"] == "Emergency Escalation":
                            return dict(event.data)
                    raise AssertionError("the stream ended")

                row = await asyncio.wait_for(outcome(), 5)
        detail = (await client.get(f"/api/call/{call.id}", headers=auth)).json()
    assert spoken(reply) == "Okay. I'm connecting you to a dispatcher now."
    assert row["id"] == str(call.id)
    assert call.last_response_id == 1 and call.dialogue_state is not None
    assert call.dialogue_state["mode"] == "emergency" and call.dialogue_state["done"] == []  # no number set
    assert detail["live_result"]["scenario"] == "emergency"
    assert detail["live_result"]["emergency_type"] == "Breakdown"
    assert detail["result"] is None  # post-call extraction's, still to come


async def test_a_binary_frame_closes_with_1003_and_malformed_json_with_1007(engine_server: Start) -> None:
    server = engine_server()
    for frame, code in ((b"\x00binary", 1003), ("{oops", 1007)):
        async with connect(server.socket_url("call_bad")) as socket:
            await receive(socket)
            await socket.send(frame)
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(socket.recv(), 5)
        assert socket.close_code == code


async def test_pings_are_echoed_by_the_running_app(engine_server: Start) -> None:
    server = engine_server()
    async with connect(server.socket_url("call_ping")) as socket:
        await receive(socket)
        await socket.send(json.dumps({"interaction_type": "ping_pong", "timestamp": 1733230000000}))
        assert await receive(socket) == {"response_type": "ping_pong", "timestamp": 1733230000000}


async def test_a_reconnect_to_another_instance_resumes_without_a_second_greeting_question_or_transfer(
    engine_server: Start,
) -> None:
    first = engine_server()
    second = engine_server()  # another app on the same database, as another worker or host would be
    url = first.settings.database_url
    await add(
        url,
        AgentConfig(
            name="Engine",
            general_prompt="p",
            response_engine="custom_llm",
            retell_agent_id="agent_e",
            dispatcher_transfer_number="+13125550100",
        ),
    )
    async with connect(first.socket_url("call_move")) as socket:
        await receive(socket)
        await socket.send(details("call_move", agent_id="agent_e"))
        assert (await receive(socket))["response_id"] == 0
        await socket.send(turn(1, "driving"))
        assert spoken(await answer(socket, 1)).endswith("Question 1.")
        await socket.send(turn(2, "driving", "blowout"))
        transfer = await answer(socket, 2)
    assert transfer[-1]["transfer_number"] == "+13125550100"

    async with connect(second.socket_url("call_move")) as socket:
        assert (await receive(socket))["response_type"] == "config"
        await socket.send(details("call_move", agent_id="agent_e"))
        await socket.send(turn(3, "driving", "blowout", "still a blowout"))
        resumed = await answer(socket, 3)
    assert all(m.get("response_id") != 0 for m in resumed)  # no second greeting
    assert all("transfer_number" not in m for m in resumed)  # no second transfer
    assert second.policy.events, "the second instance answered"
    call = await stored_call(url, retell_call_id="call_move")
    assert call.dialogue_state is not None and call.dialogue_state["slots"]["asked"] == 3
    assert call.dialogue_state["done"] == ["transfer"] and call.last_response_id == 3
    assert await count_rows(url, "calls") == 1


async def test_a_reconnect_resumes_the_questions_where_they_were(engine_server: Start) -> None:
    first = engine_server()
    second = engine_server()
    async with connect(first.socket_url("call_q")) as socket:
        await receive(socket)
        await socket.send(details("call_q"))
        await receive(socket)
        await socket.send(turn(1, "driving"))
        assert spoken(await answer(socket, 1)).endswith("Question 1.")
    async with connect(second.socket_url("call_q")) as socket:
        await receive(socket)
        await socket.send(turn(2, "driving", "near Tucson"))  # no call_details on this reconnect
        assert spoken(await answer(socket, 2)).endswith("Question 2.")


async def test_an_unknown_call_with_no_call_details_is_still_answered(engine_server: Start) -> None:
    server = engine_server()
    async with connect(server.socket_url("call_bare")) as socket:
        await receive(socket)
        await socket.send(turn(1, "hello"))
        assert spoken(await answer(socket, 1)) == "Got it, Unknown driver. Question 1."
    assert await count_rows(server.settings.database_url, "calls") == 1


async def test_a_calls_own_stream_shows_its_live_result_as_it_grows(engine_server: Start) -> None:
    server = engine_server()
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as client:
        auth = await login(client)
        async with connect(server.socket_url("call_grow")) as socket:
            await receive(socket)
            await socket.send(details("call_grow"))
            await receive(socket)
            call = await stored_call(server.settings.database_url, retell_call_id="call_grow")
            async with client.stream("GET", f"/api/call/{call.id}/events", headers=auth) as stream:
                events = read_events(stream)

                async def shown(wanted: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
                    async for event in events:
                        if event.name == "status" and wanted(event.data):
                            return dict(event.data)
                    raise AssertionError("the stream ended")

                first = await asyncio.wait_for(shown(lambda _: True), 5)
                assert first["live_result"] is None
                for number, said in enumerate(("driving", "still driving"), start=1):
                    await socket.send(turn(number, said))
                    await answer(socket, number)
                    location = f"mile {number}"  # the outcome stays the same: only live_result grows
                    live = await asyncio.wait_for(
                        shown(
                            lambda data, at=location: (
                                (data["live_result"] or {}).get("current_location") == at
                            )
                        ),
                        5,
                    )
                    assert live["live_result"]["scenario"] == "check_in"
                    assert live["call_outcome"] == "In-Transit Update"
                await socket.send(turn(3, "driving", "blowout"))
                await answer(socket, 3)
                switched = await asyncio.wait_for(
                    shown(lambda data: data["call_outcome"] == "Emergency Escalation"), 5
                )
    assert switched["live_result"]["scenario"] == "emergency"
