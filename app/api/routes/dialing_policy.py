"""The dialing policy: where phone calls may go (read by anyone logged in, set by admins)."""

from fastapi import APIRouter

from app.api.dependencies import SessionDep, SettingsDep
from app.api.roles import AdminUser, ViewerUser
from app.core.errors import error_responses
from app.schemas.dialing import DialingPolicyPublic, DialingPolicyUpdate
from app.services import dialing

router = APIRouter(prefix="/api/dialing-policy", tags=["dialing_policy"])


@router.get("", responses=error_responses(401, 403, 503))
async def get_dialing_policy(
    session: SessionDep, settings: SettingsDep, _user: ViewerUser
) -> DialingPolicyPublic:
    """The regions phone calls may go to (premium-rate, shared-cost, UAN, voicemail, emergency and
    short numbers are refused everywhere)."""
    return await dialing.get_policy(session, settings=settings)


@router.put("", responses=error_responses(400, 401, 403, 422, 503))
async def set_dialing_policy(
    data: DialingPolicyUpdate, session: SessionDep, settings: SettingsDep, admin: AdminUser
) -> DialingPolicyPublic:
    """Set the regions phone calls may go to; recorded in the audit log."""
    return await dialing.update_policy(session, data=data, actor=admin, settings=settings)
