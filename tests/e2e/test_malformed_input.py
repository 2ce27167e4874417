"""Input that once crashed a component: each is now a 4xx in OpenAI's shape, nothing internal in it,
nothing stored and (for AI routes) no provider called."""
import gzip
import json
import socket
import time
import uuid

import pytest
import sqlalchemy as sa

from control_plane.billing.stripe_standin.signing import signature_header
from schemas.tables import api_keys, stripe_events, telemetry_events
from tests.e2e.chat import simulator_ledger
from tests.support.accounts import set_tier
from tests.support.api import create_key, new_account
from tests.support.error_shape import is_openai_error, leaks

HELLO = b'[{"role": "user", "content": "Hello!"}]'
DEEP = b"[" * 5000 + b"]" * 5000


async def _raw(client, method: str, url: str, data: bytes | None = None, headers: dict | None = None):
    """Status, parsed body and raw text of one request, whatever its body is."""
    async with client.request(method, url, data=data, headers=headers) as response:
        text = (await response.read()).decode(errors="replace")
        return response.status, json.loads(text) if text else None, text


def _refused(status: int, body, text: str, expected_status: int = 400) -> dict:
    assert status == expected_status, (status, text[:500])
    assert is_openai_error(body), text[:500]
    assert not leaks(text), (leaks(text), text[:500])
    return body["error"]


@pytest.fixture
async def caller(client, gateway, db):
    """An enterprise account's API key: no rate limit or quota stands between the body and its judge."""
    account = await new_account(client, gateway.url)
    await set_tier(db, account.id, "enterprise")
    return {"X-API-Key": (await create_key(client, gateway.url, account))["key"], "Content-Type": "application/json"}


# --- AI routes: the sidecar judges the body -------------------------------------------------------

@pytest.mark.parametrize(("name", "body", "detail"), [
    ("lone surrogate in a message",
     b'{"model": "deepseek-v4", "messages": [{"role": "user", "content": "a \\ud800 b"}]}', "surrogate"),
    ("deep nesting", b'{"model": "deepseek-v4", "messages": ' + HELLO + b', "x": ' + DEEP + b"}", "nested"),
    ("a 5,000-digit integer", b'{"model": "deepseek-v4", "messages": ' + HELLO + b', "seed": ' + b"9" * 5000 + b"}",
     "digits"),
    ("NaN", b'{"model": "deepseek-v4", "messages": ' + HELLO + b', "temperature": NaN}', "NaN"),
    ("Infinity", b'{"model": "deepseek-v4", "messages": ' + HELLO + b', "top_p": Infinity}', "Infinity"),
    ("-Infinity", b'{"model": "deepseek-v4", "messages": ' + HELLO + b', "top_p": -Infinity}', "-Infinity"),
    ("a float out of range", b'{"model": "deepseek-v4", "messages": ' + HELLO + b', "top_p": 1e999}', "range"),
])
async def test_unreadable_json_on_chat_is_400_and_reaches_no_provider(client, gateway, caller, name, body, detail):
    served = len(await simulator_ledger(client, gateway))
    error = _refused(*await _raw(client, "POST", f"{gateway.url}/v1/chat/completions", body, caller))
    assert (error["type"], error["code"], error["param"]) == ("invalid_request_error", "invalid_json", None)
    assert detail in error["message"]
    assert len(await simulator_ledger(client, gateway)) == served


@pytest.mark.parametrize("path", ["/v1/images/generations", "/v1/video/generations"])
async def test_a_lone_surrogate_in_a_media_prompt_is_400_and_reaches_no_provider(client, gateway, caller, path):
    served = len(await simulator_ledger(client, gateway))
    body = b'{"model": "minimax-image-01", "prompt": "\\udfff cat"}'
    error = _refused(*await _raw(client, "POST", f"{gateway.url}{path}", body, caller))
    assert error["code"] == "invalid_json" and "surrogate" in error["message"]
    assert len(await simulator_ledger(client, gateway)) == served


@pytest.mark.parametrize("name", ["max_tokens", "max_completion_tokens"])
async def test_a_token_limit_beyond_int32_is_400_in_openai_words(client, gateway, caller, name):
    served = len(await simulator_ledger(client, gateway))
    body = {"model": "deepseek-v4", "messages": [{"role": "user", "content": "Hello!"}], name: 2 ** 63 - 1}
    error = _refused(*await _raw(client, "POST", f"{gateway.url}/v1/chat/completions", json.dumps(body).encode(),
                                  caller))
    assert (error["param"], error["code"]) == (name, "integer_above_max_value")
    assert error["message"] == (f"Invalid '{name}': integer above maximum value. Expected a value <= 2147483647, "
                                f"but got {2 ** 63 - 1} instead.")
    assert len(await simulator_ledger(client, gateway)) == served


async def test_a_token_limit_of_int32_max_is_accepted(client, gateway, caller):
    body = {"model": "deepseek-v4", "messages": [{"role": "user", "content": "Hello!"}], "max_tokens": 2 ** 31 - 1}
    status, _, text = await _raw(client, "POST", f"{gateway.url}/v1/chat/completions", json.dumps(body).encode(),
                                      caller)
    assert status == 200, text[:500]


async def test_a_header_that_is_not_utf8_on_an_ai_route_is_not_a_5xx(gateway):
    status, text = _socket_request(gateway, b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                                            b"Authorization: Bearer \xff\xfe\r\nContent-Length: 2\r\n"
                                            b"Connection: close\r\n\r\n{}")
    assert status == 401, text
    assert is_openai_error(json.loads(text.split("\r\n\r\n", 1)[1])) and not leaks(text)


# --- the control plane: one reader for every JSON body --------------------------------------------

async def test_a_lone_surrogate_in_a_key_name_is_400_and_creates_no_key(client, gateway, db):
    account = await new_account(client, gateway.url)
    headers = {**account.bearer, "Content-Type": "application/json"}
    error = _refused(*await _raw(client, "POST", f"{gateway.url}/v1/keys", b'{"name": "k\\ud800"}', headers))
    assert error["code"] == "invalid_json" and "surrogate" in error["message"]
    async with db.connect() as conn:
        count = (await conn.execute(sa.select(sa.func.count()).select_from(api_keys)
                                    .where(api_keys.c.account_id == account.id))).scalar_one()
    assert count == 0


async def test_a_lone_surrogate_in_a_telemetry_property_is_400_and_stores_nothing(client, gateway, db):
    name = f"test.surrogate_{uuid.uuid4().hex[:12]}"
    body = json.dumps({"name": name, "timestamp": int(time.time()), "properties": {"k": "\ud800"}}).encode()
    error = _refused(*await _raw(client, "POST", f"{gateway.url}/v1/telemetry/event", body))
    assert error["code"] == "invalid_json"
    async with db.connect() as conn:
        assert (await conn.execute(sa.select(telemetry_events).where(telemetry_events.c.name == name))).all() == []


@pytest.mark.parametrize("path", ["/v1/auth/signup", "/v1/auth/login"])
async def test_a_surrogate_in_utf8_form_in_a_password_is_400(client, gateway, path):
    body = b'{"email": "surrogate@example.com", "password": "correct horse \xed\xa0\x80"}'
    error = _refused(*await _raw(client, "POST", f"{gateway.url}{path}", body, {"Content-Type": "application/json"}))
    assert error["code"] == "invalid_json"


@pytest.mark.parametrize(("name", "body"), [
    ("deep nesting", b'{"name": ' + DEEP + b"}"),
    ("a 5,000-digit integer", b'{"name": ' + b"1" * 5000 + b"}"),
    ("NaN", b'{"name": NaN}'),
])
async def test_unreadable_json_on_a_management_route_is_400(client, gateway, name, body):
    account = await new_account(client, gateway.url)
    error = _refused(*await _raw(client, "POST", f"{gateway.url}/v1/keys", body,
                                 {**account.bearer, "Content-Type": "application/json"}))
    assert error["code"] == "invalid_json"


# --- NUL: PostgreSQL stores no text holding it ---------------------------------------------------

@pytest.mark.parametrize(("path", "code"), [
    ("/v1/plugins?tag=%00", "invalid_url"), ("/v1/plugins?q=a%00b", "invalid_url"),
    ("/v1/updates/check?current=%00", "invalid_url"),
    ("/v1/plugins/x%00y", "bad_request"),  # Envoy refuses it in the path itself
])
async def test_a_nul_in_the_url_is_400(client, gateway, path, code):
    error = _refused(*await _raw(client, "GET", f"{gateway.url}{path}"))
    assert error["code"] == code


async def test_a_nul_in_a_key_name_is_400_and_creates_no_key(client, gateway, db):
    account = await new_account(client, gateway.url)
    error = _refused(*await _raw(client, "POST", f"{gateway.url}/v1/keys", b'{"name": "a\\u0000b"}',
                                 {**account.bearer, "Content-Type": "application/json"}))
    assert error["code"] == "invalid_json" and "NUL" in error["message"]
    async with db.connect() as conn:
        assert (await conn.execute(sa.select(api_keys.c.id).where(api_keys.c.account_id == account.id))).all() == []


async def test_a_nul_in_a_chat_message_goes_to_the_provider(client, gateway, caller):
    body = b'{"model": "deepseek-v4", "messages": [{"role": "user", "content": "a\\u0000b"}]}'
    status, answer, text = await _raw(client, "POST", f"{gateway.url}/v1/chat/completions", body, caller)
    assert status == 200 and answer["object"] == "chat.completion", text[:500]


# --- Content-Encoding: bodies are taken as sent, never inflated ------------------------------------

@pytest.mark.parametrize("encoding", ["gzip", "br", "deflate"])
async def test_a_chat_body_that_claims_an_encoding_it_does_not_have_is_served_plainly(client, gateway, caller,
                                                                                      encoding):
    body = b'{"model": "deepseek-v4", "messages": [{"role": "user", "content": "Hello!"}]}'
    status, answer, text = await _raw(client, "POST", f"{gateway.url}/v1/chat/completions", body,
                                      {**caller, "Content-Encoding": encoding})
    assert status == 200 and answer["object"] == "chat.completion", text[:500]


async def test_a_compressed_chat_body_is_400_and_reaches_no_provider(client, gateway, caller):
    served = len(await simulator_ledger(client, gateway))
    body = gzip.compress(b'{"model": "deepseek-v4", "messages": [{"role": "user", "content": "Hello!"}]}')
    error = _refused(*await _raw(client, "POST", f"{gateway.url}/v1/chat/completions", body,
                                 {**caller, "Content-Encoding": "gzip"}))
    assert error["code"] == "invalid_json"
    assert len(await simulator_ledger(client, gateway)) == served


@pytest.mark.parametrize(("encoding", "body"), [("gzip", gzip.compress(b'{"name": "k"}')), ("br", b'{"name": "k"}'),
                                                ("deflate", b"not deflate at all")])
async def test_an_encoded_body_on_a_management_route_is_415(client, gateway, encoding, body):
    account = await new_account(client, gateway.url)
    error = _refused(*await _raw(client, "POST", f"{gateway.url}/v1/keys", body,
                                 {**account.bearer, "Content-Encoding": encoding}), 415)
    assert error["code"] == "unsupported_content_encoding"


async def test_a_content_encoding_on_a_request_without_body_changes_nothing(client, gateway):
    status, body, text = await _raw(client, "GET", f"{gateway.url}/v1/updates", headers={"Content-Encoding": "br"})
    assert status == 200 and isinstance(body, dict), text[:300]


async def test_an_overlong_dashboard_asset_name_is_404(client, gateway):
    error = _refused(*await _raw(client, "GET", f"{gateway.url}/app/assets/v1/{'a' * 3000}.js"), 404)
    assert error["code"] == "unknown_url"


# --- URLs and headers longer than aiohttp's defaults ---------------------------------------------

@pytest.mark.parametrize("path", ["/v1/models", "/v1/plugins", "/v1/usage"])
async def test_a_url_over_8_kb_is_answered_as_json(client, gateway, path):
    account = await new_account(client, gateway.url)
    url = f"{gateway.url}{path}?padding={'a' * 20_000}"
    status, body, text = await _raw(client, "GET", url, headers=account.bearer)
    assert status == 200, text[:300]
    assert isinstance(body, dict) and not leaks(text)


async def test_a_header_over_8_kb_is_answered_as_json(client, gateway):
    status, body, text = await _raw(client, "GET", f"{gateway.url}/v1/updates", headers={"X-Note": "n" * 20_000})
    assert status == 200 and isinstance(body, dict), text[:300]


def test_headers_beyond_envoys_limit_are_refused_without_a_5xx(gateway):
    """Over max_request_headers_kb (60 KiB) Envoy gives up on the connection; whatever it answers
    is no 5xx and carries no internals."""
    status, text = _socket_request(gateway, b"GET /v1/models?q=" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n"
                                            b"Connection: close\r\n\r\n")
    assert status is None or 400 <= status < 500, text
    assert not leaks(text)


def _socket_request(gateway, request: bytes) -> tuple[int | None, str]:
    """Send raw bytes (what HTTP client libraries refuse to send); the status and text of the answer,
    (None, "") if the gateway closed the connection without one."""
    port = int(gateway.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        try:
            sock.sendall(request)  # no half-close after it: Envoy would take that for the client leaving
        except OSError:
            pass
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except OSError:
            pass
    text = b"".join(chunks).decode(errors="replace")
    return (int(text.split(" ", 2)[1]) if text.startswith("HTTP/") else None), text


# --- Stripe's webhook: signed is not the same as well-formed -------------------------------------

async def _signed(client, gateway, payload: str):
    secret = gateway.secrets["STRIPE_WEBHOOK_SECRET"]
    headers = {"Content-Type": "application/json", "Stripe-Signature": signature_header(payload, secret)}
    return await _raw(client, "POST", f"{gateway.url}/v1/billing/webhook", payload.encode(), headers)


@pytest.mark.parametrize("payload", ["[]", '"event"', "null", "{}", '{"id": 1, "type": "x"}', '{"id": "evt_x"}',
                                     '{"id": "evt_1", "type": NaN}'])
async def test_a_signed_stripe_payload_that_is_no_event_is_400(client, gateway, payload):
    error = _refused(*await _signed(client, gateway, payload))
    assert error["code"] == "invalid_event"


@pytest.mark.parametrize("data", [[], "x", {"object": []}, {"object": {"metadata": [], "customer": 5}},
                                  {"object": {"client_reference_id": {"a": 1}, "metadata": {"tier": ["pro"]},
                                              "mode": "subscription", "payment_status": "paid"}},
                                  {"object": {"id": ["sub"], "status": {}, "items": {"data": "x"}}}])
@pytest.mark.parametrize("event_type", ["checkout.session.completed", "customer.subscription.updated",
                                        "customer.subscription.deleted", "invoice.payment_failed"])
async def test_a_signed_stripe_event_of_the_wrong_shape_is_recorded_and_ignored(client, gateway, db, event_type,
                                                                                data):
    event_id = f"evt_test_{uuid.uuid4().hex}"
    status, body, text = await _signed(client, gateway, json.dumps({"id": event_id, "type": event_type,
                                                                    "data": data}))
    assert (status, body) == (200, {"received": True, "result": "ignored"}), text[:500]
    async with db.connect() as conn:
        assert (await conn.execute(sa.select(stripe_events.c.id).where(stripe_events.c.id == event_id))).first()
