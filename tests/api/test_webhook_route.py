"""The webhook route's framework overhead (issue 8): nothing on its path runs in the thread pool, and no
middleware buffers the request as Starlette's BaseHTTPMiddleware does."""

import inspect
from collections.abc import Callable, Iterator

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.middleware.base import BaseHTTPMiddleware

from app.api.routes import webhooks
from app.config import Settings
from app.main import create_app


def _calls(dependant: Dependant) -> Iterator[Callable[..., object]]:
    if dependant.call is not None:
        yield dependant.call
    for sub in dependant.dependencies:
        yield from _calls(sub)


def test_the_webhook_route_and_its_dependencies_are_all_async() -> None:
    (route,) = [r for r in webhooks.router.routes if isinstance(r, APIRoute) and r.path == "/webhook/retell"]
    sync = [call for call in _calls(route.dependant) if not inspect.iscoroutinefunction(call)]
    assert sync == [], f"run in the thread pool on every delivery: {sync}"


def test_every_middleware_is_pure_asgi(make_settings: Callable[..., Settings]) -> None:
    app = create_app(make_settings())
    buffering = [
        m.cls
        for m in app.user_middleware
        if isinstance(m.cls, type) and issubclass(m.cls, BaseHTTPMiddleware)
    ]
    assert app.user_middleware and buffering == []
