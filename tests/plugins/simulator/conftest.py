"""A simulator per test, served by pytest-aiohttp on a loopback port, and small request helpers."""
import json

import pytest

from plugins.simulator.app import create_app
from plugins.simulator.options import SimDefaults

KEY = "sk-test-simulator-key"
MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say hello to the gateway."}]


@pytest.fixture
async def sim(aiohttp_client):
    return await aiohttp_client(create_app(SimDefaults(latency_ms=0, chunks=5, chunk_interval_ms=0)))


def chat_body(**fields) -> dict:
    return {"model": "gpt-4o-mini", "messages": MESSAGES} | fields


async def post_chat(client, body=None, *, provider="openai", path="/v1/chat/completions", headers=None, key=KEY):
    auth = {"Authorization": f"Bearer {key}"} if key else {}
    payload = body if isinstance(body, (str, bytes)) else json.dumps(chat_body() if body is None else body)
    return await client.post(f"/{provider}{path}", data=payload, headers=auth | (headers or {}))


def sse_events(text: str) -> list:
    """The `data:` payloads of an SSE body, JSON-decoded except the final `[DONE]`."""
    payloads = [block.removeprefix("data: ") for block in text.split("\n\n") if block]
    return [payload if payload == "[DONE]" else json.loads(payload) for payload in payloads]
