"""The PostgreSQL database of the several-nodes tests (nodes and leases are nothing without
it), reset before each test: the one every PostgreSQL test uses, reached or skipped alike."""

from __future__ import annotations

import os

import pytest

from tests.conftest import PG_URL, postgres_available, reset_postgres


def cluster_postgres_url() -> str:
    """The test database's URL, emptied. Without a server the test is skipped, except where
    PostgreSQL is required (CI): there it fails."""
    problem = postgres_available(PG_URL)
    if problem is not None:
        if os.environ.get("HOTLINE_TEST_POSTGRES_REQUIRED") or os.environ.get("CI"):
            pytest.fail(f"PostgreSQL test database unreachable at {PG_URL}: {problem}")
        pytest.skip(f"PostgreSQL not reachable ({problem}); set HOTLINE_TEST_POSTGRES_URL")
    reset_postgres(PG_URL)
    return PG_URL
