"""The cluster's configuration files as written and checked by their own programs: every
node's TOML loads, Kamailio accepts deploy/kamailio/cluster.cfg (`kamailio -c`) and nginx the
console proxy built from deploy/nginx/hotline.conf (`nginx -t`)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from hotline.config import load_config
from tools.cluster_launcher import KAMAILIO_CFG, Cluster, ClusterSettings


def written(tmp_path: Path) -> Cluster:
    cluster = Cluster(ClusterSettings(workdir=tmp_path, proxy=("127.0.0.1", 5070)))
    cluster.database_url = "postgresql+asyncpg://postgres@127.0.0.1:5432/hotline_cluster"
    cluster.write_configs()
    return cluster


def test_each_node_config_loads_with_its_own_addresses(tmp_path: Path) -> None:
    cluster = written(tmp_path)
    configs = [load_config(node.config, environ={}) for node in cluster.nodes]
    assert [c.sip.host for c in configs] == ["127.0.0.2", "127.0.0.3"]
    assert [c.console.host for c in configs] == ["127.0.0.2", "127.0.0.3"]
    for config in configs:
        assert config.database.url == cluster.database_url
        assert config.sip.trunk_peers == ("127.0.0.1",)  # Kamailio sends the calls
        assert config.guard.exempt_sources == ("127.0.0.1",)
        assert config.media.engine == "rtpengine"
        assert config.cluster.enabled
    ranges = [range(c.sip.rtp_port_min, c.sip.rtp_port_max + 1) for c in configs]
    assert not set(ranges[0]) & set(ranges[1])
    assert len({c.cluster.node_name for c in configs}) == 2
    assert len({c.cluster.lease_key for c in configs}) == 1
    assert len({c.sip.nonce_secret for c in configs}) == 1  # a nonce from one works on both


def test_kamailio_accepts_the_cluster_configuration(tmp_path: Path) -> None:
    binary = shutil.which("kamailio") or "/usr/sbin/kamailio"
    if not Path(binary).exists():
        pytest.fail("kamailio is not installed (tools/install-test-deps.sh installs it)")
    nodes = tmp_path / "cluster.list"
    nodes.write_text("1 sip:127.0.0.2:5060\n1 sip:127.0.0.3:5060\n")
    done = subprocess.run(
        [binary, "-c", "-f", str(KAMAILIO_CFG), f'-ADISPATCHER_LIST="{nodes}"'],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]


def test_nginx_accepts_the_console_proxy(tmp_path: Path) -> None:
    if shutil.which("nginx") is None:
        pytest.fail("nginx is not installed (tools/install-test-deps.sh installs it)")
    cluster = written(tmp_path)
    conf = cluster.nginx_config(8000)
    done = subprocess.run(
        ["nginx", "-t", "-c", str(conf), "-p", str(conf.parent)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    text = conf.read_text()
    assert "server 127.0.0.2:8080" in text and "server 127.0.0.3:8080" in text
    assert "http_503" in text and "Upgrade $http_upgrade" in text
