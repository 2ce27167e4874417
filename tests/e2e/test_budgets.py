"""Money limits through Envoy: an API key's monthly_budget_usd and the account's own monthly spend cap,
reserved before the provider call at the request's most possible cost and settled to what it is charged.

Prices: deepseek-v4 costs $0.50 / 1M input tokens (500 nano-dollars each) and $1.50 / 1M output tokens
(1 500 each). "Hello!" is estimated at 6 prompt tokens, and the simulator is told to report exactly 6, so a
request's reservation (6 × 500 + max_tokens × 1 500) is its real cost when it uses all of max_tokens.
"""
import asyncio

import sqlalchemy as sa

from schemas.tables import usage_events
from tests.e2e.chat import account_on_tier, chat
from tests.support.api import call, new_account
from tests.support.ledger import ledger_rows

MODEL = "deepseek-v4"
PROMPT_NANOS, OUTPUT_NANOS = 6 * 500, 1_500


def _tokens(completion: int) -> dict:
    return {"x-sim-prompt-tokens": "6", "x-sim-completion-tokens": str(completion)}


async def _key(client, base: str, account, **limits) -> dict:
    status, body, _ = await call(client, "POST", f"{base}/v1/keys", json={"name": "budgeted", **limits},
                                 headers=account.bearer)
    assert status == 201, body
    return body


# The Redis backend lands rows asynchronously: on a busy machine that takes longer than the default.
LANDING_SECONDS = 30.0


async def _key_spend(db, account_id: str, key_id: str, expect_rows: int) -> tuple[int, int]:
    """(rows, sum of cost_nanos) of one key in the ledger, once `expect_rows` of the account's have landed."""
    await ledger_rows(db, account_id, expect_rows, timeout=LANDING_SECONDS)
    async with db.connect() as conn:
        count, total = (await conn.execute(
            sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(usage_events.c.cost_nanos), 0))
            .where(usage_events.c.account_id == account_id, usage_events.c.key_id == key_id))).one()
    return count, int(total)


async def _served_rows(db, account_id: str, expect: int) -> None:
    """Waits until `expect` of the account's ledger rows are 200s (the Redis backend lands them late)."""
    for _ in range(int(LANDING_SECONDS / 0.2)):
        rows = await ledger_rows(db, account_id, 0)
        if sum(row.status == 200 for row in rows) >= expect:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"{expect} served requests did not land in the ledger")


async def _until_capped(client, base: str, headers: dict) -> dict:
    """Waits until the sidecars know a new cap (they learn it within a poll of the account change feed):
    a probe dearer than the whole cap is refused once they do, and costs nothing before (its provider fails)."""
    for _ in range(50):
        status, body, _ = await chat(client, base, {**headers, "x-sim-status": "500"}, model=MODEL, max_tokens=10_000)
        if status == 429:
            return body
        assert status == 502, body
        await asyncio.sleep(0.1)
    raise AssertionError("the cap did not reach the sidecars")


async def test_fifty_concurrent_requests_never_take_a_one_cent_key_past_its_budget(client, base, gateway, db):
    account = await account_on_tier(client, gateway, db, "pro")  # 100 a minute: the rate limit stays out of it
    key = await _key(client, base, account, monthly_budget_usd="0.01")
    headers = {"Authorization": f"Bearer {key['key']}", **_tokens(1_000)}
    reservation = PROMPT_NANOS + 1_000 * OUTPUT_NANOS  # $0.001503, all of it spent: 6 fit in $0.01
    results = await asyncio.gather(*(chat(client, base, headers, model=MODEL, max_tokens=1_000) for _ in range(50)))
    served = [answered["x-cost-usd"] for status, _, answered in results if status == 200]
    refused = [(status, body["error"]["code"], body["error"]["type"], "retry-after" in answered)
               for status, body, answered in results if status != 200]
    assert served == ["0.001503"] * 6
    assert set(refused) == {(429, "budget_exceeded", "insufficient_quota", False)} and len(refused) == 44
    rows, spent = await _key_spend(db, account.id, key["id"], expect_rows=6)
    assert rows == 6 and spent == 6 * reservation <= 10_000_000 + reservation  # the refused ones cost nothing


async def test_the_reservation_settles_to_the_real_cost_so_the_budget_allows_exactly_what_is_left(
        client, base, gateway, db):
    account = await new_account(client, base)
    key = await _key(client, base, account, monthly_budget_usd="0.012")
    headers = {"X-API-Key": key["key"]}
    # Each reserves 6 003 000 nano-dollars (max_tokens 4 000) but costs 18 000: two would not fit unsettled.
    for _ in range(3):
        status, body, answered = await chat(client, base, {**headers, **_tokens(10)}, model=MODEL, max_tokens=4_000)
        assert (status, answered.get("x-cost-usd")) == (200, "0.000018"), body
    left = 12_000_000 - 3 * (PROMPT_NANOS + 10 * OUTPUT_NANOS)  # 11 946 000
    fits = (left - PROMPT_NANOS) // OUTPUT_NANOS  # 7 962 completion tokens: exactly what is left
    status, body, _ = await chat(client, base, {**headers, **_tokens(fits + 1)}, model=MODEL, max_tokens=fits + 1)
    assert (status, body["error"]["code"]) == (429, "budget_exceeded")
    assert "$0.011946 of this API key's monthly budget of $0.012 remain" in body["error"]["message"]
    status, body, answered = await chat(client, base, {**headers, **_tokens(fits)}, model=MODEL, max_tokens=fits)
    assert (status, answered.get("x-cost-usd")) == (200, "0.011946"), body
    status, body, _ = await chat(client, base, {**headers, **_tokens(1)}, model=MODEL, max_tokens=1)
    assert (status, body["error"]["code"]) == (429, "budget_exceeded")
    assert body["error"]["message"].startswith("You have reached this API key's monthly budget of $0.012")
    assert await _key_spend(db, account.id, key["id"], expect_rows=4) == (4, 12_000_000)


async def test_a_failed_request_gives_its_reservation_back_and_another_key_is_not_limited(client, base, db):
    account = await new_account(client, base)
    key = await _key(client, base, account, monthly_budget_usd="0.001503")  # one reservation, exactly
    headers = {"X-API-Key": key["key"], **_tokens(1_000)}
    for answer in ({"x-sim-status": "500"}, {}):  # the provider fails, then succeeds: both fit in turn
        status, body, _ = await chat(client, base, {**headers, **answer}, model=MODEL, max_tokens=1_000)
        assert status == (502 if answer else 200), body
    status, body, _ = await chat(client, base, headers, model=MODEL, max_tokens=1_000)
    assert (status, body["error"]["code"]) == (429, "budget_exceeded")
    other = await _key(client, base, account)  # no budget of its own, and the account has no cap
    assert (await chat(client, base, {"X-API-Key": other["key"], **_tokens(1_000)}, model=MODEL,
                       max_tokens=1_000))[0] == 200


async def test_raising_a_used_up_budget_recounts_the_month_from_the_ledger(client, base, db):
    account = await new_account(client, base)
    key = await _key(client, base, account, monthly_budget_usd="0.001503")
    headers = {"X-API-Key": key["key"], **_tokens(1_000)}
    assert (await chat(client, base, headers, model=MODEL, max_tokens=1_000))[0] == 200
    await _key_spend(db, account.id, key["id"], expect_rows=1)  # landed: what the recount will find
    status, _, _ = await call(client, "PATCH", f"{base}/v1/keys/{key['id']}", headers=account.bearer,
                              json={"monthly_budget_usd": "0.003006"})  # room for exactly one more
    assert status == 200
    statuses = []
    for _ in range(50):  # the sidecars learn of the edit within a poll of the change feed
        status, body, _ = await chat(client, base, headers, model=MODEL, max_tokens=1_000)
        statuses.append(status)
        if status == 200:
            break
        await asyncio.sleep(0.1)
    status, body, _ = await chat(client, base, headers, model=MODEL, max_tokens=1_000)
    assert statuses[-1] == 200 and (status, body["error"]["code"]) == (429, "budget_exceeded")


async def test_an_accounts_own_spend_cap_is_set_by_a_session_and_refuses_every_key(client, base, db):
    account = await new_account(client, base)
    key = await _key(client, base, account)
    url = f"{base}/v1/billing/spend_cap"
    status, body, _ = await call(client, "PATCH", url, headers={"X-API-Key": key["key"]},
                                 json={"monthly_spend_cap_usd": "1"})
    assert (status, body["error"]["code"]) == (403, "insufficient_scope")  # a default key reads only
    status, body, _ = await call(client, "PATCH", url, headers=account.bearer, json={"monthly_spend_cap_usd": 1e-10})
    assert (status, body["error"]["param"]) == (400, "monthly_spend_cap_usd")
    status, body, _ = await call(client, "PATCH", url, headers=account.bearer,
                                 json={"monthly_spend_cap_usd": "0.003006"})  # two requests' worth
    assert status == 200 and body == {
        "object": "spend_cap", "period": body["period"], "tier": "free", "monthly_spend_cap_usd": "0.003006",
        "tier_monthly_spend_cap_usd": None, "effective_monthly_spend_cap_usd": "0.003006", "spent_usd": "0",
        "remaining_usd": "0.003006"}
    probe = await _until_capped(client, base, account.bearer)
    assert probe["error"]["code"] == "spend_cap_reached" and "more than your account's" in probe["error"]["message"]
    session, api_key = {**account.bearer, **_tokens(1_000)}, {"X-API-Key": key["key"], **_tokens(1_000)}
    assert [(await chat(client, base, who, model=MODEL, max_tokens=1_000))[0] for who in (session, api_key)] == [
        200, 200]
    for who in (session, api_key):
        status, body, _ = await chat(client, base, who, model=MODEL, max_tokens=1_000)
        assert (status, body["error"]["code"], body["error"]["type"]) == (429, "spend_cap_reached",
                                                                           "insufficient_quota")
        assert "your account's monthly spend cap of $0.003006" in body["error"]["message"]
    await _served_rows(db, account.id, 2)  # the probes' failed calls have rows of their own, at $0
    status, body, _ = await call(client, "GET", url, headers={"X-API-Key": key["key"]})
    assert status == 200 and (body["spent_usd"], body["remaining_usd"]) == ("0.003006", "0")
    status, body, _ = await call(client, "PATCH", url, headers=account.bearer, json={"monthly_spend_cap_usd": None})
    assert status == 200 and body["effective_monthly_spend_cap_usd"] is None
