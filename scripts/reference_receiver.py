"""The minimal webhook receiver `make bench` measures the real one against, on the same stack.

FastAPI under uvicorn, SQLAlchemy over asyncpg: read the raw body, check Retell's signature with the SDK,
one `INSERT ... ON CONFLICT DO NOTHING`, answer 204. Nothing else: no call, no status, no extraction.
Run by `scripts/bench.py` as `uvicorn scripts.reference_receiver:app` with DATABASE_URL and RETELL_API_KEY.
"""

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from retell.lib import webhook_auth
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

KEY = os.environ["RETELL_API_KEY"]
TABLE = "bench_reference_events"
engine = create_async_engine(os.environ["DATABASE_URL"], pool_size=5, max_overflow=10, pool_pre_ping=True)
INSERT = text(
    f"INSERT INTO {TABLE} (retell_call_id, event, payload) VALUES (:rid, :event, :payload) "
    "ON CONFLICT DO NOTHING"
)


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    async with engine.begin() as connection:
        await connection.execute(
            text(
                f"CREATE TABLE IF NOT EXISTS {TABLE} (retell_call_id VARCHAR(120) NOT NULL, "
                "event VARCHAR(60) NOT NULL, payload JSON NOT NULL, PRIMARY KEY (retell_call_id, event))"
            )
        )
    yield
    await engine.dispose()


app = FastAPI(lifespan=lifespan)


@app.post("/webhook/retell", status_code=204)
async def receive(request: Request) -> Response:
    body = (await request.body()).decode()
    if not webhook_auth.verify(body, KEY, request.headers.get("x-retell-signature", "")):
        return Response(status_code=401)
    payload = json.loads(body)
    async with engine.begin() as connection:
        await connection.execute(
            INSERT, {"rid": payload["call"]["call_id"], "event": payload["event"], "payload": body}
        )
    return Response(status_code=204)
