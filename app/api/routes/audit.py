"""The audit log of admin actions (admins only)."""

from typing import Annotated

from fastapi import APIRouter, Query

from app.api.dependencies import SessionDep
from app.api.roles import AdminUser
from app.core.errors import error_responses
from app.schemas.agent_config import PageQuery
from app.schemas.audit import AuditPage
from app.services import audit

router = APIRouter(prefix="/api/audit", tags=["audit"])


@router.get("", responses=error_responses(400, 401, 403, 422, 503))
async def list_audit_entries(
    page: Annotated[PageQuery, Query()], session: SessionDep, _admin: AdminUser
) -> AuditPage:
    """Who did what and when, newest first, with each changed field's old and new value."""
    return await audit.list_entries(session, limit=page.limit, cursor=page.cursor)
