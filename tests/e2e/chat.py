"""Helpers for the chat-completion tests: requests, the simulator's ledger, and prices."""
import json
from decimal import Decimal

import openai
import yaml
from multidict import CIMultiDict

from tests.support.accounts import set_tier
from tests.support.api import Account, call, new_account
from tests.support.ledger import insert_usage

HELLO = [{"role": "user", "content": "Hello!"}]


def sdk(base: str, credential: str) -> openai.AsyncOpenAI:
    # No retries: a 429 must reach the test, not be retried away by the SDK.
    return openai.AsyncOpenAI(base_url=f"{base}/v1", api_key=credential, max_retries=0)


async def chat(session, base: str, headers: dict, **body) -> tuple[int, dict, CIMultiDict]:
    return await call(session, "POST", f"{base}/v1/chat/completions", json={"messages": HELLO, **body},
                      headers=headers)


async def stream_events(session, base: str, headers: dict, **body) -> tuple[int, list[bytes], dict]:
    """Status, the raw SSE events (comments included) and headers of a streamed completion."""
    async with session.post(f"{base}/v1/chat/completions", headers=headers,
                            json={"messages": HELLO, "stream": True, **body}) as response:
        raw = await response.read()
        return response.status, [e for e in raw.split(b"\n\n") if e.strip()], CIMultiDict(response.headers)


def data_of(events: list[bytes]) -> list:
    return [json.loads(e[6:]) for e in events if e.startswith(b"data: {")]


async def simulator_ledger(session, gateway, **filters) -> list[dict]:
    status, body, _ = await call(session, "GET", f"{gateway.simulator_url}/_sim/ledger", params=filters)
    assert status == 200
    return body["data"]


async def ledger_entry(session, gateway, response_id: str) -> dict:
    entries = [e for e in await simulator_ledger(session, gateway) if e["id"] == response_id]
    assert len(entries) == 1, f"simulator served {response_id} {len(entries)} times"
    return entries[0]


def prices(gateway) -> dict[str, tuple[Decimal, Decimal]]:
    models = yaml.safe_load(gateway.config_path.read_text())["models"]
    return {name: (Decimal(m["price_per_1m"]["input"]), Decimal(m["price_per_1m"]["output"]))
            for name, m in models.items() if m.get("kind", "chat") == "chat"}


def expected_cost(gateway, model: str, prompt: int, completion: int) -> Decimal:
    price_in, price_out = prices(gateway)[model]
    return (prompt * price_in + completion * price_out) / 1_000_000


async def account_on_tier(session, gateway, db, tier: str) -> Account:
    """A new account on `tier`; set before its first AI request, so no sidecar has it cached yet."""
    account = await new_account(session, gateway.url)
    await set_tier(db, account.id, tier)
    return account


FREE_QUOTA = 100_000  # the free tier's monthly tokens (gateway.yaml)


async def free_account_with(session, gateway, db, left: int) -> Account:
    """A free account with `left` tokens of its month's quota left (its ledger says so before the sidecar
    first counts it)."""
    account = await new_account(session, gateway.url)
    await insert_usage(db, account.id, FREE_QUOTA - left)
    return account


async def quota_left_is(session, gateway, account, left: int) -> None:
    """The quota counter holds exactly `left`: a chat reserving left + 1 is refused, one reserving left is not.
    ("Hello!" is estimated at 6 prompt tokens; the reservation adds max_tokens.)"""
    over = await call(session, "POST", f"{gateway.url}/v1/chat/completions", headers=account.bearer,
                      json={"model": "deepseek-v4", "messages": HELLO, "max_tokens": left - 6 + 1})
    assert over[0] == 429 and over[1]["error"]["code"] == "insufficient_quota", over
    fits = await call(session, "POST", f"{gateway.url}/v1/chat/completions", headers={
        **account.bearer, "x-sim-prompt-tokens": "0", "x-sim-completion-tokens": "1"},
        json={"model": "deepseek-v4", "messages": HELLO, "max_tokens": left - 6})
    assert fits[0] == 200, fits

