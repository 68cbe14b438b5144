"""What a standby node answers on the console's port: 503 to everything, and why."""

from __future__ import annotations

import json

import pytest
from aiohttp.test_utils import TestClient, TestServer

from hotline.cluster import standby_app


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/healthz"),
        ("GET", "/"),
        ("POST", "/api/login"),
        ("GET", "/ws"),
        ("GET", "/metrics"),
    ],
)
async def test_a_standby_answers_every_request_503_and_says_so(method: str, path: str) -> None:
    async with TestClient(TestServer(standby_app("hotline-b"), host="127.0.0.1")) as client:
        response = await client.request(method, path)
        assert response.status == 503
        assert response.headers["Retry-After"] == "1"
        assert response.content_type == "application/json"
        assert json.loads(await response.text()) == {
            "role": "standby",
            "error": "备用节点，等待接管",
            "node": "hotline-b",
        }
