# ruff: noqa
"""The app with server-side timers on the conversation engine's path: profiling only, never deployed.

Where a turn's time goes inside the server (the bench's client-side figures include the loopback and the
client's own share of the cores): parsing the frame, the policy step, storing the turn, and from the
`response_required` dispatched to its first `response` chunk handed to the socket. Percentiles are
written as JSON at exit (TIMINGS_OUT, default /tmp/engine_timings.json).

    PYTHONPATH=scripts LLM_WEBSOCKET_SECRET=... DATABASE_URL=... \
        .venv/bin/uvicorn engine_timers:create --factory --port 8000
    .venv/bin/python scripts/bench_engine.py --url ws://127.0.0.1:8000/llm-websocket/SECRET   # then Ctrl-C the server
"""

import atexit, json, time, os
from app.main import create_app
from app.conversation import session as S
from app.api.routes import llm_websocket as R
from app.services import conversations as C

T = {"parse": [], "decide": [], "save_turn": [], "open": [], "first_chunk": [], "policy": []}
_orig_parse = S.parse_inbound


def parse(text):
    t = time.perf_counter()
    m = _orig_parse(text)
    T["parse"].append(time.perf_counter() - t)
    return m


S.parse_inbound = parse

_orig_dispatch = S.ConversationSession._dispatch


def dispatch(self, message):
    if isinstance(message, (S.ResponseRequired, S.ReminderRequired)):
        self.__dict__.setdefault("_t0", {})[message.response_id] = time.perf_counter()
    return _orig_dispatch(self, message)


S.ConversationSession._dispatch = dispatch

_orig_init = S.ConversationSession.__init__


def init(self, socket, **kw):
    _orig_init(self, socket, **kw)
    orig_send = socket.send
    sess = self

    async def send(text):
        if text.startswith('{"response_type":"response"'):
            rid = json.loads(text)["response_id"]
            t0 = sess.__dict__.get("_t0", {}).pop(rid, None)
            if t0 is not None:
                T["first_chunk"].append(time.perf_counter() - t0)
        await orig_send(text)

    socket.send = send


S.ConversationSession.__init__ = init


def timed(cls, name, key):
    orig = getattr(cls, name)

    async def wrapper(*a, **kw):
        t = time.perf_counter()
        try:
            return await orig(*a, **kw)
        finally:
            T[key].append(time.perf_counter() - t)

    setattr(cls, name, wrapper)


timed(S.ConversationSession, "_decide", "decide")
timed(C.DatabaseCallStore, "save_turn", "save_turn")
timed(C.DatabaseCallStore, "open", "open")

from app.conversation import policy as P

_orig_step = P.step


def step(*a, **kw):
    t = time.perf_counter()
    r = _orig_step(*a, **kw)
    T["policy"].append(time.perf_counter() - t)
    return r


P.step = step


def dump():
    out = {}
    for k, v in T.items():
        if v:
            v = sorted(v)
            n = len(v)
            out[k] = {
                "n": n,
                "p50_ms": round(v[n // 2] * 1000, 2),
                "p95_ms": round(v[int(n * 0.95)] * 1000, 2),
                "p99_ms": round(v[int(n * 0.99)] * 1000, 2),
                "mean_ms": round(sum(v) / n * 1000, 3),
            }
    open(os.environ.get("TIMINGS_OUT", "/tmp/engine_timings.json"), "w").write(json.dumps(out, indent=1))


atexit.register(dump)


def create():
    return create_app()
