"""The Activity page: the account's requests (GET /v1/requests), filtered, and "Load more" for the next page.

The requests are real completions through Envoy, by an API key and by the session."""
import asyncio

from tests.e2e.chat import account_on_tier, chat
from tests.support.api import call, create_key
from tests.support.ledger import ledger_rows

BY_KEY = 51  # one more than a page


async def _requests(client, gateway, account, key: dict) -> None:
    gate = asyncio.Semaphore(8)

    async def one(headers: dict, model: str, status: int) -> None:
        async with gate:
            assert (await chat(client, gateway.url, headers, model=model))[0] == status

    by_key = {"X-API-Key": key["key"]}
    await asyncio.gather(*(one(by_key, "deepseek-v4", 200) for _ in range(BY_KEY)))
    await one(account.bearer, "mistral/large", 200)
    await one({**by_key, "x-sim-status": "429"}, "deepseek-v4", 429)


async def _apply(dash, **choices: str) -> None:
    for label, option in choices.items():
        await dash.page.get_by_label(label, exact=True).select_option(label=option)
    await dash.page.get_by_role("button", name="Apply filters").click()


async def test_the_activity_page_lists_requests_filters_them_and_loads_more(dash, client, gateway, db):
    account = await account_on_tier(client, gateway, db, "enterprise")
    key = await create_key(client, gateway.url, account, "ci-bot")
    await _requests(client, gateway, account, key)
    await ledger_rows(db, account.id, BY_KEY + 2)
    _, newest, _ = await call(client, "GET", f"{gateway.url}/v1/requests", headers=account.bearer)

    await dash.sign_in(account, "/app/activity")
    rows = dash.page.locator("table.requests tbody tr")
    assert await rows.count() == 50  # one page
    first = await rows.first.inner_text()  # the newest: the provider's 429, by the key
    assert newest["data"][0]["status"] == 429 and "429" in first and key["masked"] in first
    assert await rows.first.locator("time").get_attribute("datetime") == newest["data"][0]["created_at"]
    await dash.screenshot("activity")
    await dash.page.get_by_role("button", name="Load more").click()
    await rows.nth(BY_KEY + 1).wait_for()
    assert await rows.count() == BY_KEY + 2 and not await dash.page.get_by_role("button", name="Load more").is_visible()

    await _apply(dash, Status="Errors (400 and above)")
    await dash.page.locator("table.requests tbody tr .badge.status.ok").first.wait_for(state="detached")
    assert await rows.count() == 1 and "429" in await rows.first.locator(".badge.status.error").inner_text()
    await _apply(dash, Status="Any status", Model="mistral/large")
    await dash.page.locator("table.requests tbody tr", has_text="Session").wait_for()
    assert await rows.count() == 1 and "mistral/large" in await rows.first.inner_text()
    await _apply(dash, Key=f"ci-bot ({key['masked']})")  # the key never called mistral/large
    await dash.page.get_by_text("No requests match these filters.").wait_for()
