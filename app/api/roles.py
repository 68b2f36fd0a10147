"""Who may call a route: each route names its role in exactly one of these dependencies.

`AdminUser`, `DispatcherUser`, `ViewerUser` (and `StreamViewer` for the live streams) read the user,
with their role, on every request; a role below the route's is a 403. A route open to anyone says so
with `@public`, so a route that says nothing stands out (tests/api/test_roles.py refuses it).
"""

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends

from app.api.dependencies import get_current_user, get_stream_user
from app.core.errors import AppError
from app.models import Role, User


class Forbidden(AppError):
    status_code = 403


def _requiring(role: Role, *, stream: bool = False) -> Callable[..., Awaitable[User]]:
    source = get_stream_user if stream else get_current_user

    async def check(user: Annotated[User, Depends(source)]) -> User:
        if not user.role.allows(role):
            raise Forbidden(f"this needs the {role} role; you are {user.role}")
        return user

    check.__name__ = f"require_{role}{'_stream' if stream else ''}"
    check.required_role = role  # type: ignore[attr-defined]  # read by the route/role matrix test
    return check


require_admin = _requiring(Role.ADMIN)
require_dispatcher = _requiring(Role.DISPATCHER)
require_viewer = _requiring(Role.VIEWER)
require_viewer_stream = _requiring(Role.VIEWER, stream=True)


F = TypeVar("F", bound=Callable[..., Any])


def public(endpoint: F) -> F:
    """Marks a route anyone may call (login, health, Retell's signed webhook); costs nothing per request."""
    endpoint.public_route = True  # type: ignore[attr-defined]
    return endpoint


AdminUser = Annotated[User, Depends(require_admin)]
DispatcherUser = Annotated[User, Depends(require_dispatcher)]
ViewerUser = Annotated[User, Depends(require_viewer)]
StreamViewer = Annotated[User, Depends(require_viewer_stream)]
ROLE_CHECKS = (require_admin, require_dispatcher, require_viewer, require_viewer_stream)
