"""Every request body is capped while it is read, before any route or credential check (413)."""

import asyncio
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import httpx
import pytest

from app.retell.webhook import MAX_BODY_BYTES as WEBHOOK_CAP

CAP = 100_000


async def _raw_post(base_url: str, path: str, head: list[str], chunks: int, chunk: bytes) -> tuple[str, int]:
    """POST over a bare socket, sending chunks until the server answers; the status line and bytes sent."""
    parts = urlsplit(base_url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    request = "\r\n".join([f"POST {path} HTTP/1.1", f"host: {parts.netloc}", *head, "", ""])
    writer.write(request.encode())
    sent = 0
    status = asyncio.create_task(reader.readline())
    try:
        for _ in range(chunks):
            if status.done():
                break
            writer.write(chunk)
            await writer.drain()
            sent += len(chunk)
        line = await asyncio.wait_for(status, timeout=10)
    except (ConnectionResetError, BrokenPipeError):
        try:
            line = await asyncio.wait_for(status, timeout=10)
        except (ConnectionResetError, BrokenPipeError):
            # The server answered and closed while we were still sending: TCP may then reset the
            # connection before its answer is read. It stopped reading, which is the point; the
            # caller tries again to see the answer itself.
            line = b"RESET"
    finally:
        writer.close()
    return line.decode(), sent


async def test_an_oversized_body_is_refused_with_413_before_authentication(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/agent-config",
        content=b"{" + b" " * 1_100_000 + b"}",
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["error"] == "PayloadTooLarge"
    assert "1 MB" in response.json()["detail"]
    login = await client.post("/api/auth/token", content=b"username=" + b"a" * 1_100_000)
    assert login.status_code == 413


async def test_a_body_under_the_cap_still_reaches_the_route(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    response = await client.post("/api/agent-config", json={"name": "x" * 500_000}, headers=auth)
    assert response.status_code == 422  # the route saw it: the name is too long, not the body


async def test_the_webhook_keeps_its_own_larger_cap(client: httpx.AsyncClient) -> None:
    body = b'{"event": "call_ended", "pad": "' + b" " * 5_000_000 + b'"}'
    response = await client.post("/webhook/retell", content=body, headers={"x-retell-signature": "v=1,d=00"})
    assert response.status_code == 401  # read whole and checked: 5 MB is a plausible delivery
    too_big = await client.post("/webhook/retell", content=b" " * (WEBHOOK_CAP + 1))
    assert too_big.status_code == 413


async def test_a_huge_declared_body_is_refused_without_being_read(
    live_server: Callable[..., str],
) -> None:
    base_url = live_server(max_request_body_bytes=CAP)
    started = time.monotonic()
    # 300 MB announced, unauthenticated; the server must answer without waiting for any of it.
    line, _ = await _raw_post(
        base_url,
        "/api/call/trigger",
        ["content-type: application/json", "content-length: 300000000"],
        chunks=0,
        chunk=b"",
    )
    assert line.startswith("HTTP/1.1 413"), line
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("path", ["/api/call/trigger", "/api/auth/token", "/api/agent-config"])
async def test_a_chunked_body_is_cut_off_at_the_cap_while_it_is_read(
    live_server: Callable[..., str], path: str
) -> None:
    base_url = live_server(max_request_body_bytes=CAP)
    chunk = b"%x\r\n%s\r\n" % (10_000, b"a" * 10_000)
    content_type = "application/x-www-form-urlencoded" if path.endswith("token") else "application/json"
    # Up to 100 MB offered in 10 kB chunks with no length announced: the answer comes near the cap.
    line, sent = await _raw_post(
        base_url, path, [f"content-type: {content_type}", "transfer-encoding: chunked"], 10_000, chunk
    )
    # The server stopped reading near the cap: socket buffers take a few MB more, never the 100 MB.
    assert sent < 10_000_000
    # It answered 413 and closed; a client still sending may see that close as a reset before it reads
    # the answer (TCP drops unread data on a reset), which is the same refusal.
    assert line.startswith("HTTP/1.1 413") or line == "RESET", line
