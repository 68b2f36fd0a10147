"""Stand-in Retell and OpenAI servers for trying the live code paths with no keys and no network.

    python scripts/standins.py            # Retell on :9001, OpenAI on :9002

then start the backend against them:

    RETELL_API_KEY=standin-key RETELL_BASE_URL=http://127.0.0.1:9001 \\
    OPENAI_API_KEY=sk-standin OPENAI_BASE_URL=http://127.0.0.1:9002/v1 make run

The Retell stand-in answers the routes the backend uses, then plays a driver call (a scripted
persona, or a shared fixture with --fixture) by POSTing signed webhooks to the agent's
`webhook_url`, as Retell does. The OpenAI stand-in answers chat completions with a tool call:
the fixture's labels, or else what the offline rules extractor reads in the transcript it was sent.
"""

import argparse
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # runnable from the repo root

from tests.support.standins import (
    load_fixture,
    openai_standin,
    persona_call,
    retell_standin,
    serve_in_thread,
)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--persona", default="blowout", help="simulator persona to play (default)")
    parser.add_argument("--fixture", help="play a shared transcript fixture instead, e.g. emergency_blowout")
    parser.add_argument("--retell-port", type=int, default=9001)
    parser.add_argument("--openai-port", type=int, default=9002)
    parser.add_argument("--api-key", default="standin-key", help="the RETELL_API_KEY the backend must use")
    args = parser.parse_args()
    call = load_fixture(args.fixture) if args.fixture else persona_call(args.persona)
    serve_in_thread(retell_standin(api_key=args.api_key, fixture=call, pace_seconds=1.0), args.retell_port)
    serve_in_thread(openai_standin(labels=call.get("expected")), args.openai_port)
    print(f"Retell stand-in on :{args.retell_port}, OpenAI stand-in on :{args.openai_port} (Ctrl-C stops)")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
