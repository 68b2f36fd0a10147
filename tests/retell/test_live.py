"""The live Retell client: what it refuses before calling Retell, and how it words Retell's errors."""

import httpx
import pytest
import respx

from app.core.errors import Conflict, UpstreamError
from app.retell import CallRequest
from app.retell.live import LiveRetell
from tests.support import RETELL_API_KEY, RETELL_BASE_URL


def phone_call(*, from_number: str | None, to_number: str | None) -> CallRequest:
    return CallRequest(
        call_type="phone",
        agent_id="agent_1",
        to_number=to_number,
        from_number=from_number,
        dynamic_variables={},
        metadata={"call_id": "c1"},
    )


@pytest.mark.parametrize(
    ("from_number", "to_number"),
    [(None, "+13125550102"), ("+14155550100", None), (None, None)],
    ids=["no-from-number", "no-driver-number", "neither"],
)
async def test_a_phone_call_missing_a_number_is_refused_before_retell_is_asked(
    from_number: str | None, to_number: str | None
) -> None:
    retell = LiveRetell(api_key=RETELL_API_KEY, base_url=RETELL_BASE_URL)
    with respx.mock(base_url=RETELL_BASE_URL, assert_all_called=False) as router:
        route = router.post("/v2/create-phone-call").respond(201, json={"call_id": "call_1"})
        with pytest.raises(Conflict) as refused:
            await retell.start_call(phone_call(from_number=from_number, to_number=to_number))
    await retell.aclose()
    assert refused.value.detail == "a phone call needs RETELL_FROM_NUMBER and the driver's number"
    assert route.call_count == 0


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"error_message": "voice_id is not valid"}, "Retell: voice_id is not valid"),
        ({"message": "agent is archived"}, "Retell: agent is archived"),
        ({"error": "rate limited"}, "Retell: rate limited"),
        ({"error_message": "first wins", "message": "not this"}, "Retell: first wins"),
    ],
)
async def test_retells_error_message_is_passed_on_whichever_key_it_uses(
    body: dict[str, str], detail: str
) -> None:
    retell = LiveRetell(api_key=RETELL_API_KEY, base_url=RETELL_BASE_URL)
    with respx.mock(base_url=RETELL_BASE_URL) as router:
        router.post("/v2/create-phone-call").mock(return_value=httpx.Response(400, json=body))
        with pytest.raises(UpstreamError) as failed:
            await retell.start_call(phone_call(from_number="+14155550100", to_number="+13125550102"))
    await retell.aclose()
    assert failed.value.detail == detail


async def test_every_request_to_retell_has_a_twenty_second_timeout_and_five_to_connect() -> None:
    retell = LiveRetell(api_key=RETELL_API_KEY, base_url=RETELL_BASE_URL)
    with respx.mock(base_url=RETELL_BASE_URL) as router:
        route = router.post("/v2/create-phone-call").respond(201, json={"call_id": "call_1"})
        started = await retell.start_call(phone_call(from_number="+14155550100", to_number="+13125550102"))
    await retell.aclose()
    assert started.retell_call_id == "call_1"
    timeout = route.calls.last.request.extensions["timeout"]
    assert timeout == {"connect": 5.0, "read": 20.0, "write": 20.0, "pool": 20.0}
