"""`python -m app.serve`: uvicorn with this service's limits; what `make run` and the Docker image start.

X-Forwarded-* are trusted from FORWARDED_ALLOW_IPS (uvicorn's, 127.0.0.1 unless set).
Settings come from the environment (app/config.py): PORT, WEB_CONCURRENCY, MAX_CONNECTIONS,
MAX_REQUEST_HEADER_BYTES, REQUEST_READ_TIMEOUT_SECONDS. The protocol that enforces the last three is
app/core/server.py; bodies are bounded inside the app (app/core/body_limit.py).
"""

import argparse

import uvicorn

from app.config import get_settings

PROTOCOL = "app.core.server:GuardedHttpToolsProtocol"
# Above common load balancers' idle timeouts (60 s), so a reused connection is never cut under them.
KEEP_ALIVE_SECONDS = 75


def main(argv: list[str] | None = None) -> None:
    settings = get_settings()  # refuses a bad configuration before any worker starts
    parser = argparse.ArgumentParser(prog="python -m app.serve", description=__doc__)
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=settings.port)
    args = parser.parse_args(argv)
    uvicorn.run(
        "app.main:app",
        host=args.host,
        port=args.port,
        workers=settings.web_concurrency,
        http=PROTOCOL,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
    )


if __name__ == "__main__":
    main()
