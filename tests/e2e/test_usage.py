"""GET /v1/usage and GET /v1/usage/daily through Envoy, against what the ledger holds."""
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from schemas.pricing import format_usd
from tests.e2e.chat import account_on_tier, chat, stream_events
from tests.e2e.reports import landed, ledger_sums, month_start
from tests.support.api import call, new_account
from tests.support.ledger import insert_usage

WORKLOAD = [  # (model, prompt tokens, completion tokens, streamed)
    ("deepseek-v4", 1000, 500, False), ("deepseek-v4", 1000, 500, False),
    ("mistral/large", 300, 200, True), ("deepseek-v4-pro", 100, 50, False)]


async def _run_workload(client, gateway, db, account) -> None:
    """Real completions through Envoy, with exact token counts from the simulator."""
    for model, prompt, completion, streamed in WORKLOAD:
        headers = {**account.bearer, "x-sim-prompt-tokens": str(prompt), "x-sim-completion-tokens": str(completion)}
        if streamed:
            status, _, _ = await stream_events(client, gateway.url, headers, model=model)
        else:
            status, _, _ = await chat(client, gateway.url, headers, model=model)
        assert status == 200
    await landed(db, account.id, len(WORKLOAD))


def _view(sums: dict) -> dict:
    return {**{k: v for k, v in sums.items() if k != "cost_nanos"}, "cost_usd": format_usd(sums["cost_nanos"])}


async def _get(client, base: str, account, path: str, **params) -> dict:
    status, body, _ = await call(client, "GET", f"{base}{path}", headers=account.bearer, params=params)
    assert status == 200, body
    return body


@pytest.mark.parametrize("path", ["/v1/usage", "/v1/usage/daily", "/v1/usage/daily?days=7"])
async def test_usage_without_credentials_is_401(client, base, path):
    status, body, _ = await call(client, "GET", f"{base}{path}")
    assert status == 401 and "error" in body


async def test_a_new_account_has_no_usage_and_its_whole_quota(client, base):
    account = await new_account(client, base)
    usage = await _get(client, base, account, "/v1/usage")
    assert (usage["requests"], usage["total_tokens"], usage["cost_usd"], usage["by_provider"], usage["by_model"]) == \
        (0, 0, "0", [], [])
    assert usage["quota"] == {"monthly_tokens": 100000, "used_tokens": 0, "remaining_tokens": 100000}
    assert usage["tier"] == "free" and usage["period"] == datetime.now(UTC).strftime("%Y-%m")


async def test_usage_totals_and_breakdowns_agree_with_the_ledger(client, gateway, db):
    account = await new_account(client, gateway.url)
    await _run_workload(client, gateway, db, account)
    usage = await _get(client, gateway.url, account, "/v1/usage")
    sums = _view(await ledger_sums(db, account.id))
    assert {k: usage[k] for k in sums} == sums
    assert (usage["requests"], usage["prompt_tokens"], usage["completion_tokens"], usage["cost_usd"]) == \
        (4, 2400, 1250, "0.00465")  # 2 × 1.25 m$ + 1.8 m$ + 0.35 m$, from the published prices
    assert usage["by_provider"] == [{"provider": p, **_view(await ledger_sums(db, account.id, provider=p))}
                                    for p in ("deepseek", "mistral")]
    assert usage["by_model"] == [{"model": m, **_view(await ledger_sums(db, account.id, model=m))}
                                 for m in ("deepseek-v4", "deepseek-v4-pro", "mistral/large")]


async def test_profile_usage_agrees_with_the_usage_report(client, gateway, db):
    account = await new_account(client, gateway.url)
    await _run_workload(client, gateway, db, account)
    me = (await _get(client, gateway.url, account, "/v1/auth/me"))["usage"]
    usage = await _get(client, gateway.url, account, "/v1/usage")
    assert me == {k: usage[k] for k in ("period", "requests", "prompt_tokens", "completion_tokens", "total_tokens",
                                        "cost_usd")}
    assert me["total_tokens"] == 3650


async def test_quota_remaining_is_the_tier_quota_less_this_months_tokens(client, gateway, db):
    account = await new_account(client, gateway.url)
    now = datetime.now(UTC)
    await insert_usage(db, account.id, 1000, 234, created_at=now)
    await insert_usage(db, account.id, 50_000, created_at=month_start(now) - timedelta(microseconds=1))  # last month
    quota = (await _get(client, gateway.url, account, "/v1/usage"))["quota"]
    assert quota == {"monthly_tokens": 100000, "used_tokens": 1234, "remaining_tokens": 98766}


async def test_a_pro_accounts_quota_is_pros(client, gateway, db):
    account = await account_on_tier(client, gateway, db, "pro")
    usage = await _get(client, gateway.url, account, "/v1/usage")
    assert usage["tier"] == "pro" and usage["quota"]["monthly_tokens"] == 5_000_000


async def test_enterprise_quota_is_unlimited(client, gateway, db):
    account = await account_on_tier(client, gateway, db, "enterprise")
    await insert_usage(db, account.id, 10, 10)
    quota = (await _get(client, gateway.url, account, "/v1/usage"))["quota"]
    assert quota == {"monthly_tokens": None, "used_tokens": 20, "remaining_tokens": None}


async def test_quota_used_counts_pool_tokens_only(client, gateway, db):
    account = await new_account(client, gateway.url)
    await insert_usage(db, account.id, 10)
    await insert_usage(db, account.id, 1000, key_source="byok")
    usage = await _get(client, gateway.url, account, "/v1/usage")
    assert (usage["total_tokens"], usage["quota"]["used_tokens"]) == (1010, 10)
    assert usage["quota"]["remaining_tokens"] == usage["quota"]["monthly_tokens"] - 10


async def test_usage_counts_this_month_only(client, gateway, db):
    account = await new_account(client, gateway.url)
    start = month_start(datetime.now(UTC))
    await insert_usage(db, account.id, 7, cost_nanos=7, created_at=start)  # the month's first instant
    await insert_usage(db, account.id, 1000, cost_nanos=1000, created_at=start - timedelta(microseconds=1))
    usage = await _get(client, gateway.url, account, "/v1/usage")
    assert (usage["requests"], usage["total_tokens"], usage["cost_usd"]) == (1, 7, "0.000000007")
    assert usage["period_start"] == start.isoformat().replace("+00:00", "Z")


async def test_daily_today_agrees_with_the_ledger(client, gateway, db):
    account = await new_account(client, gateway.url)
    await _run_workload(client, gateway, db, account)
    daily = await _get(client, gateway.url, account, "/v1/usage/daily", days="3")
    today = datetime.now(UTC).date().isoformat()
    assert [d["date"] for d in daily["data"]][-1] == today
    by_model = [{"model": m, **_view(await ledger_sums(db, account.id, model=m))}
                for m in ("deepseek-v4", "deepseek-v4-pro", "mistral/large")]
    assert daily["data"][-1] == {"date": today, **_view(await ledger_sums(db, account.id)), "by_model": by_model}


async def test_daily_splits_each_day_by_model(client, gateway, db):
    account = await new_account(client, gateway.url)
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    await insert_usage(db, account.id, 10, cost_nanos=100, created_at=today, model="deepseek-v4")
    await insert_usage(db, account.id, 20, cost_nanos=200, created_at=today, model="gpt-5.5", provider="openai")
    await insert_usage(db, account.id, 30, cost_nanos=300, created_at=today, model="deepseek-v4")
    await insert_usage(db, account.id, 40, cost_nanos=400, created_at=today - timedelta(days=1), model="gpt-5.5",
                       provider="openai")
    yesterday, today_entry = (await _get(client, gateway.url, account, "/v1/usage/daily", days="2"))["data"]
    assert [(m["model"], m["requests"], m["total_tokens"], m["cost_usd"]) for m in today_entry["by_model"]] == [
        ("deepseek-v4", 2, 40, "0.0000004"), ("gpt-5.5", 1, 20, "0.0000002")]
    assert [m["model"] for m in yesterday["by_model"]] == ["gpt-5.5"]
    assert (today_entry["requests"], today_entry["total_tokens"]) == (3, 60)  # the day is the sum of its models


async def test_daily_days_without_usage_have_no_models(client, base):
    account = await new_account(client, base)
    daily = (await _get(client, base, account, "/v1/usage/daily", days="3"))["data"]
    assert [d["by_model"] for d in daily] == [[], [], []]


async def test_daily_is_one_entry_per_utc_day_oldest_first_zero_filled(client, gateway, db):
    account = await new_account(client, gateway.url)
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    await insert_usage(db, account.id, 10, 5, cost_nanos=100, created_at=today + timedelta(seconds=1))
    await insert_usage(db, account.id, 20, cost_nanos=200, created_at=today - timedelta(days=2))  # midnight exactly
    await insert_usage(db, account.id, 30, cost_nanos=300, created_at=today - timedelta(microseconds=1))  # yesterday
    await insert_usage(db, account.id, 99, cost_nanos=999, created_at=today - timedelta(days=5))  # before the window
    daily = (await _get(client, gateway.url, account, "/v1/usage/daily", days="5"))["data"]
    assert [d["date"] for d in daily] == [(today - timedelta(days=back)).date().isoformat()
                                          for back in range(4, -1, -1)]
    assert [(d["requests"], d["total_tokens"], d["cost_usd"]) for d in daily] == [
        (0, 0, "0"), (0, 0, "0"), (1, 20, "0.0000002"), (1, 30, "0.0000003"), (1, 15, "0.0000001")]


async def test_daily_defaults_to_30_days(client, base):
    account = await new_account(client, base)
    daily = await _get(client, base, account, "/v1/usage/daily")
    assert daily["days"] == 30 and len(daily["data"]) == 30


@pytest.mark.parametrize("days", ["1", "365"])
async def test_daily_accepts_1_to_365_days(client, base, days):
    account = await new_account(client, base)
    assert len((await _get(client, base, account, "/v1/usage/daily", days=days))["data"]) == int(days)


@pytest.mark.parametrize("days", ["0", "366", "-1", "abc", "1.5", "", "9" * 50, "١٢"])
async def test_daily_with_bad_days_is_400(client, base, days):
    account = await new_account(client, base)
    status, body, _ = await call(client, "GET", f"{base}/v1/usage/daily", params={"days": days},
                                 headers=account.bearer)
    assert status == 400 and body["error"]["param"] == "days" and body["error"]["code"] == "invalid_value"


async def test_another_accounts_usage_never_shows(client, gateway, db):
    owner, other = await new_account(client, gateway.url), await new_account(client, gateway.url)
    await insert_usage(db, owner.id, 500, 500, cost_nanos=123_456)
    usage = await _get(client, gateway.url, other, "/v1/usage")
    daily = await _get(client, gateway.url, other, "/v1/usage/daily", days="2")
    assert (usage["requests"], usage["cost_usd"], usage["by_model"]) == (0, "0", [])
    assert all(d["requests"] == 0 for d in daily["data"])
    assert (await _get(client, gateway.url, owner, "/v1/usage"))["cost_usd"] == str(Decimal("0.000123456"))
