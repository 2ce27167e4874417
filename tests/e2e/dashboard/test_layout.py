"""Every page at a phone's width (375 px) and a desktop's (1280 px): no horizontal scrolling, and a
screenshot of each in test-artifacts/dashboard/. Also the overview's numbers and the phone menu."""
import pytest

from tests.e2e.chat import chat
from tests.support.api import create_key, new_account
from tests.support.ledger import insert_usage

SIGNED_OUT = [("login", "/app/login"), ("signup", "/app/signup"), ("forgot", "/app/forgot"),
              ("reset", "/app/reset")]
SIGNED_IN = [("overview", "/app/"), ("usage", "/app/usage"), ("activity", "/app/activity"), ("keys", "/app/keys"),
             ("billing", "/app/billing"), ("provider-keys", "/app/provider-keys"), ("webhooks", "/app/webhooks"),
             ("not-found", "/app/no-such-page")]


async def _check(dash, name: str, path: str) -> None:
    await dash.open(path)
    await dash.screenshot(name)
    assert await dash.overflow() == 0, f"{path} scrolls sideways at {dash.page.viewport_size['width']} px"


@pytest.mark.parametrize("width", [375, 1280])
async def test_every_page_fits_the_width_without_horizontal_overflow(dash, client, gateway, width):
    account = await new_account(client, gateway.url)
    key = await create_key(client, gateway.url, account, "a key with a long name for a narrow screen")
    for model in ("deepseek-v4", "mistral/large"):
        status, _, _ = await chat(client, gateway.url, {"X-API-Key": key["key"]}, model=model)
        assert status == 200
    await dash.page.set_viewport_size({"width": width, "height": 800})
    for name, path in SIGNED_OUT:
        await _check(dash, name, path)
    await dash.sign_in(account)
    for name, path in SIGNED_IN:
        await _check(dash, name, path)


async def test_on_a_phone_the_menu_button_opens_the_navigation(dash, client, gateway):
    await dash.page.set_viewport_size({"width": 375, "height": 800})
    await dash.sign_in(await new_account(client, gateway.url))
    usage_link = dash.page.get_by_role("link", name="Usage")
    assert not await usage_link.is_visible()
    await dash.page.get_by_role("button", name="Menu").click()
    await dash.screenshot("menu-open")
    await usage_link.click()
    await dash.page.wait_for_url(dash.url("/app/usage"))
    assert not await usage_link.is_visible()  # the menu closes on the way


async def test_the_overview_shows_the_tier_this_months_totals_and_the_quota_bar(dash, client, gateway, db):
    account = await new_account(client, gateway.url)
    await insert_usage(db, account.id, 20_000, 5_000, cost_nanos=37_500_000)
    await dash.sign_in(account)
    text = await dash.page.locator("main").inner_text()
    assert await dash.page.locator("#tier").inner_text() == "Free"
    assert await dash.page.locator("#tier-limits").inner_text() == "10 requests/min · 100K tokens/month"
    assert "25,000" in text and "20,000 prompt · 5,000 completion" in text and "$0.0375" in text
    bar = dash.page.locator("progress#quota-bar")
    assert (await bar.get_attribute("value"), await bar.get_attribute("max")) == ("25000", "100000")
    assert "25,000 of 100,000 tokens used (25%) · 75,000 left this month" in text
