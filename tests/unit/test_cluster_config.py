"""[cluster]: its keys and the lease's connection settings."""

from __future__ import annotations

import socket

import pytest

from hotline.config import ConfigError, load_config
from hotline.lease import Lease, check_timeout, connect_arguments, server_keepalives

PG = "postgresql+asyncpg://hotline:s3cret@db.example:6432/hotline"


def test_cluster_is_off_by_default_and_sqlite_still_serves() -> None:
    config = load_config(None, environ={})
    assert not config.cluster.enabled
    assert config.database.url.startswith("sqlite")
    assert config.cluster.node == socket.gethostname()


def test_enabled_cluster_takes_its_keys_from_the_environment() -> None:
    config = load_config(
        None,
        environ={
            "HOTLINE_DATABASE_URL": PG,
            "HOTLINE_CLUSTER_ENABLED": "true",
            "HOTLINE_CLUSTER_LEASE_KEY": "-5",
            "HOTLINE_CLUSTER_POLL_SECONDS": "0.25",
            "HOTLINE_CLUSTER_NODE_NAME": "hotline-b",
        },
    )
    cluster = config.cluster
    assert (cluster.enabled, cluster.lease_key, cluster.poll_seconds) == (True, -5, 0.25)
    assert cluster.node == "hotline-b"


def test_an_enabled_cluster_without_postgresql_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"\[cluster\] enabled.*PostgreSQL"):
        load_config(None, environ={"HOTLINE_CLUSTER_ENABLED": "1"})


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("LEASE_KEY", str(2**63), "lease_key"),
        ("LEASE_KEY", "seven", "lease_key"),
        ("POLL_SECONDS", "0", "poll_seconds"),
    ],
)
def test_bad_cluster_values_are_refused(key: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(None, environ={f"HOTLINE_CLUSTER_{key}": value})


def test_the_lease_connects_with_the_database_address_and_credentials_only() -> None:
    assert connect_arguments(PG + "?ssl=require&prepared_statement_cache_size=0") == {
        "host": "db.example",
        "port": 6432,
        "user": "hotline",
        "password": "s3cret",
        "database": "hotline",
        "ssl": "require",
    }
    assert connect_arguments("postgresql+asyncpg://postgres@127.0.0.1/x") == {
        "host": "127.0.0.1",
        "user": "postgres",
        "database": "x",
    }
    with pytest.raises(ValueError):
        connect_arguments("sqlite+aiosqlite:///hotline.db")


@pytest.mark.parametrize("poll", [0.1, 0.5, 1.0, 5.0, 30.0])
def test_the_server_drops_a_silent_node_only_after_it_has_fenced_itself(poll: float) -> None:
    """A node cut off notices within a poll and a check; the server, from its keepalives,
    no sooner than twice that (so no two nodes are active at once)."""
    settings = server_keepalives(poll)
    server_drops_after = int(settings["tcp_keepalives_idle"]) + int(
        settings["tcp_keepalives_interval"]
    ) * int(settings["tcp_keepalives_count"])
    assert server_drops_after >= 2 * (poll + check_timeout(poll))


async def test_a_lease_on_an_unreachable_server_is_not_taken_and_says_why() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # nothing listens there once closed
    lease = Lease(f"postgresql+asyncpg://postgres@127.0.0.1:{port}/x", 1, 0.1, "a")
    assert not await lease.try_acquire()
    assert lease.problem is not None and not lease.held
    await lease.release()
