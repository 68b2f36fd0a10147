"""Where the labelled driver calls and Retell deliveries live: ../shared/fixtures, else the repo's copy."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED_FIXTURES = REPO_ROOT.parent / "shared" / "fixtures"
# A copy travels with the repository so a clone on its own still tests; tests/test_fixture_copy.py
# fails when it drifts from the shared originals.
VENDORED_FIXTURES = REPO_ROOT / "tests" / "fixtures"
FIXTURES_DIR = SHARED_FIXTURES if SHARED_FIXTURES.is_dir() else VENDORED_FIXTURES
TRANSCRIPTS_DIR = FIXTURES_DIR / "transcripts"
RETELL_DIR = FIXTURES_DIR / "retell"
