"""A mixed workload through Envoy: the ledger matches what the provider billed, request by request,
and the usage reports and the invoice add up to the ledger."""
import sqlalchemy as sa

from schemas.pricing import format_usd
from schemas.tables import usage_events
from tests.e2e.chat import account_on_tier, chat, prices, simulator_ledger, stream_events
from tests.e2e.reports import landed, ledger_sums
from tests.support.api import call

MODELS = ["deepseek-v4-pro", "gpt-5.5", "groq/llama4", "mistral/large"]


async def _workload(client, gateway, account) -> list[int]:
    """Each request reports a completion token count of its own: i. The i of those that succeeded."""
    succeeded = []
    for i in range(1, 25):
        headers = {**account.bearer, "x-sim-prompt-tokens": str(1000 + i), "x-sim-completion-tokens": str(i)}
        model = MODELS[i % len(MODELS)]
        if i % 6 == 0:
            headers["x-sim-status"] = "429" if i % 12 else "503"
        if i % 7 == 0:
            headers["x-sim-disconnect-after"] = "1"
        if i % 2:
            status, _, _ = await chat(client, gateway.url, headers, model=model)
        else:
            asks = {"stream_options": {"include_usage": True}} if i % 4 else {}
            status, events, _ = await stream_events(client, gateway.url, headers, model=model, **asks)
            status = status if b"data: [DONE]" in events else 502
        if status == 200:
            succeeded.append(i)
    return succeeded


async def test_ledger_equals_the_providers_ledger_and_the_reports_add_up(client, gateway, db):
    account = await account_on_tier(client, gateway, db, "pro")
    before = len(await simulator_ledger(client, gateway))
    succeeded = await _workload(client, gateway, account)
    served = [e for e in (await simulator_ledger(client, gateway))[before:]
              if e["status"] == 200 and not e["disconnected"]]
    await landed(db, account.id, 24)  # every request reached a provider, failed ones included
    async with db.connect() as conn:
        rows = (await conn.execute(sa.select(usage_events).where(usage_events.c.account_id == account.id,
                                                                 usage_events.c.status == 200))).all()
    price = prices(gateway)
    ours = sorted((r.completion_tokens, r.prompt_tokens, r.model, r.cost_nanos) for r in rows)
    billed = sorted((e["completion_tokens"], e["prompt_tokens"]) for e in served)
    assert [o[0] for o in ours] == sorted(succeeded) == [b[0] for b in billed]
    assert [(o[0], o[1]) for o in ours] == billed
    for completion, prompt, model, cost_nanos in ours:  # to the nano-dollar, from gateway.yaml's prices
        p_in, p_out = price[model]
        assert cost_nanos == int((prompt * p_in + completion * p_out) * 1000)

    sums = await ledger_sums(db, account.id)
    _, usage, _ = await call(client, "GET", f"{gateway.url}/v1/usage", headers=account.bearer)
    _, daily, _ = await call(client, "GET", f"{gateway.url}/v1/usage/daily?days=1", headers=account.bearer)
    _, invoices, _ = await call(client, "GET", f"{gateway.url}/v1/billing/invoices", headers=account.bearer)
    totals = {k: sums[k] for k in ("requests", "prompt_tokens", "completion_tokens", "total_tokens")}
    assert {k: usage[k] for k in totals} == totals and usage["cost_usd"] == format_usd(sums["cost_nanos"])
    assert {k: daily["data"][-1][k] for k in totals} == totals
    draft = invoices["data"][0]
    assert draft["status"] == "draft" and draft["usage"]["cost_usd"] == format_usd(sums["cost_nanos"])
