"""GET /v1/auth/me through Envoy, with each kind of credential."""
import time

import jwt

from tests.support.api import call, create_key, new_account


async def test_me_with_session_token_shows_profile_and_usage(client, base):
    account = await new_account(client, base)
    status, body, _ = await call(client, "GET", f"{base}/v1/auth/me", headers=account.bearer)
    assert status == 200
    assert (body["id"], body["email"], body["tier"]) == (account.id, account.email, "free")
    assert body["created_at"].endswith("Z")
    assert body["usage"]["requests"] == 0 and body["usage"]["total_tokens"] == 0 and body["usage"]["cost_usd"] == "0"


async def test_me_with_x_api_key(client, base):
    account = await new_account(client, base)
    key = await create_key(client, base, account)
    status, body, _ = await call(client, "GET", f"{base}/v1/auth/me", headers={"X-API-Key": key["key"]})
    assert status == 200 and body["id"] == account.id


async def test_me_with_api_key_as_bearer_like_the_openai_sdk(client, base):
    account = await new_account(client, base)
    key = await create_key(client, base, account)
    status, body, _ = await call(client, "GET", f"{base}/v1/auth/me", headers={"Authorization": f"Bearer {key['key']}"})
    assert status == 200 and body["id"] == account.id


async def test_me_without_credentials_is_401(client, base):
    status, body, headers = await call(client, "GET", f"{base}/v1/auth/me")
    assert status == 401 and body["error"]["code"] == "missing_api_key"
    assert headers["Content-Type"].startswith("application/json")


async def test_me_with_garbage_token_is_401(client, base):
    status, body, _ = await call(client, "GET", f"{base}/v1/auth/me", headers={"Authorization": "Bearer not.a.jwt"})
    assert status == 401 and body["error"]["code"] == "invalid_api_key"


async def test_me_with_unknown_api_key_is_401(client, base):
    status, body, _ = await call(client, "GET", f"{base}/v1/auth/me", headers={"X-API-Key": "sk-clew-" + "A" * 43})
    assert status == 401 and body["error"]["code"] == "invalid_api_key"


async def test_token_signed_with_another_secret_is_401(client, base):
    account = await new_account(client, base)
    claims = jwt.decode(account.token, options={"verify_signature": False})
    forged = jwt.encode(claims, "some-other-secret-of-enough-length-0123456789", algorithm="HS256")
    status, _, _ = await call(client, "GET", f"{base}/v1/auth/me", headers={"Authorization": f"Bearer {forged}"})
    assert status == 401


async def test_expired_token_is_401(client, gateway):
    account = await new_account(client, gateway.url)
    claims = jwt.decode(account.token, options={"verify_signature": False})
    claims.update(iat=int(time.time()) - 7200, exp=int(time.time()) - 3600)
    expired = jwt.encode(claims, gateway.secrets["CLEW_JWT_SECRET"], algorithm="HS256")
    status, body, _ = await call(client, "GET", f"{gateway.url}/v1/auth/me",
                                 headers={"Authorization": f"Bearer {expired}"})
    assert status == 401 and body["error"]["code"] == "token_expired"
