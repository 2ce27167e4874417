"""The spend plugin: what a request reserves in money, which limits apply, how a refusal reads, and what
the reservation settles to when the request ends."""
from dataclasses import replace
from datetime import UTC, datetime
from fractions import Fraction

import pytest

from plugins.context import Reject, RequestContext
from plugins.identity_store import Account, KeyRecord
from plugins.runtime_config import RuntimeConfig
from plugins.spend import Reservation, SpendPlugin, account_cap_nanos, reservation_nanos
from plugins.spend_store import ACCOUNT, Limit, Verdict, key_field
from schemas.identity import Identity
from tests.support.stack import ROOT

NOW = datetime(2026, 5, 20, tzinfo=UTC)
HELLO = {"model": "deepseek-v4", "messages": [{"role": "user", "content": "Hello!"}], "max_tokens": 100}
HELLO_NANOS = 6 * 500 + 100 * 1_500  # "Hello!" is 6 tokens (4 + 2) at $0.50/M, 100 of completion at $1.50/M


class _Store:
    """Records the calls; admits what fits its `counter` (a stand-in for plugins.spend_store's)."""

    def __init__(self, counter: int = 0):
        self.counter, self.reserved, self.settled = counter, [], []

    async def reserve(self, account_id, month, amount, limits):
        self.reserved.append((account_id, month, amount, limits))
        refused = next((limit for limit in limits if self.counter + amount > limit.nanos), None)
        return Verdict(refused is None, "g1", refused, self.counter)

    async def settle(self, account_id, month, gen, fields, delta):
        self.settled.append((month, gen, fields, delta))


@pytest.fixture(scope="module")
def runtime():
    return RuntimeConfig(ROOT / "gateway.yaml", env={}).current


def _ctx(runtime, request: dict | None = HELLO, budget: int | None = 10_000_000, own_cap: int | None = None,
         tier: str = "pro", tier_cap: str | None = None) -> RequestContext:
    if tier_cap is not None:
        tiers = {**runtime.config.tiers, tier: {**runtime.config.tiers[tier], "monthly_spend_cap_usd": tier_cap}}
        config = type(runtime.config)({**runtime.config.raw, "tiers": tiers})
        runtime = replace(runtime, config=config)
    ctx = RequestContext("POST", "/v1/chat/completions", {}, request_id="req-1", runtime=runtime)
    ctx.identity = Identity("acct_1", tier, "api_key", "key_1")
    ctx.account = Account("acct_1", tier, 0, own_cap)
    ctx.key = KeyRecord("key_1", "acct_1", "default", monthly_budget_nanos=budget)
    if request is not None:
        ctx.state.update(model=runtime.models[request["model"]], request=request)
    return ctx


def test_a_chat_request_reserves_its_prompt_estimate_and_completion_cap_at_the_models_prices(runtime):
    assert reservation_nanos(_ctx(runtime)) == HELLO_NANOS


def test_without_max_tokens_the_model_cap_or_the_default_completion_is_reserved(runtime):
    request = {k: v for k, v in HELLO.items() if k != "max_tokens"}
    assert reservation_nanos(_ctx(runtime, request)) == 6 * 500 + 4_096 * 1_500


def test_a_router_reserves_at_its_dearest_candidate(runtime):
    ctx = _ctx(runtime)
    ctx.state.router = "clew/free"
    candidates = [runtime.models[m] for m in runtime.config.routers["clew/free"]["candidates"]]
    dearest = max(c.price.cost_nanos(6, 100) for c in candidates)
    assert reservation_nanos(ctx) == dearest and dearest >= candidates[0].price.cost_nanos(6, 100)


def test_images_videos_and_embeddings_reserve_their_own_prices(runtime):
    images = _ctx(runtime, {"model": "dall-e-3"})
    images.state.units = 1
    assert reservation_nanos(images) == 40_000_000  # $0.040 an image
    video = _ctx(runtime, {"model": "minimax-hailuo-2.3"})
    video.state.update(units=1)
    assert reservation_nanos(video) == 280_000_000
    embeddings = _ctx(runtime, {"model": "text-embedding-3-small"})
    embeddings.state.reserve_tokens = 1_000
    assert reservation_nanos(embeddings) == runtime.models["text-embedding-3-small"].price.cost_nanos(1_000, 0)


def test_a_byok_request_reserves_the_platform_fee_only_and_a_videos_status_nothing(runtime):
    ctx = _ctx(runtime)
    ctx.state.update(key_source="byok", platform_fee=Fraction(1, 40))
    assert reservation_nanos(ctx) == HELLO_NANOS // 40
    status = _ctx(runtime, {"model": "minimax-hailuo-2.3"})
    status.state.request = None
    assert reservation_nanos(status) is None


def test_the_accounts_cap_is_the_lower_of_its_tiers_and_its_own(runtime):
    assert account_cap_nanos(_ctx(runtime)) is None  # the shipped tiers have none
    assert account_cap_nanos(_ctx(runtime, tier_cap="5")) == 5_000_000_000
    assert account_cap_nanos(_ctx(runtime, own_cap=2_000_000_000, tier_cap="5")) == 2_000_000_000
    assert account_cap_nanos(_ctx(runtime, own_cap=2_000_000_000)) == 2_000_000_000


async def test_a_request_under_no_limit_touches_no_counter(runtime):
    store = _Store()
    ctx = _ctx(runtime, budget=None)
    await SpendPlugin(store, lambda: NOW).on_request_body(ctx, b"")
    await SpendPlugin(store, lambda: NOW).on_complete(ctx)
    assert store.reserved == store.settled == [] and ctx.state.spend_reservation is None


async def test_the_key_budget_and_the_account_cap_are_reserved_together(runtime):
    store = _Store()
    ctx = _ctx(runtime, own_cap=3_000_000_000)
    await SpendPlugin(store, lambda: NOW).on_request_body(ctx, b"")
    limits = [Limit(key_field("key_1"), 10_000_000), Limit(ACCOUNT, 3_000_000_000)]
    assert store.reserved == [("acct_1", "2026-05", HELLO_NANOS, limits)]
    assert ctx.state.spend_reservation == Reservation("2026-05", "g1", (key_field("key_1"), ACCOUNT), HELLO_NANOS)


async def test_over_the_key_budget_is_429_budget_exceeded_of_type_insufficient_quota(runtime):
    ctx = _ctx(runtime, budget=HELLO_NANOS + 999)
    with pytest.raises(Reject) as refused:
        await SpendPlugin(_Store(counter=1_000), lambda: NOW).on_request_body(ctx, b"")
    error = refused.value
    assert (error.status, error.code, error.type) == (429, "budget_exceeded", "insufficient_quota")
    assert error.message.startswith("This request may cost up to $0.000153 (its prompt")
    assert "$0.000152999 of this API key's monthly budget of $0.000153999 remain" in error.message


async def test_a_used_up_budget_and_a_request_dearer_than_the_whole_budget_say_so(runtime):
    with pytest.raises(Reject) as used_up:
        await SpendPlugin(_Store(counter=10_000_000), lambda: NOW).on_request_body(_ctx(runtime), b"")
    assert used_up.value.message.startswith("You have reached this API key's monthly budget of $0.01")
    store = _Store()
    with pytest.raises(Reject) as too_dear:
        await SpendPlugin(store, lambda: NOW).on_request_body(_ctx(runtime, budget=HELLO_NANOS - 1), b"")
    assert "more than this API key's monthly budget" in too_dear.value.message and store.reserved == []


async def test_over_the_account_cap_is_429_spend_cap_reached_naming_whose_cap(runtime):
    for own_cap, tier_cap, whose in ((1_000_000, None, "your account's monthly spend cap of $0.001"),
                                     (None, "0.001", "the pro tier's monthly spend cap of $0.001")):
        with pytest.raises(Reject) as refused:
            await SpendPlugin(_Store(counter=1_000_000), lambda: NOW).on_request_body(
                _ctx(runtime, budget=None, own_cap=own_cap, tier_cap=tier_cap), b"")
        assert (refused.value.code, refused.value.type) == ("spend_cap_reached", "insufficient_quota")
        assert whose in refused.value.message


async def test_the_reservation_settles_to_what_the_ledger_charges(runtime):
    store, ctx = _Store(), _ctx(runtime)
    plugin = SpendPlugin(store, lambda: NOW)
    await plugin.on_request_body(ctx, b"")
    ctx.state.update(via_upstream=True, status=200, usage={"prompt_tokens": 6, "completion_tokens": 40})
    await plugin.on_complete(ctx)
    assert store.settled == [("2026-05", "g1", [key_field("key_1")], 6 * 500 + 40 * 1_500 - HELLO_NANOS)]


async def test_a_request_that_never_went_upstream_gives_its_whole_reservation_back(runtime):
    store, ctx = _Store(), _ctx(runtime)
    plugin = SpendPlugin(store, lambda: NOW)
    await plugin.on_request_body(ctx, b"")
    await plugin.on_complete(ctx)  # refused by a later plugin, or Envoy's own reply
    assert store.settled == [("2026-05", "g1", [key_field("key_1")], -HELLO_NANOS)]


async def test_a_video_keeps_its_price_until_billed_and_a_failed_one_gives_it_back(runtime):
    store = _Store()
    plugin = SpendPlugin(store, lambda: NOW)
    create = _ctx(runtime, {"model": "minimax-hailuo-2.3"}, budget=1_000_000_000)
    create.state.update(units=1, meter=False)
    await plugin.on_request_body(create, b"")
    create.state.update(via_upstream=True, status=200, units_served=1, cost_nanos=0)
    await plugin.on_complete(create)
    assert store.settled[-1][3] == 0  # held
    failed = _ctx(runtime, {"model": "minimax-hailuo-2.3"})
    failed.state.update(request=None, quota_refund=(datetime(2026, 4, 30, tzinfo=UTC).timestamp(), 20_000))
    await plugin.on_complete(failed)
    assert store.settled[-1] == ("2026-04", "", [ACCOUNT, key_field("key_1")], -280_000_000)
