"""Security headers on every response. Pure ASGI: one header list added to each response's start.

- Everywhere: `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer`, and no framing
  (`X-Frame-Options: DENY` and CSP `frame-ancestors 'none'`).
- `/api`: `Cache-Control: no-store` (tokens, calls and transcripts stay out of every cache).
- `/docs`: a CSP that lets Swagger UI run: FastAPI's page loads its script and styles from jsDelivr,
  starts it with one inline script, and shows FastAPI's favicon (ReDoc: fonts and a blob: worker).
  Everything else: `default-src 'none'` (JSON and event streams need nothing).
"""

from starlette.types import ASGIApp, Message, Receive, Scope, Send

SWAGGER_CDN = "https://cdn.jsdelivr.net"
DOCS_CSP = (
    f"default-src 'none'; script-src 'self' 'unsafe-inline' {SWAGGER_CDN}; "
    f"style-src 'self' 'unsafe-inline' {SWAGGER_CDN} https://fonts.googleapis.com; "
    "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; connect-src 'self'; "
    "font-src 'self' data: https://fonts.gstatic.com; worker-src 'self' blob:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
DOCS_PATHS = ("/docs", "/redoc")

_COMMON = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]
_API = [*_COMMON, (b"cache-control", b"no-store"), (b"content-security-policy", API_CSP.encode())]
_DOCS = [*_COMMON, (b"content-security-policy", DOCS_CSP.encode())]
_OTHER = [*_COMMON, (b"content-security-policy", API_CSP.encode())]


def headers_for(path: str) -> list[tuple[bytes, bytes]]:
    if path.startswith("/api/") or path == "/api":
        return _API
    if path.startswith(DOCS_PATHS):
        return _DOCS
    return _OTHER


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = headers_for(scope["path"])

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                added = [(name, value) for name, value in extra if name not in present]
                message = {**message, "headers": [*message.get("headers", []), *added]}
            await send(message)

        await self.app(scope, receive, send_with_headers)
