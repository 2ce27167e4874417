"""No header a client sends can pick Envoy's route: every `x-clew-*` name the gateway uses, with every
kind of value (providers, routers with their candidate masks, the real route and sidecar tokens,
garbage, empty, very long), changes nothing on AI, management, public and unknown paths, and reaches
no provider unless the request was a legitimate, metered one.

Each case is first sent without forged headers: that answer is what every forged variant must get.
"""
import asyncio
import re

import pytest
import sqlalchemy as sa
import yaml

from schemas import internal_api
from schemas.tables import usage_events
from tests.e2e.chat import HELLO, account_on_tier, ledger_entry
from tests.support.api import call, create_key
from tests.support.stack import ROOT

LONG = "x" * 2000  # every name carries it at once: ~50 KB of headers, under Envoy's 60 KB limit


def _internal_header_names() -> list[str]:
    """Every x-clew-* name in the renderer's, the sidecar's and the control plane's code."""
    pattern = re.compile(r"x-clew-[a-z0-9-]*[a-z0-9]", re.IGNORECASE)
    return sorted({name.lower() for folder in ("control_plane", "plugins", "schemas")
                   for path in (ROOT / folder).rglob("*.py") for name in pattern.findall(path.read_text())})


NAMES = _internal_header_names()


def _routing_values() -> list[str]:
    """Every value a provider or router route answers: provider names and `<router>#<mask>`."""
    config = yaml.safe_load((ROOT / "gateway.yaml").read_text())
    routers = [f"{name}#{mask}" for name, spec in config["routers"].items()
               for mask in range(1, 2 ** len(spec["candidates"]))]
    return [*config["providers"], *routers]


def forged_header_sets(secret: bytes) -> list[dict[str, str]]:
    route_token, sidecar_token = internal_api.route_token(secret), internal_api.sidecar_token(secret)
    # A routing value in every name, with the real route token beside it: what the sidecar itself sends.
    routed = [{**dict.fromkeys(NAMES, value), internal_api.ROUTE_TOKEN_HEADER: route_token}
              for value in _routing_values()]
    plain = [dict.fromkeys(NAMES, value) for value in
             ("", "upstream", "garbage \"'<>;,%00 /../", LONG, route_token, sidecar_token)]
    shouting = {"X-Clew-Provider": "openai", "X-CLEW-ROUTE": route_token, "X-Clew-Phase": "upstream"}
    return [*routed, *plain, shouting]


async def _sim_calls(client, gateway) -> int:
    status, body, _ = await call(client, "GET", f"{gateway.simulator_url}/_sim/health")
    assert status == 200
    return body["ledger_entries"]


def _outcome(status: int, body: dict) -> tuple:
    """What must not change: the status, and the error code or the whole body."""
    return (status, body["error"].get("code")) if "error" in body else (status, body)


@pytest.fixture
async def credentials(client, gateway, db):
    """A session and an API key of an enterprise account: no rate limit or quota in the way."""
    account = await account_on_tier(client, gateway, db, "enterprise")
    key = await create_key(client, gateway.url, account)
    return account, {"X-API-Key": key["key"]}


def test_every_internal_header_name_is_among_those_tested():
    assert {internal_api.PROVIDER_HEADER, internal_api.ROUTE_TOKEN_HEADER, internal_api.PHASE_METADATA,
            internal_api.SIDECAR_TOKEN_METADATA, "x-clew-account", "x-clew-served-by", "x-clew-key-source",
            "x-clew-model", "x-clew-account-id", "x-clew-identity-signature"} <= set(NAMES)


# (method, path, credentials: None | "session" | "key", JSON body)
NOT_METERED = {
    "public models list": ("GET", "/v1/models", None, None),
    "public unknown path": ("GET", "/v1/nope", None, None),
    "unknown path with a key": ("POST", "/v1/anything", "key", {"model": "deepseek-v4", "messages": HELLO}),
    "root path": ("GET", "/", None, None),
    "management without credentials": ("GET", "/v1/keys", None, None),
    "management profile with a session": ("GET", "/v1/auth/me", "session", None),
    "management usage with a key": ("GET", "/v1/usage", "key", None),
    "chat without credentials": ("POST", "/v1/chat/completions", None, {"model": "deepseek-v4", "messages": HELLO}),
    "chat for an unknown model": ("POST", "/v1/chat/completions", "key", {"model": "no-such", "messages": HELLO}),
    "images without credentials": ("POST", "/v1/images/generations", None, {"model": "dall-e-3", "prompt": "a cat"}),
}


@pytest.mark.parametrize("case", NOT_METERED)
async def test_forged_internal_headers_change_no_answer_and_reach_no_provider(client, gateway, credentials, case):
    method, path, credential, body = NOT_METERED[case]
    account, key = credentials
    headers = {None: {}, "session": account.bearer, "key": key}[credential]
    status, baseline, _ = await call(client, method, f"{gateway.url}{path}", headers=headers, json=body)
    assert status < 500, baseline
    before = await _sim_calls(client, gateway)
    for forged in forged_header_sets(gateway.secrets["CLEW_INTERNAL_SECRET"].encode()):
        answer = await call(client, method, f"{gateway.url}{path}", headers={**forged, **headers}, json=body)
        assert _outcome(*answer[:2]) == _outcome(status, baseline), (case, sorted(forged.values())[0][:40], answer)
    assert await _sim_calls(client, gateway) == before


async def test_chat_with_forged_internal_headers_is_served_by_the_model_asked_for_and_metered(
        client, gateway, db, credentials):
    account, key = credentials
    forged_sets = forged_header_sets(gateway.secrets["CLEW_INTERNAL_SECRET"].encode())
    for forged in forged_sets:
        status, body, headers = await call(client, "POST", f"{gateway.url}/v1/chat/completions",
                                           headers={**forged, **key}, json={"model": "deepseek-v4", "messages": HELLO})
        assert status == 200 and "x-cost-usd" in headers, body
        served = await ledger_entry(client, gateway, body["id"])  # exactly one provider call, by this request
        assert (served["provider"], served["model"]) == ("deepseek", "deepseek-v4")
    assert await _ledger_count(db, account.id, len(forged_sets)) == len(forged_sets)


async def _ledger_count(db, account_id: str, expect: int, timeout: float = 10.0) -> int:
    """The account's ledger rows for deepseek-v4, once the usage queue has landed `expect` (or time is up)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    query = sa.select(sa.func.count()).where(usage_events.c.account_id == account_id,
                                            usage_events.c.model == "deepseek-v4")
    while True:
        async with db.connect() as conn:
            count = (await conn.execute(query)).scalar()
        if count >= expect or loop.time() > deadline:
            return count
        await asyncio.sleep(0.1)
