"""A key's own limits, enforced by the sidecar through Envoy: requests per minute (with the rate-limit
headers describing the tightest window), allowed models on every AI API (routers by their name), the
model list a limited key sees, expiry, and an edit reaching the sidecars."""
import asyncio
from datetime import UTC, datetime, timedelta

from tests.e2e.chat import HELLO, account_on_tier, chat
from tests.support.api import call, new_account

MODEL = "deepseek-v4"
ALLOWED = ["deepseek-*", "clew/free"]
# A request on each AI API for a model the key above may not use: path -> body.
REFUSED = {
    "/v1/chat/completions": {"model": "gpt-5.5", "messages": HELLO},
    "/v1/messages": {"model": "mistral/large", "messages": HELLO, "max_tokens": 16},
    "/v1/messages/count_tokens": {"model": "gpt-5.5", "messages": HELLO},
    "/v1/responses": {"model": "groq/llama4", "input": "Hello!"},
    "/v1/embeddings": {"model": "text-embedding-3-small", "input": "Hello!"},
    "/v1/images/generations": {"model": "minimax-image-01", "prompt": "a lighthouse"},
    "/v1/video/generations": {"model": "minimax-hailuo-2.3", "prompt": "a lighthouse"},
}


async def _key(client, base: str, account, **limits) -> dict:
    status, body, _ = await call(client, "POST", f"{base}/v1/keys", json={"name": "limited", **limits},
                                 headers=account.bearer)
    assert status == 201, body
    return body


async def _until(check, seconds: float = 5.0, interval: float = 0.1):
    """Polls `check()` until it returns something true; fails after `seconds`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not (found := await check()):
        assert loop.time() < deadline, f"not within {seconds} s"
        await asyncio.sleep(interval)
    return found


def _refused(client, base: str, key: str):
    """A check for _until: the key's chat request refused with 401 (status, body, headers), else None."""
    async def check():
        status, body, answered = await chat(client, base, {"X-API-Key": key}, model=MODEL)
        return (status, body, answered) if status == 401 else None
    return check


async def test_a_key_limited_to_two_a_minute_shows_2_and_refuses_the_third(client, base):
    account = await new_account(client, base)  # free: 10 a minute for the account
    headers = {"X-API-Key": (await _key(client, base, account, requests_per_minute=2))["key"]}
    seen = []
    for _ in range(3):
        status, body, answered = await chat(client, base, headers, model=MODEL)
        seen.append((status, answered["x-ratelimit-limit"], answered["x-ratelimit-remaining"],
                     answered["x-ratelimit-limit-requests"], answered["x-ratelimit-remaining-requests"]))
    assert seen == [(200, "2", "1", "2", "1"), (200, "2", "0", "2", "0"), (429, "2", "0", "2", "0")]
    assert body["error"]["code"] == "rate_limit_exceeded" and "this API key" in body["error"]["message"]
    assert 1 <= int(answered["retry-after"]) <= 60 and answered["x-ratelimit-reset-requests"].endswith("s")
    # The account's own window counted the two served requests only, not the refused one.
    status, _, answered = await chat(client, base, account.bearer, model=MODEL)
    assert (status, answered["x-ratelimit-limit"], answered["x-ratelimit-remaining"]) == (200, "10", "7")


async def test_a_key_may_call_only_its_models_on_every_ai_api(client, gateway, db):
    base = gateway.url
    account = await account_on_tier(client, gateway, db, "pro")  # more requests than the free tier's 10
    headers = {"X-API-Key": (await _key(client, base, account, allowed_models=ALLOWED))["key"]}
    for path, request in REFUSED.items():
        status, body, _ = await call(client, "POST", f"{base}{path}", json=request, headers=headers)
        assert status == 403, (path, body)
        if path.startswith("/v1/messages"):  # Anthropic's error shape
            assert body["type"] == "error" and body["error"]["type"] == "permission_error", body
        else:
            assert body["error"]["code"] == "model_not_allowed" and body["error"]["param"] == "model", body
            assert body["error"]["type"] == "permission_error"
    # A pattern, and a router by its name (its candidates are not in the list), are served.
    for model in ("deepseek-v4", "deepseek-v4-pro", "clew/free"):
        status, body, _ = await chat(client, base, headers, model=model)
        assert status == 200, (model, body)
    status, _, _ = await call(client, "POST", f"{base}/v1/messages", headers=headers,
                              json={"model": MODEL, "messages": HELLO, "max_tokens": 16})
    assert status == 200
    status, body, _ = await chat(client, base, headers, model="no-such-model")
    assert (status, body["error"]["code"]) == (404, "model_not_found")  # unknown stays unknown
    status, _, _ = await chat(client, base, account.bearer, model="gpt-5.5")  # the account itself is not limited
    assert status == 200


async def test_the_model_list_with_a_limited_key_holds_only_its_models(client, base):
    account = await new_account(client, base, "list")
    key = (await _key(client, base, account, allowed_models=["deepseek-*", "text-embedding-3-small"]))["key"]
    _, everything, _ = await call(client, "GET", f"{base}/v1/models")
    assert len(everything["data"]) > 3
    expected = sorted(m["id"] for m in everything["data"]
                      if m["id"].startswith("deepseek-") or m["id"] == "text-embedding-3-small")
    for headers in ({"X-API-Key": key}, {"Authorization": f"Bearer {key}"}):
        status, listed, _ = await call(client, "GET", f"{base}/v1/models", headers=headers)
        assert status == 200 and sorted(m["id"] for m in listed["data"]) == expected
    assert (await call(client, "GET", f"{base}/v1/models/deepseek-v4", headers={"X-API-Key": key}))[0] == 200
    status, body, _ = await call(client, "GET", f"{base}/v1/models/gpt-5.5", headers={"X-API-Key": key})
    assert (status, body["error"]["code"]) == (404, "model_not_found")
    _, as_account, _ = await call(client, "GET", f"{base}/v1/models", headers=account.bearer)
    assert as_account == everything  # a session is not limited
    status, body, _ = await call(client, "GET", f"{base}/v1/models", headers={"X-API-Key": "sk-clew-wrong"})
    assert (status, body["error"]["code"]) == (401, "invalid_api_key")


async def test_an_expired_key_is_refused_like_a_revoked_one(client, base):
    account = await new_account(client, base, "expiry")
    expires = (datetime.now(UTC) + timedelta(seconds=3)).isoformat()
    expiring = await _key(client, base, account, expires_at=expires)
    assert (await chat(client, base, {"X-API-Key": expiring["key"]}, model=MODEL))[0] == 200  # cached now
    assert expiring["expires_at"] == expires.replace("+00:00", "Z")
    revoked = await _key(client, base, account)
    await call(client, "DELETE", f"{base}/v1/keys/{revoked['id']}", headers=account.bearer)

    status, body, answered = await _until(_refused(client, base, expiring["key"]), 10, interval=0.3)
    _, body_revoked, _ = await _until(_refused(client, base, revoked["key"]), 5)
    assert body["error"] | {"message": ""} == body_revoked["error"] | {"message": ""}
    assert body["error"]["code"] == "invalid_api_key" and answered["www-authenticate"] == 'Bearer realm="clew"'
    assert body["error"]["message"].startswith("Incorrect API key provided")
    status, _, _ = await call(client, "GET", f"{base}/v1/auth/me", headers={"X-API-Key": expiring["key"]})
    assert status == 401  # the management routes too


async def test_an_edit_reaches_the_sidecars_without_a_restart(client, gateway, db):
    base = gateway.url
    account = await account_on_tier(client, gateway, db, "pro")  # 100 a minute: the key's 5 is the tighter
    key = await _key(client, base, account)
    headers = {"X-API-Key": key["key"]}
    for _ in range(4):  # every sidecar process caches the key as it is
        assert (await chat(client, base, headers, model="gpt-5.5"))[0] == 200
    status, body, _ = await call(client, "PATCH", f"{base}/v1/keys/{key['id']}", headers=account.bearer,
                                 json={"allowed_models": [MODEL], "requests_per_minute": 5})
    assert status == 200 and body["allowed_models"] == [MODEL] and body["requests_per_minute"] == 5

    async def refused_in_a_row():
        for _ in range(4):
            if (await chat(client, base, headers, model="gpt-5.5"))[0] != 403:
                return False
        return True

    await _until(refused_in_a_row, 5)
    _, _, answered = await chat(client, base, headers, model=MODEL)
    assert answered["x-ratelimit-limit"] == "5"
