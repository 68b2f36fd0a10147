"""The strongest minimal webhook receiver `make bench` measures the real one against, on the same stack.

What it does, per delivery: FastAPI route under the same uvicorn, read the raw body, check Retell's
signature with the app's own check (`verify_retell_signature`: format, HMAC-SHA256, five-minute window),
`json.loads` the body for the call id and event, then ONE autocommit statement on a raw asyncpg pool:
`INSERT INTO bench_reference_events ... ON CONFLICT DO NOTHING` (the payload as `json`, so PostgreSQL
validates and stores (and compresses) the same bytes the app stores), and answer 204.

What it does not do: no ORM, no SQLAlchemy, no pre-ping, no explicit transaction (no BEGIN/COMMIT round
trips), no reset query on release (like the app's ingest pool), no call row, no status rules, no index
beyond the primary key, no notification, no extraction, no log line of its own (uvicorn's access line;
the app logs one line of its own per delivery instead). Pool size: the app's ingest pool's (10).

Run by the bench as `uvicorn scripts.reference_receiver:app` with DATABASE_URL and RETELL_API_KEY.
"""

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from fastapi import FastAPI, Request, Response

from app.retell.signature import verify_retell_signature

KEY = os.environ["RETELL_API_KEY"]
URL = os.environ["DATABASE_URL"].replace("postgresql+asyncpg://", "postgresql://")
POOL_SIZE = int(os.environ.get("DB_INGEST_POOL_SIZE", "10"))
TABLE = "bench_reference_events"
INSERT = (
    f"INSERT INTO {TABLE} (retell_call_id, event, payload) VALUES ($1, $2, $3::json) ON CONFLICT DO NOTHING"
)
pool: asyncpg.Pool | None = None


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    global pool
    # No reset query on release (asyncpg's default sends one, a round trip): the INSERT sets no state.
    pool = await asyncpg.create_pool(URL, min_size=POOL_SIZE, max_size=POOL_SIZE, reset=_no_reset)
    await pool.execute(
        f"CREATE TABLE IF NOT EXISTS {TABLE} (retell_call_id VARCHAR(120) NOT NULL, "
        "event VARCHAR(60) NOT NULL, payload JSON NOT NULL, PRIMARY KEY (retell_call_id, event))"
    )
    yield
    await pool.close()


async def _no_reset(_connection: asyncpg.Connection) -> None:
    return None


app = FastAPI(lifespan=lifespan)


@app.post("/webhook/retell", status_code=204)
async def receive(request: Request) -> Response:
    body = (await request.body()).decode()
    if not verify_retell_signature(body, KEY, request.headers.get("x-retell-signature", "")):
        return Response(status_code=401)
    payload = json.loads(body)
    assert pool is not None
    await pool.execute(INSERT, payload["call"]["call_id"], payload["event"], body)
    return Response(status_code=204)
