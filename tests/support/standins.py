"""Stand-in Retell and OpenAI servers: the live code paths over real HTTP, with no keys and no network.

`scripts/standins.py` runs them by hand; tests serve them in a thread."""

import asyncio
import json
import random
import secrets
import threading
import time
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI, HTTPException, Request
from retell.lib import webhook_auth

from tests.support.fixtures import TRANSCRIPTS_DIR


def load_fixture(name: str) -> dict[str, Any]:
    return dict(json.loads((TRANSCRIPTS_DIR / f"{name}.json").read_text()))


def persona_call(persona: str) -> dict[str, Any]:
    """A scripted call in the shape of a fixture (no labels): works without the shared fixtures."""
    from app.retell.personas import build_script

    script = build_script(
        persona, driver_name="Carlos Ramirez", load_number="5521-C", context={}, rng=random.Random(7)
    )
    return {
        "name": persona,
        "transcript": script.transcript,
        "transcript_object": [{"role": t.role, "content": t.content, "words": []} for t in script.turns],
        "disconnection_reason": script.disconnection_reason,
    }


def retell_standin(*, api_key: str, fixture: dict[str, Any], pace_seconds: float = 0.2) -> FastAPI:
    """Retell's API surface as the backend uses it, plus webhook playback."""
    app = FastAPI(title="Retell stand-in")
    state: dict[str, Any] = {"agents": {}, "requests": [], "tasks": set()}
    app.state.standin = state

    def check_key(request: Request) -> None:
        if request.headers.get("authorization") != f"Bearer {api_key}":
            raise HTTPException(401, {"error_message": "invalid API key"})

    async def record(request: Request) -> dict[str, Any]:
        check_key(request)
        body = dict(await request.json())
        state["requests"].append((request.url.path, body))
        return body

    @app.post("/create-retell-llm")
    async def create_llm(request: Request) -> dict[str, Any]:
        await record(request)
        return {"llm_id": f"llm_{secrets.token_hex(6)}", "version": 0}

    @app.patch("/update-retell-llm/{llm_id}")
    async def update_llm(llm_id: str, request: Request) -> dict[str, Any]:
        await record(request)
        return {"llm_id": llm_id}

    @app.post("/create-agent")
    async def create_agent(request: Request) -> dict[str, Any]:
        body = await record(request)
        agent_id = f"agent_{secrets.token_hex(6)}"
        state["agents"][agent_id] = body
        return {"agent_id": agent_id, **body}

    @app.patch("/update-agent/{agent_id}")
    async def update_agent(agent_id: str, request: Request) -> dict[str, Any]:
        body = await record(request)
        state["agents"].setdefault(agent_id, {}).update(body)
        return {"agent_id": agent_id}

    def place(body: dict[str, Any], agent_id: str, call_type: str) -> str:
        agent = state["agents"].get(agent_id)
        if agent is None:
            raise HTTPException(404, {"error_message": f"agent {agent_id} not found"})
        call_id = f"call_{secrets.token_hex(8)}"
        call = {
            "call_id": call_id,
            "call_type": call_type,
            "agent_id": agent_id,
            "direction": "outbound",
            "from_number": body.get("from_number"),
            "to_number": body.get("to_number"),
            "metadata": body.get("metadata") or {},
            "retell_llm_dynamic_variables": body.get("retell_llm_dynamic_variables") or {},
        }
        task = asyncio.create_task(play(agent["webhook_url"], call))
        state["tasks"].add(task)
        task.add_done_callback(state["tasks"].discard)
        return call_id

    @app.post("/v3/create-web-call", status_code=201)
    async def create_web_call(request: Request) -> dict[str, Any]:
        body = await record(request)
        call_id = place(body, body["agent_id"], "web_call")
        return {"call_id": call_id, "access_token": secrets.token_urlsafe(16), "expires_at": 0}

    @app.post("/v2/create-phone-call", status_code=201)
    async def create_phone_call(request: Request) -> dict[str, Any]:
        body = await record(request)
        call_id = place(body, body["override_agent_id"], "phone_call")
        return {"call_id": call_id, "call_type": "phone_call", "agent_id": body["override_agent_id"]}

    async def play(webhook_url: str, call: dict[str, Any]) -> None:
        started = int(time.time() * 1000)
        ended = {
            **call,
            "start_timestamp": started,
            "end_timestamp": started + 95_000,
            "duration_ms": 95_000,
            "disconnection_reason": fixture["disconnection_reason"],
            "transcript": fixture["transcript"],
            "transcript_object": fixture["transcript_object"],
            "recording_url": f"http://127.0.0.1/recordings/{call['call_id']}.wav",
        }
        analysis = {"call_summary": f"Stand-in summary of {fixture['name']}.", "user_sentiment": "Neutral"}
        events = [
            ("call_started", {**call, "start_timestamp": started}),
            ("call_ended", ended),
            ("call_analyzed", {**ended, "call_analysis": analysis}),
        ]
        async with httpx.AsyncClient(timeout=10) as client:
            for event, payload in events:
                await asyncio.sleep(pace_seconds)
                body = json.dumps({"event": event, "call": payload})
                signature = webhook_auth.symmetric["sign"](body, api_key, int(time.time() * 1000))
                await client.post(
                    webhook_url,
                    content=body,
                    headers={"content-type": "application/json", "x-retell-signature": signature},
                )

    return app


def openai_standin(*, labels: dict[str, Any] | None) -> FastAPI:
    """An OpenAI-compatible chat completions endpoint answering with `labels`, or the rules' reading."""
    app = FastAPI(title="OpenAI stand-in")
    requests: list[dict[str, Any]] = []
    app.state.requests = requests

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> dict[str, Any]:
        body = dict(await request.json())
        requests.append(body)
        tool = body["tools"][0]["function"]["name"]
        result = labels if labels is not None else read_with_rules(body)
        return tool_call_completion(tool, {"result": result}, model=body["model"])

    return app


def tool_call_completion(tool: str, arguments: dict[str, Any], *, model: str) -> dict[str, Any]:
    """A chat completion that calls `tool` with `arguments`, shaped as OpenAI returns it."""
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": tool, "arguments": json.dumps(arguments)},
    }
    return {
        "id": "chatcmpl-standin",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "finish_reason": "tool_calls",
                "message": {"role": "assistant", "content": None, "tool_calls": [call]},
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def read_with_rules(body: dict[str, Any]) -> dict[str, Any]:
    from app.extraction.rules import extract_with_rules

    transcript = str(body["messages"][-1]["content"]).split("Transcript:", 1)[-1].strip()
    return extract_with_rules(transcript).result.model_dump()


def serve_in_thread(app: FastAPI, port: int) -> uvicorn.Server:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    for _ in range(200):
        if server.started:
            return server
        time.sleep(0.025)
    raise RuntimeError(f"stand-in on port {port} did not start")
