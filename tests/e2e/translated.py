"""Helpers for the endpoints translated onto chat completions (Anthropic Messages, OpenAI Responses): the
official SDKs pointed at the gateway, the provider's call behind an answer, raw streams, ledger rows."""
import asyncio
import json
from decimal import Decimal

import anthropic
import sqlalchemy as sa
from multidict import CIMultiDict

from schemas.tables import usage_events
from tests.e2e.chat import expected_cost, simulator_ledger

MODEL = "deepseek-v4"
WEATHER = {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
           "required": ["city", "days"]}


def anthropic_sdk(base: str, key: str) -> anthropic.AsyncAnthropic:
    # Unchanged but for the base URL and the key; no retries: a 429 must reach the test.
    return anthropic.AsyncAnthropic(base_url=base, api_key=key, max_retries=0)


async def provider_calls(session, gateway, request_id: str) -> list[dict]:
    """The simulator's entries for the provider calls a request made (Envoy passes x-request-id upstream),
    a router's attempts included, in order."""
    return [e for e in await simulator_ledger(session, gateway) if e.get("request_id") == request_id]


async def provider_call(session, gateway, request_id: str) -> dict:
    """The one provider call a request made."""
    entries = await provider_calls(session, gateway, request_id)
    assert len(entries) == 1, f"the provider served request {request_id} {len(entries)} times"
    return entries[0]


async def no_provider_call(session, gateway, request_id: str) -> bool:
    return not [e for e in await simulator_ledger(session, gateway) if e.get("request_id") == request_id]


def cost_of(gateway, call: dict, model: str = MODEL) -> Decimal:
    return expected_cost(gateway, model, call["prompt_tokens"], call["completion_tokens"])


async def ledger_row(db, request_id: str, timeout: float = 5.0):
    """The gateway's ledger row of one request, once the usage queue has landed it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        async with db.connect() as conn:
            row = (await conn.execute(sa.select(usage_events).where(usage_events.c.request_id == request_id))).first()
        if row is not None or loop.time() > deadline:
            return row
        await asyncio.sleep(0.1)


async def sse_events(session, url: str, headers: dict, body: dict) -> tuple[int, list[tuple[str, dict]], list[str],
                                                                             dict]:
    """A raw stream: status, its (event, data) pairs, its comment lines, and the response headers."""
    async with session.post(url, headers=headers, json=body) as response:
        raw = (await response.read()).decode()
        headers = CIMultiDict(response.headers)
    events, comments = [], []
    for block in raw.split("\n\n"):
        lines = block.strip().split("\n")
        comments += [line for line in lines if line.startswith(":")]
        kind = next((line[7:] for line in lines if line.startswith("event: ")), None)
        data = next((line[6:] for line in lines if line.startswith("data: ")), None)
        if data is not None:
            events.append((kind, json.loads(data)))
    return response.status, events, comments, headers


async def read_then_hang_up(session, url: str, headers: dict, body: dict, events: int) -> tuple[str, list[bytes]]:
    """Read `events` SSE events of a stream, then close the connection (a client that went away); the
    request id and the events read."""
    async with session.post(url, headers=headers, json=body) as response:
        assert response.status == 200
        received = [await response.content.readuntil(b"\n\n") for _ in range(events)]
        request_id = response.headers["x-request-id"]
        response.close()
    return request_id, received


async def cut_call(session, gateway, request_id: str) -> dict:
    """The provider's call once the simulator noticed its stream was cut."""
    for _ in range(100):
        call = await provider_call(session, gateway, request_id)
        if call["disconnected"]:
            return call
        await asyncio.sleep(0.05)
    raise AssertionError(f"the simulator never saw the stream of {request_id} cut")
