"""BYOK in the sidecar: the platform fee priced exactly, and stored keys cached until the change feed."""
import json
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from control_plane import clock
from control_plane.provider_keys import store
from plugins.byok import ByokPlugin, ProviderKeys, fee_fraction
from plugins.context import Reject, RequestContext, RequestState
from plugins.identity_store import IdentityStore
from plugins.metering import MeteringPlugin, byok_cost_nanos, charged_nanos
from plugins.runtime_config import ModelRoute
from schemas import gateway
from schemas.database import create_engine
from schemas.gateway import GatewayConfig
from schemas.identity import Identity
from schemas.pricing import TokenPrice
from schemas.sealed_keys import KeySealer, SealBroken
from schemas.tables import accounts

DEEPSEEK = ModelRoute("deepseek-v4", "deepseek", "deepseek-v4", 1_000_000, TokenPrice.per_million("0.50", "1.50"))
GPT = ModelRoute("gpt-5.5", "openai", "gpt-5.5", 1_000_000, TokenPrice.per_million("10.00", "40.00"))
USAGE = {"prompt_tokens": 123457, "completion_tokens": 98765}  # $5.18517 at the pool price


@pytest.mark.parametrize("percent,fee", [("0", Fraction(0)), ("2.5", Fraction(1, 40)), ("100", Fraction(1)),
                                         ("0.125", Fraction(1, 800))])
def test_fee_percentage_is_an_exact_fraction(percent, fee):
    assert fee_fraction(percent) == fee


@pytest.mark.parametrize("pool,fee,charged", [(5_185_170_000, "2.5", 129_629_250), (41, "2.5", 1), (39, "2.5", 0),
                                              (1_000_000_007, "100", 1_000_000_007), (999, "0", 0)])
def test_byok_cost_is_the_fee_share_rounded_down_to_a_nano_dollar(pool, fee, charged):
    assert byok_cost_nanos(pool, fee_fraction(fee)) == charged


def test_pool_requests_pay_the_pool_price_whatever_the_fee():
    assert charged_nanos(RequestState(key_source="pool", platform_fee=Fraction(1, 40)), 1000) == 1000


def _byok_context(percent: str) -> RequestContext:
    ctx = RequestContext("POST", "/v1/chat/completions", {}, identity=Identity("acct_1", "pro", "session"))
    ctx.state.update(model=GPT, key_source="byok", platform_fee=fee_fraction(percent), via_upstream=True,
                     status=200, usage=USAGE)
    return ctx


def test_cost_header_of_a_byok_request_is_the_platform_fee():
    ctx = _byok_context("2.5")
    MeteringPlugin(sink=None)._price_json(ctx, json.dumps({"usage": USAGE}).encode())
    assert ctx.mutation.set_headers["x-cost-usd"] == "0.12962925"  # 2.5 % of $5.18517


class _Sink:
    def __init__(self):
        self.events = []

    async def publish(self, event) -> None:
        self.events.append(event)


async def test_ledger_event_of_a_byok_request_carries_its_source_and_fee():
    sink = _Sink()
    await MeteringPlugin(sink).on_complete(_byok_context("2.5"))
    [event] = sink.events
    assert (event.key_source, event.cost_nanos, event.prompt_tokens) == ("byok", 129_629_250, 123457)


# --- the plugin -------------------------------------------------------------------------------------

class _Keys:
    """ProviderKeys without a database: acct_1 has its own openai key."""

    async def key(self, account_id: str, provider: str) -> str | None:
        return "sk-own-openai" if (account_id, provider) == ("acct_1", "openai") else None


def _runtime(percent: str) -> SimpleNamespace:
    return SimpleNamespace(config=GatewayConfig({"byok": {"platform_fee_percent": percent}}))


def _routed_context(model: ModelRoute, percent: str = "2.5", **state) -> RequestContext:
    """A chat request as the router left it: pool key set, key source pool."""
    ctx = RequestContext("POST", "/v1/chat/completions", {}, identity=Identity("acct_1", "pro", "session"),
                         runtime=_runtime(percent))
    ctx.state.update(model=model, key_source="pool", **state)
    ctx.mutation.set_headers["authorization"] = "Bearer pool-key"
    return ctx


async def test_plugin_sends_the_own_key_and_marks_the_request_with_the_configured_fee():
    ctx = _routed_context(GPT)
    await ByokPlugin(_Keys()).on_request_body(ctx, b"")
    assert ctx.mutation.set_headers["authorization"] == "Bearer sk-own-openai"
    assert (ctx.state.key_source, ctx.state.platform_fee) == ("byok", Fraction(1, 40))


@pytest.mark.parametrize("model,state", [(DEEPSEEK, {}), (GPT, {"routed": True})])
async def test_plugin_leaves_the_pool_key_without_an_own_key_or_for_a_router(model, state):
    ctx = _routed_context(model, **state)
    await ByokPlugin(_Keys()).on_request_body(ctx, b"")
    assert ctx.mutation.set_headers["authorization"] == "Bearer pool-key" and ctx.state.key_source == "pool"


async def test_a_key_that_does_not_open_is_refused_not_replaced_by_the_pool_key():
    class Broken:
        async def key(self, account_id, provider):
            raise SealBroken("no")

    with pytest.raises(Reject) as raised:
        await ByokPlugin(Broken()).on_request_body(_routed_context(GPT, "0"), b"")
    assert raised.value.code == "byok_key_unreadable"


def test_shipped_config_charges_no_platform_fee():
    assert gateway.load(Path(__file__).resolve().parents[2] / "gateway.yaml").byok == {"platform_fee_percent": "0"}


# --- the cache of stored keys, on a real database -------------------------------------------------

SEALER = KeySealer(b"k" * 32)


@pytest.fixture
async def engine(migrated_settings):
    engine = create_engine(migrated_settings.database_url, migrated_settings.database_schema)
    async with engine.begin() as conn:
        await conn.execute(sa.insert(accounts).values(id="acct_1", email="a@example.com", password_hash="x",
                                                      created_at=clock.now()))
    yield engine
    await engine.dispose()


async def _put(engine, provider: str, key: str) -> None:
    async with engine.begin() as conn:
        await store.put_key(conn, SEALER, "acct_1", provider, key)


async def test_stored_key_is_opened_for_its_provider_only(engine):
    await _put(engine, "openai", "sk-own-openai-key-1")
    keys = ProviderKeys(engine, SEALER, ttl=300)
    assert await keys.key("acct_1", "openai") == "sk-own-openai-key-1"
    assert await keys.key("acct_1", "groq") is None


async def test_cached_keys_change_only_when_the_change_feed_names_the_account(engine):
    identities = IdentityStore(engine, ttl=300)
    await identities.start_following()
    keys = ProviderKeys(engine, SEALER, ttl=300)
    identities.also_evict(keys.evict)
    assert await keys.key("acct_1", "openai") is None
    await _put(engine, "openai", "sk-own-openai-key-2")  # records an account change
    assert await keys.key("acct_1", "openai") is None  # still the cached answer
    await identities.apply_changes()
    assert await keys.key("acct_1", "openai") == "sk-own-openai-key-2"


async def test_a_load_overtaken_by_an_eviction_is_not_cached(engine):
    keys = ProviderKeys(engine, SEALER, ttl=300)
    load = keys._load

    async def load_then_evicted(account_id):
        found = await load(account_id)
        keys.evict(account_id)  # the change lands while the read is in flight
        return found

    keys._load = load_then_evicted
    await keys.key("acct_1", "openai")
    await _put(engine, "openai", "sk-own-openai-key-3")
    keys._load = load
    assert await keys.key("acct_1", "openai") == "sk-own-openai-key-3"
