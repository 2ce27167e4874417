"""Signing up, logging in and out, resetting a password, and where the session token lives."""
import asyncio
import json
import re

from control_plane.accounts.routes import BAD_LOGIN
from tests.support.api import PASSWORD, call, new_account, unique_email

NEW_PASSWORD = "a brand new password"


async def test_signing_up_logs_in_and_logging_out_and_in_again_works(dash):
    page, email = dash.page, unique_email("dash")
    await page.goto(dash.url("/app/"))
    await page.wait_for_url(dash.url("/app/login"))  # an account page, signed out: log in first
    await page.get_by_role("link", name="Create an account").click()
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Create account").click()
    await page.wait_for_url(dash.url("/app/"))
    await dash.loaded()
    assert await page.locator("#tier").inner_text() == "Free"
    await page.get_by_role("button", name="Log out").click()
    await page.wait_for_url(dash.url("/app/login"))
    assert await page.evaluate("sessionStorage.length") == 0
    assert "You have logged out." in await page.locator("main").inner_text()
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url(dash.url("/app/"))
    await page.locator(".who", has_text=email).wait_for()


async def test_logging_in_returns_to_the_page_that_asked_for_it(dash, client, gateway):
    account = await new_account(client, gateway.url)
    await dash.page.goto(dash.url("/app/billing"))
    await dash.page.wait_for_url(dash.url("/app/login"))
    await dash.page.get_by_label("Email").fill(account.email)
    await dash.page.get_by_label("Password").fill(account.password)
    await dash.page.get_by_role("button", name="Log in").click()
    await dash.page.wait_for_url(dash.url("/app/billing"))


async def test_a_wrong_password_shows_the_apis_message(dash, client, gateway):
    account = await new_account(client, gateway.url)
    await dash.open("/app/login")
    await dash.page.get_by_label("Email").fill(account.email)
    await dash.page.get_by_label("Password").fill("not the password")
    await dash.page.get_by_role("button", name="Log in").click()
    assert await dash.alert() == BAD_LOGIN
    assert dash.page.url == dash.url("/app/login")
    await dash.screenshot("login-error")


async def test_a_field_the_api_rejects_is_marked_invalid_and_focused(dash, client, gateway):
    account = await new_account(client, gateway.url)
    await dash.open("/app/signup")
    await dash.page.get_by_label("Email").fill(account.email)
    await dash.page.get_by_label("Password").fill(PASSWORD)
    await dash.page.get_by_role("button", name="Create account").click()
    assert await dash.alert() == "An account with this email already exists"
    email = dash.page.get_by_label("Email")
    assert await email.get_attribute("aria-invalid") == "true"
    assert await email.evaluate("input => input === document.activeElement")


async def test_the_login_form_works_from_the_keyboard(dash, client, gateway):
    account = await new_account(client, gateway.url)
    await dash.open("/app/login")
    keyboard = dash.page.keyboard
    await keyboard.press("Tab")  # the skip link
    await keyboard.press("Tab")
    await keyboard.type(account.email)
    await keyboard.press("Tab")
    await keyboard.type(account.password)
    await keyboard.press("Enter")
    await dash.page.wait_for_url(dash.url("/app/"))


async def test_the_session_token_stays_out_of_urls_and_cookies_and_survives_a_reload(dash, client, gateway):
    account = await new_account(client, gateway.url)
    requests = []
    dash.page.on("request", lambda request: requests.append(request))
    await dash.log_in(account)
    await dash.page.reload()
    await dash.loaded()
    assert await dash.page.locator("#tier").inner_text() == "Free"  # still signed in
    token = json.loads(await dash.page.evaluate("sessionStorage.getItem('clew.session')"))["token"]
    assert await dash.page.context.cookies() == []
    assert not [r.url for r in requests if token in r.url]
    api_calls = [r for r in requests if "/v1/auth/me" in r.url]
    assert api_calls
    assert [await r.header_value("authorization") for r in api_calls] == [f"Bearer {token}"] * len(api_calls)


async def _reset_link(gateway, email: str) -> str:
    for _ in range(50):  # the mail leaves in the background
        if gateway.outbox.exists():
            for line in reversed(gateway.outbox.read_text().splitlines()):
                mail = json.loads(line)
                if mail["to"] == email:
                    return re.search(r"http\S+/app/reset\?token=\S+", mail["body"]).group(0)
        await asyncio.sleep(0.1)
    raise AssertionError(f"no reset mail for {email}")


async def test_a_password_reset_from_the_emailed_link_sets_the_new_password(dash, client, gateway):
    account = await new_account(client, gateway.url)
    await dash.open("/app/forgot")
    await dash.page.get_by_label("Email").fill(account.email)
    await dash.page.get_by_role("button", name="Email me a reset link").click()
    await dash.page.get_by_text("If an account exists for this email").wait_for()
    await dash.page.goto(await _reset_link(gateway, account.email))
    await dash.loaded()
    assert dash.page.url == dash.url("/app/reset")  # the token left the address bar at once
    await dash.page.get_by_label("New password").fill(NEW_PASSWORD)
    await dash.page.get_by_role("button", name="Set new password").click()
    await dash.page.get_by_role("link", name="Log in with your new password").click()
    await dash.log_in(account, NEW_PASSWORD)
    status, _, _ = await call(client, "POST", f"{gateway.url}/v1/auth/login",
                              json={"email": account.email, "password": account.password})
    assert status == 401


async def test_the_reset_page_without_a_token_asks_for_the_emailed_link(dash):
    await dash.open("/app/reset")
    assert await dash.alert() == "This page needs the link from your password-reset email."
