"""Provider keys (bring your own key) and webhooks: listed, added and deleted in the dashboard."""
from tests.support.api import call, new_account

# A public address literal: no DNS needed, and these accounts never emit the chosen event (their
# tier does not change), so nothing is ever sent there; the webhook is deleted at the end anyway.
PUBLIC_TARGET = "https://93.184.215.14/clew-dashboard-hooks"


async def _listed(client, gateway, account, path: str) -> list:
    status, body, _ = await call(client, "GET", f"{gateway.url}{path}", headers=account.bearer)
    assert status == 200
    return body["data"]


async def test_provider_keys_are_added_listed_masked_and_deleted(dash, client, gateway):
    account = await new_account(client, gateway.url)
    secret = "sk-dashboard-byok-test-9f3a"
    await dash.sign_in(account, "/app/provider-keys")
    await dash.page.get_by_text("No provider keys").wait_for()
    await dash.page.get_by_label("Provider", exact=True).select_option("deepseek")
    await dash.page.get_by_label("Key", exact=True).fill(secret)
    await dash.page.get_by_role("button", name="Save key").click()
    row = dash.page.locator("table.provider-keys tbody tr")
    await row.wait_for()
    assert "deepseek" in await row.inner_text() and await row.locator("code").inner_text() == "...9f3a"
    assert secret not in await dash.page.content()
    assert [k["provider"] for k in await _listed(client, gateway, account, "/v1/provider-keys")] == ["deepseek"]
    await dash.screenshot("provider-keys-with-a-key")
    await dash.page.get_by_role("button", name="Delete the deepseek key").click()
    await dash.confirm("Delete key")
    await dash.page.get_by_text("No provider keys").wait_for()
    assert await _listed(client, gateway, account, "/v1/provider-keys") == []


async def test_webhooks_are_added_with_their_secret_shown_once_and_deleted(dash, client, gateway):
    account = await new_account(client, gateway.url)
    await dash.sign_in(account, "/app/webhooks")
    await dash.page.get_by_text("No webhooks yet.").wait_for()
    await dash.page.get_by_label("URL", exact=True).fill(PUBLIC_TARGET)
    await dash.page.get_by_label("Description (optional)").fill("dashboard test")
    await dash.page.get_by_label("billing.tier_changed").check()
    await dash.page.get_by_role("button", name="Add webhook").click()
    secret = await dash.page.locator(".secret-once input.secret").input_value()
    [hook] = await _listed(client, gateway, account, "/v1/webhooks")
    assert secret.startswith("whsec_") and hook["events"] == ["billing.tier_changed"]
    row = dash.page.locator("table.webhooks tbody tr")
    assert PUBLIC_TARGET in await row.inner_text() and hook["secret_masked"] in await row.inner_text()
    await dash.screenshot("webhooks-with-a-webhook")
    await dash.page.get_by_role("button", name=f"Delete the webhook to {PUBLIC_TARGET}").click()
    await dash.confirm("Delete webhook")
    await dash.page.get_by_text("No webhooks yet.").wait_for()
    assert await _listed(client, gateway, account, "/v1/webhooks") == []


async def test_a_refused_webhook_url_shows_the_apis_reason(dash, client, gateway):
    account = await new_account(client, gateway.url)
    await dash.sign_in(account, "/app/webhooks")
    await dash.page.get_by_label("URL", exact=True).fill("http://127.0.0.1:9/hook")
    await dash.page.get_by_label("key.created").check()
    await dash.page.get_by_role("button", name="Add webhook").click()
    assert await dash.alert() == "Webhook URL must use https"
    assert await dash.page.get_by_label("URL", exact=True).get_attribute("aria-invalid") == "true"
    assert await _listed(client, gateway, account, "/v1/webhooks") == []
