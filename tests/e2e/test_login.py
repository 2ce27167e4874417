"""POST /v1/auth/login through Envoy."""
import time

import jwt

from tests.support.api import PASSWORD, call, new_account, unique_email


async def test_login_returns_a_jwt_with_expiry(client, base):
    account = await new_account(client, base)
    status, body, _ = await call(client, "POST", f"{base}/v1/auth/login",
                                 json={"email": account.email, "password": PASSWORD})
    assert status == 200 and body["token_type"] == "bearer"
    claims = jwt.decode(body["token"], options={"verify_signature": False})
    assert claims["sub"] == account.id and claims["exp"] == body["expires_at"]
    assert body["expires_at"] > time.time() + 3600


async def test_login_accepts_the_email_in_any_case(client, base):
    account = await new_account(client, base)
    status, _, _ = await call(client, "POST", f"{base}/v1/auth/login",
                              json={"email": account.email.upper(), "password": PASSWORD})
    assert status == 200


async def test_wrong_password_and_unknown_email_get_the_same_401(client, base):
    account = await new_account(client, base)
    wrong = await call(client, "POST", f"{base}/v1/auth/login",
                       json={"email": account.email, "password": "nope-nope-nope"})
    unknown = await call(client, "POST", f"{base}/v1/auth/login", json={"email": unique_email(), "password": PASSWORD})
    assert wrong[0] == unknown[0] == 401
    assert wrong[1] == unknown[1]


async def test_repeated_failures_for_one_email_are_throttled(client, base):
    account = await new_account(client, base)
    bad = {"email": account.email, "password": "wrong-password"}
    statuses = [(await call(client, "POST", f"{base}/v1/auth/login", json=bad))[0] for _ in range(5)]
    status, body, headers = await call(client, "POST", f"{base}/v1/auth/login",
                                       json={"email": account.email, "password": PASSWORD})
    assert statuses == [401] * 5
    assert status == 429 and body["error"]["code"] == "login_throttled"
    assert 1 <= int(headers["Retry-After"]) <= 900


async def test_throttle_of_one_email_leaves_others_alone(client, base):
    victim, other = await new_account(client, base), await new_account(client, base)
    for _ in range(6):
        await call(client, "POST", f"{base}/v1/auth/login", json={"email": victim.email, "password": "wrong-password"})
    status, _, _ = await call(client, "POST", f"{base}/v1/auth/login",
                              json={"email": other.email, "password": PASSWORD})
    assert status == 200


async def test_login_without_password_is_400(client, base):
    status, body, _ = await call(client, "POST", f"{base}/v1/auth/login", json={"email": unique_email()})
    assert status == 400 and body["error"]["param"] == "password"
