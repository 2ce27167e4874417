"""POST /v1/auth/forgot and /v1/auth/reset through Envoy, reading the mail from the outbox."""
import asyncio
import json
import re
from datetime import UTC, datetime

import sqlalchemy as sa

from schemas.tables import password_resets
from tests.support.api import PASSWORD, call, login, new_account, unique_email

NEW_PASSWORD = "a brand new password"


async def _reset_token(gateway, email: str) -> str:
    for _ in range(50):  # the mail leaves in the background
        if gateway.outbox.exists():
            for line in reversed(gateway.outbox.read_text().splitlines()):
                mail = json.loads(line)
                if mail["to"] == email:
                    return re.search(r"token=([\w-]+)", mail["body"]).group(1)
        await asyncio.sleep(0.1)
    raise AssertionError(f"no reset mail for {email}")


async def _forgot(client, base, email):
    return await call(client, "POST", f"{base}/v1/auth/forgot", json={"email": email})


async def test_forgot_answers_the_same_for_known_and_unknown_emails(client, base):
    account = await new_account(client, base)
    known, unknown = await _forgot(client, base, account.email), await _forgot(client, base, unique_email())
    assert known[:2] == unknown[:2]


async def test_forgot_is_202(client, base):
    status, _, _ = await _forgot(client, base, unique_email())
    assert status == 202


async def test_reset_token_is_stored_hashed_and_expires_in_30_minutes(client, gateway, db):
    account = await new_account(client, gateway.url)
    await _forgot(client, gateway.url, account.email)
    token = await _reset_token(gateway, account.email)
    async with db.connect() as conn:
        row = (await conn.execute(sa.select(password_resets).where(password_resets.c.account_id == account.id))).one()
    assert row.token_hash != token and token not in row.token_hash
    expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=UTC)
    ttl = (expires - datetime.now(UTC)).total_seconds()
    assert 1700 < ttl <= 1800


async def test_reset_sets_the_password(client, gateway):
    account = await new_account(client, gateway.url)
    await _forgot(client, gateway.url, account.email)
    token = await _reset_token(gateway, account.email)
    status, _, _ = await call(client, "POST", f"{gateway.url}/v1/auth/reset",
                              json={"token": token, "password": NEW_PASSWORD})
    assert status == 200
    assert await login(client, gateway.url, account.email, NEW_PASSWORD)
    old = await call(client, "POST", f"{gateway.url}/v1/auth/login",
                     json={"email": account.email, "password": PASSWORD})
    assert old[0] == 401


async def test_reset_invalidates_earlier_session_tokens(client, gateway):
    account = await new_account(client, gateway.url)
    assert (await call(client, "GET", f"{gateway.url}/v1/auth/me", headers=account.bearer))[0] == 200
    await _forgot(client, gateway.url, account.email)
    token = await _reset_token(gateway, account.email)
    await call(client, "POST", f"{gateway.url}/v1/auth/reset", json={"token": token, "password": NEW_PASSWORD})
    status, body, _ = await _eventually_401(client, f"{gateway.url}/v1/auth/me", account.bearer)
    assert status == 401 and body["error"]["code"] == "token_revoked"


async def test_reset_token_cannot_be_used_twice(client, gateway):
    account = await new_account(client, gateway.url)
    await _forgot(client, gateway.url, account.email)
    token = await _reset_token(gateway, account.email)
    await call(client, "POST", f"{gateway.url}/v1/auth/reset", json={"token": token, "password": NEW_PASSWORD})
    status, body, _ = await call(client, "POST", f"{gateway.url}/v1/auth/reset",
                                 json={"token": token, "password": "yet another one"})
    assert status == 400 and body["error"]["code"] == "invalid_reset_token"


async def test_unknown_reset_token_is_400(client, base):
    status, body, _ = await call(client, "POST", f"{base}/v1/auth/reset",
                                 json={"token": "nope", "password": NEW_PASSWORD})
    assert status == 400 and body["error"]["param"] == "token"


async def test_reset_with_short_password_is_400_and_keeps_the_token(client, gateway):
    account = await new_account(client, gateway.url)
    await _forgot(client, gateway.url, account.email)
    token = await _reset_token(gateway, account.email)
    short = await call(client, "POST", f"{gateway.url}/v1/auth/reset", json={"token": token, "password": "short"})
    good = await call(client, "POST", f"{gateway.url}/v1/auth/reset", json={"token": token, "password": NEW_PASSWORD})
    assert short[0] == 400 and good[0] == 200


async def _eventually_401(client, url, headers, within: float = 1.0):
    """Poll until refused; the sidecar must drop cached sessions within a second."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        result = await call(client, "GET", url, headers=headers)
        if result[0] == 401 or loop.time() > deadline:
            return result
        await asyncio.sleep(0.05)


async def test_a_new_reset_link_makes_the_older_one_invalid(client, gateway, db):
    account = await new_account(client, gateway.url)
    await _forgot(client, gateway.url, account.email)
    older = await _reset_token(gateway, account.email)
    await _forgot(client, gateway.url, account.email)
    for _ in range(50):  # the second mail leaves in the background too
        if (newer := await _reset_token(gateway, account.email)) != older:
            break
        await asyncio.sleep(0.1)
    stale = await call(client, "POST", f"{gateway.url}/v1/auth/reset", json={"token": older, "password": NEW_PASSWORD})
    fresh = await call(client, "POST", f"{gateway.url}/v1/auth/reset", json={"token": newer, "password": NEW_PASSWORD})
    assert newer != older
    assert stale[0] == 400 and stale[1]["error"]["code"] == "invalid_reset_token"
    assert fresh[0] == 200
    async with db.connect() as conn:
        rows = (await conn.execute(sa.select(password_resets.c.used_at)
                                   .where(password_resets.c.account_id == account.id))).all()
    assert len(rows) == 2 and all(row.used_at is not None for row in rows)
