"""The repository's copy of the shared fixtures must match the originals when both are present."""

import pytest

from tests.support.fixtures import SHARED_FIXTURES, VENDORED_FIXTURES


@pytest.mark.skipif(not SHARED_FIXTURES.is_dir(), reason="no ../shared beside this clone")
def test_vendored_fixtures_match_the_shared_ones() -> None:
    shared = {p.relative_to(SHARED_FIXTURES): p.read_bytes() for p in SHARED_FIXTURES.rglob("*.json")}
    vendored = {p.relative_to(VENDORED_FIXTURES): p.read_bytes() for p in VENDORED_FIXTURES.rglob("*.json")}
    assert shared.keys() == vendored.keys()
    assert [name for name in shared if shared[name] != vendored[name]] == []
