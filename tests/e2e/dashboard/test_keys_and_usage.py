"""API keys made and revoked in the dashboard, used through Envoy, and the usage they leave."""
import asyncio
from decimal import Decimal

from tests.e2e.chat import chat, expected_cost
from tests.e2e.reports import landed
from tests.support.api import PASSWORD, call, create_key, new_account, unique_email


async def _create_key_in_the_page(dash, name: str, scope: str | None = None) -> str:
    await dash.page.get_by_label("Key name").fill(name)
    if scope:
        await dash.page.get_by_label("Scope").select_option(scope)
    await dash.page.get_by_role("button", name="Create key").click()
    return await dash.page.locator(".secret-once input.secret").input_value()


async def _choose(dash, option: str) -> None:
    """Click one of the usage page's segmented choices, as a person does: on its label."""
    await dash.page.locator(".segmented label", has_text=option).click()
    assert await dash.page.get_by_label(option, exact=True).is_checked()


async def _chart_drawn(dash, metric: str, days: int) -> None:
    await dash.page.get_by_role("heading", name=f"{metric} per day, last {days} days (UTC)").wait_for()
    await dash.page.locator(".plot svg").wait_for()  # drawn once the figure has its width


async def _refused_within(client, base: str, key: str, seconds: float) -> None:
    loop = asyncio.get_running_loop()
    deadline, refusals_in_a_row = loop.time() + seconds, 0
    while refusals_in_a_row < 4:  # four in a row: every sidecar process has dropped it
        status, _, _ = await chat(client, base, {"X-API-Key": key}, model="deepseek-v4")
        refusals_in_a_row = refusals_in_a_row + 1 if status == 401 else 0
        assert loop.time() < deadline, f"the revoked key was still accepted after {seconds} s"


async def test_a_new_key_is_shown_once_with_a_copy_button_and_listed_masked(dash, client, gateway):
    account = await new_account(client, gateway.url)
    await dash.sign_in(account, "/app/keys")
    key = await _create_key_in_the_page(dash, "laptop")
    assert "only time it is shown" in await dash.page.locator(".secret-once").inner_text()
    await dash.page.get_by_role("button", name="Copy").click()
    await dash.page.get_by_text("Copied").wait_for()
    assert await dash.page.evaluate("navigator.clipboard.readText()") == key
    await dash.screenshot("keys-new-key")
    _, listed, _ = await call(client, "GET", f"{gateway.url}/v1/keys", headers=account.bearer)
    row = dash.page.locator("table.keys tbody tr")
    await row.wait_for()
    assert await row.count() == 1 and "laptop" in await row.inner_text()
    assert await row.locator("code").inner_text() == listed["data"][0]["masked"]
    await dash.page.get_by_role("button", name="Done").click()
    assert key not in await dash.page.content()


async def test_a_management_key_made_in_the_page_is_listed_with_its_scope_and_may_mint_keys(dash, client, gateway):
    account = await new_account(client, gateway.url)
    await create_key(client, gateway.url, account, "reader")
    await dash.sign_in(account, "/app/keys")
    assert await dash.page.get_by_label("Scope").input_value() == "default"  # the safe choice unless changed
    key = await _create_key_in_the_page(dash, "deployer", "management")
    assert "new management key" in await dash.page.locator(".secret-once").inner_text()
    await dash.page.locator("table.keys tbody tr", has_text="deployer").wait_for()
    scopes = {name: await dash.page.locator("table.keys tbody tr", has_text=name).locator(".badge.scope").inner_text()
              for name in ("reader", "deployer")}
    assert scopes == {"reader": "default", "deployer": "management"}
    await dash.screenshot("keys-with-scopes")
    status, minted, _ = await call(client, "POST", f"{gateway.url}/v1/keys", json={"name": "ci"},
                                   headers={"X-API-Key": key})
    assert status == 201 and minted["scope"] == "default"


async def test_a_key_made_in_the_dashboard_serves_a_completion_that_the_usage_page_shows(dash, client, gateway, db):
    # The whole journey of a new user: sign up (which logs in), make a key, use it, see the usage.
    await dash.open("/app/signup")
    await dash.page.get_by_label("Email").fill(unique_email("journey"))
    await dash.page.get_by_label("Password").fill(PASSWORD)
    await dash.page.get_by_role("button", name="Create account").click()
    await dash.page.wait_for_url(dash.url("/app/"))
    await dash.page.get_by_role("link", name="API keys").click()
    await dash.loaded()
    key = await _create_key_in_the_page(dash, "e2e")
    _, me, _ = await call(client, "GET", f"{gateway.url}/v1/auth/me", headers={"X-API-Key": key})
    headers = {"X-API-Key": key, "x-sim-prompt-tokens": "1200", "x-sim-completion-tokens": "345"}
    status, _, _ = await chat(client, gateway.url, headers, model="deepseek-v4")
    assert status == 200
    await landed(db, me["id"], 1)
    await dash.page.get_by_role("link", name="Usage").click()
    await _chart_drawn(dash, "Tokens", 30)
    today = dash.page.locator("svg g.day").last  # the chart's last day is today (UTC)
    assert [await bar.get_attribute("data-value") for bar in await today.locator("rect").all()] == ["1545"]
    row = dash.page.locator("table.by-model tbody tr", has_text="deepseek-v4")
    assert "1,545" in await row.inner_text()
    assert "deepseek" in await dash.page.locator("table.by-provider tbody").inner_text()
    await dash.screenshot("usage-with-a-completion")
    await _choose(dash, "Cost")
    await _chart_drawn(dash, "Cost", 30)
    cost = Decimal(await today.locator("rect").first.get_attribute("data-value"))
    assert cost == expected_cost(gateway, "deepseek-v4", 1200, 345)


async def test_the_usage_chart_stacks_each_day_by_model(dash, client, gateway, db):
    account = await new_account(client, gateway.url)
    for model, tokens in (("deepseek-v4", "40"), ("mistral/large", "25")):
        headers = {**account.bearer, "x-sim-prompt-tokens": tokens, "x-sim-completion-tokens": "0"}
        assert (await chat(client, gateway.url, headers, model=model))[0] == 200
    await landed(db, account.id, 2)
    await dash.sign_in(account, "/app/usage")
    await _chart_drawn(dash, "Tokens", 30)
    bars = await dash.page.locator("svg g.day").last.locator("rect").all()
    assert [(await bar.get_attribute("data-series"), await bar.get_attribute("data-value")) for bar in bars] == [
        ("deepseek-v4", "40"), ("mistral/large", "25")]
    assert await dash.page.locator("ul.legend li").all_inner_texts() == ["deepseek-v4", "mistral/large"]


async def test_the_usage_range_switches_between_7_30_and_90_days(dash, client, gateway):
    account = await new_account(client, gateway.url)
    status, _, _ = await chat(client, gateway.url, account.bearer, model="deepseek-v4")
    assert status == 200
    await dash.sign_in(account, "/app/usage")
    for days in ("7", "90", "30"):
        await _choose(dash, f"{days} days")
        await _chart_drawn(dash, "Tokens", int(days))
        assert await dash.page.locator("svg g.day").count() == int(days)


async def test_a_new_account_sees_empty_states_not_blank_pages(dash, client, gateway):
    await dash.sign_in(await new_account(client, gateway.url), "/app/usage")
    assert "No usage in the last 30 days." in await dash.page.locator(".chart-area").inner_text()
    assert await dash.page.get_by_text("No usage this month yet.").count() == 2
    await dash.open("/app/keys")
    await dash.page.get_by_text("No API keys yet.").wait_for()


async def test_revoking_asks_first_and_cancelling_keeps_the_key(dash, client, gateway):
    account = await new_account(client, gateway.url)
    await create_key(client, gateway.url, account, "keeper")
    await dash.sign_in(account, "/app/keys")
    await dash.page.get_by_role("button", name="Revoke keeper").click()
    dialog = dash.page.get_by_role("dialog")
    assert "will be refused" in await dialog.inner_text()
    await dash.screenshot("keys-revoke-dialog")
    await dash.page.keyboard.press("Escape")
    await dialog.wait_for(state="detached")
    assert await dash.page.locator("table.keys tbody tr", has_text="keeper").count() == 1


async def test_a_key_revoked_in_the_dashboard_is_refused(dash, client, gateway):
    account = await new_account(client, gateway.url)
    created = await create_key(client, gateway.url, account, "doomed")
    for _ in range(4):  # warm every sidecar process's cache with the key
        assert (await chat(client, gateway.url, {"X-API-Key": created["key"]}, model="deepseek-v4"))[0] == 200
    await dash.sign_in(account, "/app/keys")
    await dash.page.get_by_role("button", name="Revoke doomed").click()
    await dash.confirm("Revoke key")
    await dash.page.get_by_text("Revoked “doomed”.").wait_for()
    await dash.page.get_by_text("No API keys yet.").wait_for()
    await _refused_within(client, gateway.url, created["key"], 2.0)


async def test_a_keys_limits_and_scope_are_edited_in_the_page_and_enforced(dash, client, gateway, db):
    account = await new_account(client, gateway.url)
    created = await create_key(client, gateway.url, account, "ci")
    as_key = {"X-API-Key": created["key"], "x-sim-prompt-tokens": "100", "x-sim-completion-tokens": "20"}
    for _ in range(2):
        assert (await chat(client, gateway.url, as_key, model="gpt-5.5"))[0] == 200
    await landed(db, account.id, 2)
    await dash.sign_in(account, "/app/keys")
    row = dash.page.locator("table.keys tbody tr", has_text="ci")
    assert "2 requests · 240 tokens" in await row.inner_text() and "The account's only" in await row.inner_text()
    assert await row.locator("td[data-label='Last used']").inner_text() != "Never"
    await dash.page.get_by_role("button", name="Edit ci").click()
    editor = dash.page.locator("form.key-editor")
    await editor.get_by_label("Requests per minute").fill("11")  # over the free tier's 10: the API says so
    await editor.get_by_role("button", name="Save changes").click()
    assert "free tier allows 10 requests per minute" in await dash.alert()
    assert await editor.get_by_label("Requests per minute").get_attribute("aria-invalid") == "true"
    await editor.get_by_label("Models").fill("deepseek-*, clew/free")
    await editor.get_by_label("Monthly budget (USD)").fill("5.5")
    await editor.get_by_label("Requests per minute").fill("2")
    await editor.get_by_label("Expires").fill("2999-01-01T10:00")
    await editor.get_by_label("Scope").select_option("management")
    await dash.screenshot("keys-edit-limits")
    await editor.get_by_role("button", name="Save changes").click()
    await dash.page.get_by_text("Saved “ci”.").wait_for()
    text = await row.inner_text()
    assert "Models: deepseek-*, clew/free" in text and "Budget: $5.50/month" in text and "2 requests/min" in text
    assert "Expires" in text and await row.locator(".badge.scope").inner_text() == "management"
    _, listed, _ = await call(client, "GET", f"{gateway.url}/v1/keys", headers=account.bearer)
    key = listed["data"][0]
    assert (key["allowed_models"], key["monthly_budget_usd"], key["requests_per_minute"], key["scope"]) == (
        ["deepseek-*", "clew/free"], "5.5", 2, "management")
    assert key["expires_at"].startswith("2999-01-01")
    loop, refused = asyncio.get_running_loop(), 0
    deadline = loop.time() + 5
    while refused < 2:  # the sidecars follow the change: gpt-5.5 is no longer this key's
        status, _, _ = await chat(client, gateway.url, {"X-API-Key": created["key"]}, model="gpt-5.5")
        refused = refused + 1 if status == 403 else 0
        assert loop.time() < deadline, "the edited key still reached gpt-5.5"
