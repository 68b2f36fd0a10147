"""Retell's LLM WebSocket: the conversation engine speaks for `custom_llm` agents here."""

import hmac

from fastapi import APIRouter, WebSocket
from loguru import logger
from starlette.websockets import WebSocketDisconnect

from app.api.dependencies import AppContext
from app.conversation.session import ConversationSession
from app.services.conversations import DatabaseCallStore

MAX_CALL_ID_LENGTH = 120
# Sent before the handshake is accepted: the server answers the upgrade with HTTP 403.
POLICY_VIOLATION = 1008

router = APIRouter(tags=["llm_websocket"])


class StarletteSocket:
    """Starlette's WebSocket as the session's `Socket`: frames in, text out, a close code."""

    def __init__(self, websocket: WebSocket) -> None:
        self._websocket = websocket

    async def receive(self) -> str | bytes | None:
        try:
            message = await self._websocket.receive()
        except (WebSocketDisconnect, RuntimeError):
            return None
        if message["type"] == "websocket.disconnect":
            return None
        text = message.get("text")
        return text if text is not None else (message.get("bytes") or b"")

    async def send(self, text: str) -> None:
        await self._websocket.send_text(text)

    async def close(self, code: int) -> None:
        await self._websocket.close(code)


@router.websocket("/llm-websocket/{secret}/{call_id}")
async def llm_websocket(websocket: WebSocket, secret: str, call_id: str) -> None:
    """One call's conversation: Retell connects here (`llm_websocket_url` + `/{call_id}`)."""
    context: AppContext = websocket.state.context
    expected = context.settings.llm_websocket_secret
    if (
        not expected
        or not hmac.compare_digest(secret.encode(), expected.encode())
        or not 0 < len(call_id) <= MAX_CALL_ID_LENGTH
    ):
        logger.warning("refused an LLM WebSocket with a wrong secret or call id")
        await websocket.close(POLICY_VIOLATION)  # before accept(): a 403 at the handshake, nothing stored
        return
    await websocket.accept()
    session = ConversationSession(
        StarletteSocket(websocket),
        retell_call_id=call_id,
        store=DatabaseCallStore(context.session_maker, context.settings, pool=context.recorder.pool),
        policy=context.conversation_policy,
        reader=context.live_reader,
    )
    await session.run()
