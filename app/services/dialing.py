"""The dialing policy: which numbers a phone call may go to, and who changed the allowed regions."""

import phonenumbers
from loguru import logger
from phonenumbers import PhoneNumberType, shortnumberinfo
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import Settings
from app.core.errors import AppError
from app.models import DialingPolicy, User
from app.models.base import utcnow
from app.schemas.dialing import DialingPolicyPublic, DialingPolicyUpdate
from app.services import audit

# Numbers whose cost or destination nobody can vouch for: premium and shared-cost lines bill the
# caller (toll fraud), UAN and voicemail numbers are not a driver's phone, and unknown is unknown.
REFUSED_TYPES = {
    PhoneNumberType.PREMIUM_RATE: "a premium-rate number",
    PhoneNumberType.SHARED_COST: "a shared-cost number",
    PhoneNumberType.UAN: "a universal access number (UAN)",
    PhoneNumberType.VOICEMAIL: "a voicemail access number",
    PhoneNumberType.UNKNOWN: "a number of unknown type",
}
POLICY_ID = 1


class NumberNotDialable(AppError):
    status_code = 422


def check_dialable(number: str, *, allowed_regions: list[str]) -> None:
    """Raise NumberNotDialable (422), saying why, unless a phone call may go to this E.164 number."""
    if phonenumbers.connects_to_emergency_number(number, "US"):
        raise NumberNotDialable(f"{number} is an emergency number: never dialed by the agent")
    try:
        parsed = phonenumbers.parse(number, "US")
    except phonenumbers.NumberParseException:
        raise NumberNotDialable(f"{number} is not a phone number") from None
    if not phonenumbers.is_valid_number(parsed):
        short = not number.startswith("+") and shortnumberinfo.is_possible_short_number(parsed)
        raise NumberNotDialable(f"{number} is {'a short code' if short else 'not a valid number'}")
    kind = REFUSED_TYPES.get(phonenumbers.number_type(parsed))
    if kind is not None:
        raise NumberNotDialable(f"{number} is {kind}: the dialing policy refuses it")
    region = phonenumbers.region_code_for_number(parsed)
    if region not in allowed_regions:
        allowed = ", ".join(allowed_regions) or "none"
        raise NumberNotDialable(
            f"{number} is in region {region}, outside the dialing policy's regions ({allowed})"
        )


async def allowed_regions(session: AsyncSession, *, settings: Settings) -> list[str]:
    """The regions an admin set, or DIALING_ALLOWED_REGIONS until one has."""
    policy = await session.get(DialingPolicy, POLICY_ID)
    return list(policy.allowed_regions) if policy is not None else settings.dialing_region_list


async def get_policy(session: AsyncSession, *, settings: Settings) -> DialingPolicyPublic:
    policy = await session.get(DialingPolicy, POLICY_ID)
    if policy is None:
        return DialingPolicyPublic(
            allowed_regions=settings.dialing_region_list, updated_at=None, updated_by=None
        )
    return DialingPolicyPublic.model_validate(policy, from_attributes=True)


async def update_policy(
    session: AsyncSession, *, data: DialingPolicyUpdate, actor: User, settings: Settings
) -> DialingPolicyPublic:
    """Set the allowed regions (an audited admin action)."""
    before = await allowed_regions(session, settings=settings)
    policy = await session.get(DialingPolicy, POLICY_ID, with_for_update=True)
    if policy is None:
        policy = DialingPolicy(id=POLICY_ID)
    policy.allowed_regions = data.allowed_regions
    policy.updated_at = utcnow()
    policy.updated_by = actor.id
    session.add(policy)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="dialing_policy.updated",
        target_type="dialing_policy",
        target_id=None,
        changes=audit.diff({"allowed_regions": before}, {"allowed_regions": data.allowed_regions}),
    )
    logger.info("dialing policy set to {} by {}", ",".join(data.allowed_regions) or "none", actor.email)
    return DialingPolicyPublic.model_validate(policy, from_attributes=True)
