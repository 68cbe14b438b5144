"""The PostgreSQL database of the several-nodes tests: only the one HOTLINE_TEST_POSTGRES_URL
names (nodes and leases are nothing without it), reset before each test."""

from __future__ import annotations

import os

import pytest

from tests.conftest import postgres_available, reset_postgres


def cluster_postgres_url() -> str:
    """The test database's URL, emptied; the test is skipped when none is configured."""
    url = os.environ.get("HOTLINE_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("several nodes need PostgreSQL: set HOTLINE_TEST_POSTGRES_URL")
    problem = postgres_available(url)
    if problem is not None:
        pytest.fail(f"PostgreSQL test database unreachable at {url}: {problem}")
    reset_postgres(url)
    return url
