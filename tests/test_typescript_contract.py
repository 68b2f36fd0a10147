"""A TypeScript client generated from the live /openapi.json compiles, and refuses what the API never sends.

openapi-typescript turns the served schema into types; `tsc --noEmit --strict` then checks a slice of the
dashboard (tests/contract/dashboard.ts: list calls with every filter, read each scenario's result fields,
handle a 401 and a 422; the users page, an invitation, the audit log, the dialing policy, and the 403s)
and must reject tests/contract/mistakes.ts (FastAPI's old `detail[0].loc`, a result field read without
checking `scenario`, a status or a role that does not exist). `make test` installs the two npm
packages into tests/contract/node_modules (git-ignored); without Node.js the test is skipped, except in CI.
"""

import os
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from app.config import Settings
from app.main import create_app

CONTRACT = Path(__file__).resolve().parent / "contract"
TOOLS = CONTRACT / "node_modules" / ".bin"
TSC_OPTIONS = [
    "--noEmit",
    "--strict",
    "--noUncheckedIndexedAccess",
    "--target",
    "es2022",
    "--module",
    "esnext",
    "--moduleResolution",
    "bundler",
    "--lib",
    "es2022,dom",
]


def tools_or_skip() -> None:
    if shutil.which("node") is None:
        message = "Node.js not found: TypeScript contract test skipped (.ci/run installs it)"
    elif not (TOOLS / "tsc").exists() or not (TOOLS / "openapi-typescript").exists():
        message = "openapi-typescript/tsc not installed: run `make test` (npm ci in tests/contract)"
    else:
        return
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


async def served_schema(tmp_path: Path) -> Path:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, environment="test", database_url=f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}"
    )
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.get("/openapi.json")
    assert response.status_code == 200
    path = tmp_path / "openapi.json"
    path.write_text(response.text)
    return path


def run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300, check=False)


async def test_the_dashboard_type_checks_against_the_generated_client(tmp_path: Path) -> None:
    tools_or_skip()
    schema = await served_schema(tmp_path)
    generated = run([str(TOOLS / "openapi-typescript"), str(schema), "-o", "api.d.ts"], tmp_path)
    assert generated.returncode == 0, generated.stderr
    for module in ("dashboard.ts", "mistakes.ts"):
        shutil.copy(CONTRACT / module, tmp_path / module)

    dashboard = run([str(TOOLS / "tsc"), *TSC_OPTIONS, "dashboard.ts"], tmp_path)
    assert dashboard.returncode == 0, dashboard.stdout + dashboard.stderr

    mistakes = run([str(TOOLS / "tsc"), *TSC_OPTIONS, "mistakes.ts"], tmp_path)
    assert mistakes.returncode != 0
    assert "Property 'loc' does not exist" in mistakes.stdout
    assert "Property 'eta' does not exist" in mistakes.stdout
    assert """Type '"finished"' is not assignable""" in mistakes.stdout
    assert """Type '"superuser"' is not assignable""" in mistakes.stdout
