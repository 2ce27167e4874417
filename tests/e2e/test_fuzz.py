"""Malformed bodies, headers, query strings and paths, generated, against every route through Envoy.

Every route of the contract and every route the control plane's router knows (so a new route is
covered without touching this file), each called anonymously, with a session token, with an API key
and with forged credentials. Whatever comes back: no 5xx, every error in OpenAI's shape, nothing
internal (tracebacks, exception class names, gRPC, source paths) in any JSON body.

The generator is seeded (CLEW_FUZZ_SEED reproduces a run, CLEW_FUZZ_CASES sizes it) and the run is
bounded in time. Callers come from many loopback addresses, so per-address limits neither stop the
fuzzing nor spill over into other tests.
"""
import asyncio
import json
import os
import random
import re
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from yarl import URL

from control_plane.app import create_app
from schemas.gateway import ConfigFile
from schemas.settings import Settings
from tests.support.accounts import set_tier
from tests.support.api import create_key, new_account
from tests.support.error_shape import is_openai_error, leaks

SEED = int(os.environ.get("CLEW_FUZZ_SEED", "20261203"))
CASES = int(os.environ.get("CLEW_FUZZ_CASES", "3000"))
TIME_BUDGET = 75.0  # seconds of sending; whatever is left unsent then is skipped (and counted)
CONCURRENCY = 8
ADDRESSES = 128

# The public contract (clew-api-docs.txt), transcribed: the AI routes are served by the sidecar,
# not the control plane, so only this list names them.
CONTRACT = Path("/work/shared/seeds/clew-api-docs.txt")
CONTRACT_ROUTES = [
    ("POST", "/v1/auth/signup"), ("POST", "/v1/auth/login"), ("GET", "/v1/auth/me"), ("POST", "/v1/auth/forgot"),
    ("POST", "/v1/auth/reset"), ("GET", "/v1/models"), ("POST", "/v1/chat/completions"),
    ("POST", "/v1/images/generations"), ("POST", "/v1/video/generations"), ("GET", "/v1/keys"), ("POST", "/v1/keys"),
    ("DELETE", "/v1/keys/{id}"), ("GET", "/v1/usage"), ("GET", "/v1/usage/daily"), ("POST", "/v1/billing/checkout"),
    ("GET", "/v1/billing/invoices"), ("POST", "/v1/telemetry/ping"), ("POST", "/v1/telemetry/event"),
    ("POST", "/v1/telemetry/batch"), ("GET", "/v1/telemetry/stats"), ("GET", "/v1/webhooks"),
    ("POST", "/v1/webhooks"), ("DELETE", "/v1/webhooks/{id}"), ("GET", "/v1/plugins"), ("GET", "/v1/plugins/{name}"),
    ("GET", "/v1/updates"), ("GET", "/v1/updates/check"),
]
HELLO = [{"role": "user", "content": "Hello!"}]
# A well-formed body per route: mutating one part of it reaches the validation behind the parser.
TEMPLATES = {
    "/v1/auth/signup": {"email": "fuzz@example.com", "password": "correct horse battery"},
    "/v1/auth/login": {"email": "fuzz@example.com", "password": "correct horse battery"},
    "/v1/auth/forgot": {"email": "fuzz@example.com"},
    "/v1/auth/reset": {"token": "abc", "password": "correct horse battery"},
    "/v1/chat/completions": {"model": "deepseek-v4", "messages": HELLO, "max_tokens": 5},
    "/v1/images/generations": {"model": "minimax-image-01", "prompt": "a cat"},
    "/v1/video/generations": {"model": "minimax-hailuo-2.3", "prompt": "a cat"},
    "/v1/keys": {"name": "fuzz"},
    "/v1/webhooks": {"url": "https://example.com/hook", "events": ["quota.warning"]},
    "/v1/provider-keys": {"provider": "nobody", "key": "sk-fuzz"},
    "/v1/telemetry/ping": {"instance_id": "123e4567-e89b-12d3-a456-426614174000", "version": "0.3.0", "os": "linux",
                           "arch": "x64"},
    "/v1/telemetry/event": {"name": "cli.fuzz", "timestamp": 1_700_000_000, "properties": {"a": 1}},
    "/v1/telemetry/batch": {"events": [{"name": "cli.fuzz", "timestamp": 1_700_000_000}]},
}

# Vocabulary. Nothing here names a tier (a checkout could change the test account's), a provider
# (a BYOK key would be stored) or looks like the internals the assertions look for.
KEYS = ["model", "messages", "role", "content", "stream", "stream_options", "include_usage", "max_tokens",
        "max_completion_tokens", "n", "prompt", "size", "response_format", "temperature", "top_p", "seed", "name",
        "email", "password", "token", "url", "events", "instance_id", "timestamp", "properties", "version", "os",
        "arch", "scopes", "type", "text", "image_url", "tools", "days", "id", "key", "provider", "user", "x"]
STRINGS = ["", " ", "a", "deepseek-v4", "clew/free", "clew/ocr", "minimax-image-01", "minimax-hailuo-2.3", "user",
           "system", "assistant", "x" * 300, "\u2603", "\u202e", "\u0000", "<script>", "' OR 1=1 --", "%s%n",
           "https://example.com/h", "http://127.0.0.1:1/", "user@example.com", "not-an-email", "1970-01-01T00:00:00Z",
           "2999-01-01T00:00:00Z", "00000000-0000-0000-0000-000000000000", "1024x1024", "url", "b64_json",
           "\U0001F600", "data:image/png;base64,!!!", "quota.warning", "0.1.0"]
RAW_NUMBERS = [b"0", b"-1", b"1", b"2147483648", b"9223372036854775807", b"18446744073709551616", b"1.5", b"-0.0",
               b"1e308", b"1" + b"0" * 100, b"NaN", b"Infinity", b"-Infinity", b"1e999", b"9" * 5000,
               b"-" + b"9" * 4400, b"1E400", b"0.000001", b"01", b"1.", b"+1"]
RAW_STRINGS = [b'"\\ud800"', b'"\\udfff x"', b'"\\ud83d\\ude00"', b'"\\u0000"', b'"\\x"', b'"\\', b'"\xff\xfe"',
               b'"\xed\xa0\x80"', b'"' + b"y" * 200_000 + b'"']
CONTENT_TYPES = ["application/json", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data",
                 "multipart/form-data; boundary=zz", "application/json; charset=utf-16", "application/xml", "*/*",
                 "", "application/json; charset=nonsense", "text/event-stream"]
QUERY_KEYS = ["days", "q", "tag", "current", "limit", "period", "from", "to", "month", "page", "id", "model",
              "stream", "x", "", "a[b]", "%ff"]
QUERY_VALUES = ["", "-1", "0", "30", "1e9", "NaN", "9" * 30, "%zz", "%", "%ff%fe", "%ED%A0%80", "%00", "a" * 5000,
                "%E2%98%83", "[]", "{}", "true", "0.1.0", "v999.999.999", "1.0.0-beta+x", "x;y", "%2F..%2F", "+",
                "%0d%0aX-Injected:%20yes", "1.0.0.0.0", "-0.1.0", "2026-13-45"]
SEGMENTS = ["x", "0", "-1", "%00", "%ff", "%ED%A0%80", "..", "%2e%2e", "a" * 3000, "%E2%98%83", "key_0123456789",
            "x%20y", "*", "$", "%25", "'", "%22", "%2F", "%5C", ";", "wh_0", "nope.json"]
SUFFIXES = ["/", "//", "/x", "/..", "/%2e%2e/keys", ";x", ".json", "%2F", "/%00", "?", "?&&==", "/" + "z" * 2000]
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"]
FORGED = ["Bearer", "Bearer ", "Basic Zm9vOmJhcg==", "Bearer a.b.c", "Bearer " + "x" * 5000,
          "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", "Bearer \u00e9t\u00e9".encode().decode("latin-1"),
          "bearer  clew_sk_" + "0" * 40, "Token x"]


@dataclass
class Case:
    method: str
    url: str
    headers: dict
    body: bytes | None
    caller: str

    def describe(self) -> str:
        body = (self.body or b"")[:120]
        return f"{self.caller} {self.method} {self.url[:160]} headers={str(self.headers)[:200]} body={body!r}"


# --- the routes ----------------------------------------------------------------------------------

def control_plane_routes(gateway) -> list[tuple[str, str]]:
    """Every (method, path) the control plane's aiohttp router serves, built the way it starts."""
    settings = Settings.from_env({**gateway.env, **gateway.secrets})
    app = create_app(settings, ConfigFile(settings.config_path))
    return sorted({(route.method, route.resource.canonical) for route in app.router.routes()
                   if route.method != "HEAD" and route.resource is not None})


def all_routes(gateway) -> list[tuple[str, str]]:
    return sorted(set(CONTRACT_ROUTES) | set(control_plane_routes(gateway)))


@pytest.mark.skipif(not CONTRACT.exists(), reason="the contract lives outside the repository")
def test_the_fuzzed_routes_include_every_route_of_the_contract():
    documented = {re.sub(r":\w+", "{}", path) for path in re.findall(r"(/v1/[\w/:.-]+)", CONTRACT.read_text())}
    transcribed = {re.sub(r"\{\w+\}", "{}", path) for _, path in CONTRACT_ROUTES}
    assert documented <= transcribed


# --- the generator -------------------------------------------------------------------------------

def _json_value(rng: random.Random, depth: int = 0) -> bytes:
    kind = rng.choice(["string", "number", "raw_number", "raw_string", "literal", "array", "object"]
                      if depth < 4 else ["string", "number", "literal", "raw_number"])
    if kind == "string":
        return json.dumps(rng.choice(STRINGS), ensure_ascii=rng.random() < 0.5).encode("utf-8", "surrogatepass")
    if kind == "number":
        return str(rng.choice([0, 1, -1, 5, 2 ** 31 - 1, 2 ** 53, 0.5, -7.25])).encode()
    if kind == "raw_number":
        return rng.choice(RAW_NUMBERS)
    if kind == "raw_string":
        return rng.choice(RAW_STRINGS)
    if kind == "literal":
        return rng.choice([b"true", b"false", b"null", b"True", b"undefined"])
    if kind == "array":
        return b"[" + b",".join(_json_value(rng, depth + 1) for _ in range(rng.randint(0, 3))) + b"]"
    return _json_object(rng, {rng.choice(KEYS): None for _ in range(rng.randint(0, 4))}, depth + 1)


def _json_object(rng: random.Random, fields: dict, depth: int = 0) -> bytes:
    """An object of `fields`: a None value is generated, others are encoded as they are."""
    parts = []
    for key, value in fields.items():
        encoded = _json_value(rng, depth) if value is None else json.dumps(value).encode()
        parts.append(json.dumps(key).encode() + b":" + encoded)
    return b"{" + b",".join(parts) + b"}"


def _mutated_template(rng: random.Random, template: dict) -> bytes:
    fields = dict(template)
    action = rng.choice(["replace", "replace", "drop", "add", "wrap"])
    name = rng.choice(list(fields))
    if action == "replace":
        fields[name] = None
    elif action == "drop":
        del fields[name]
    elif action == "add":
        fields[rng.choice(KEYS)] = None
    else:
        fields[name] = [template[name]] if rng.random() < 0.5 else {"value": template[name]}
    return _json_object(rng, fields)


def _raw_body(rng: random.Random, template: dict | None) -> bytes:
    well_formed = json.dumps(template or {"a": 1}).encode()
    return rng.choice([
        b"", b"null", b"[]", b"{}", b'"text"', b"{", b"}", b"[" * 5000 + b"]" * 5000, b"{" * 3000,
        well_formed[: rng.randint(0, len(well_formed))], well_formed + b"garbage", b"\xef\xbb\xbf" + well_formed,
        well_formed.decode().encode("utf-16"), bytes(rng.randrange(256) for _ in range(rng.randint(1, 300))),
        b'{"a": 1, "a": 2}', well_formed.replace(b"{", b'{"__proto__": {}, ', 1), b"\x00" * 64,
        b"a=1&b=2", b"--zz\r\nContent-Disposition: form-data; name=x\r\n\r\ny\r\n--zz--\r\n",
        json.dumps({"k": "v" * 1_100_000}).encode(),  # over the 1 MiB the control plane buffers
    ])


def _body(rng: random.Random, path: str) -> bytes | None:
    template = TEMPLATES.get(path)
    roll = rng.random()
    if roll < 0.1:
        return None
    if roll < 0.5 and template:
        return _mutated_template(rng, template)
    if roll < 0.75:
        return _json_value(rng)
    return _raw_body(rng, template)


def _path(rng: random.Random, template_path: str) -> str:
    path = re.sub(r"\{[^}]+\}", lambda _: rng.choice(SEGMENTS), template_path)
    if rng.random() < 0.25:
        path += rng.choice(SUFFIXES)
    if rng.random() < 0.05:
        path = path.upper()
    if rng.random() < 0.05:
        path = path.replace("/v1/", rng.choice(["/v1//", "/v1/./", "/v2/../v1/", "/%76%31/"]), 1)
    return path


def _query(rng: random.Random) -> str:
    if rng.random() < 0.4:
        return ""
    pairs = [f"{rng.choice(QUERY_KEYS)}={rng.choice(QUERY_VALUES)}" for _ in range(rng.randint(1, 4))]
    return "?" + "&".join(pairs)


def _headers(rng: random.Random, body: bytes | None) -> dict:
    headers = {}
    if body is not None or rng.random() < 0.2:
        headers["Content-Type"] = rng.choice(CONTENT_TYPES) if rng.random() < 0.4 else "application/json"
    extras = [
        ("Accept", rng.choice(["*/*", "text/event-stream", "application/xml", ""])),
        ("Content-Encoding", rng.choice(["gzip", "br", "deflate", "identity", "x"])),
        ("Accept-Encoding", rng.choice(["gzip", "br;q=0", "*", "nonsense"])),
        ("X-Request-Id", rng.choice(["", "x" * 300, "../../", "%00", "id with spaces"])),
        ("X-Forwarded-For", rng.choice(["1.2.3.4", "not-an-ip", "::1, 10.0.0.1", "x" * 500])),
        ("x-clew-provider", rng.choice(["openai", "clew/free#1", "deepseek"])),
        ("x-clew-account", "acct_someone_else"), ("x-clew-identity", "forged"),
        ("Stripe-Signature", rng.choice(["t=1,v1=00", "garbage", ""])),
        ("Origin", "https://evil.example"), ("Cookie", "session=x; clew=y"), ("Range", "bytes=0-1"),
        ("If-None-Match", '"x"'), ("User-Agent", "u" * rng.randint(0, 4000)),
        ("X-Big", "b" * rng.randint(1, 20_000)), ("Connection", rng.choice(["close", "keep-alive", "upgrade"])),
    ]
    for name, value in rng.sample(extras, rng.randint(0, 3)):
        headers[name] = value
    return headers


def _credentials(rng: random.Random, caller: str, accounts: dict) -> dict:
    if caller == "session":
        return {"Authorization": f"Bearer {accounts['token']}"}
    if caller == "api_key":
        return {"X-API-Key": accounts["key"]} if rng.random() < 0.7 else {"Authorization": f"Bearer {accounts['key']}"}
    if caller == "forged":
        return rng.choice([{"Authorization": rng.choice(FORGED)}, {"X-API-Key": rng.choice(["", "x", "clew_sk_x",
                                                                                          accounts["key"] + "x"])},
                           {"Authorization": f"Bearer {accounts['token']}x"}])
    return {}


def generate(rng: random.Random, routes: list[tuple[str, str]], base: str, accounts: dict) -> list[Case]:
    cases = []
    for i in range(CASES):
        method, path = routes[i % len(routes)]
        if rng.random() < 0.15:
            method = rng.choice(METHODS)
        body = _body(rng, path) if method not in ("GET", "HEAD") or rng.random() < 0.1 else None
        caller = rng.choice(["anonymous", "session", "api_key", "forged"])
        headers = {**_headers(rng, body), **_credentials(rng, caller, accounts)}
        cases.append(Case(method, base + _path(rng, path) + _query(rng), headers, body, caller))
    return cases


# --- sending and judging -------------------------------------------------------------------------

def judge(case: Case, status: int, content_type: str, raw: bytes) -> str | None:
    """What is wrong with this answer, or None."""
    text = raw.decode(errors="replace")
    if status >= 500:
        return f"{status}: {text[:300]}"
    is_json = content_type.startswith("application/json")
    if status >= 400 and case.method != "HEAD":
        try:
            body = json.loads(text)
        except ValueError:
            return f"{status} with a body that is not JSON ({content_type}): {text[:300]}"
        if not is_openai_error(body):
            return f"{status} not in OpenAI's error shape: {text[:300]}"
    if (is_json or status >= 400) and not _is_the_api_document(status, text) and leaks(text):
        return f"{status} shows internals {leaks(text)}: {text[:300]}"
    return None


def _is_the_api_document(status: int, text: str) -> bool:
    """GET /v1/openapi.json names its error schemas (AnthropicError...): documentation, not internals."""
    return status == 200 and text.startswith('{"openapi":')


async def send(session: aiohttp.ClientSession, case: Case) -> tuple[int, str | None]:
    """The status (0 without an answer) and what is wrong with the answer."""
    try:
        async with session.request(case.method, URL(case.url, encoded=True), headers=case.headers, data=case.body,
                                   allow_redirects=False) as response:
            raw = await response.read()
            return response.status, judge(case, response.status, response.headers.get("Content-Type", ""), raw)
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        return 0, f"no answer: {type(exc).__name__}: {exc}"


async def run(cases: list[Case], sessions, rng: random.Random) -> tuple[list[str], Counter]:
    """The failures (described) and the statuses seen (0: no answer, -1: skipped for lack of time)."""
    failures, statuses, started = [], Counter(), time.monotonic()
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(case: Case, session: aiohttp.ClientSession) -> None:
        async with gate:
            if time.monotonic() - started > TIME_BUDGET:
                statuses[-1] += 1
                return
            status, problem = await send(session, case)
            statuses[status] += 1
            if problem:
                failures.append(f"{problem}\n    case: {case.describe()}")

    await asyncio.gather(*(one(case, rng.choice(sessions)) for case in cases))
    return failures, statuses


# --- below HTTP client libraries: bytes on the socket ------------------------------------------------

RAW_CASES = 300
RAW_CONCURRENCY = 32  # most wait out Envoy's delayed close of a connection it refused


def _raw_request(rng: random.Random, routes: list[tuple[str, str]], accounts: dict) -> bytes:
    """A request with one defect only a hand-written one can have."""
    method, path = rng.choice(routes)
    path = re.sub(r"\{[^}]+\}", "x", path).encode()
    credential = rng.choice([b"", f"Authorization: Bearer {accounts['token']}\r\n".encode(),
                             f"X-API-Key: {accounts['key']}\r\n".encode()])
    body = json.dumps(TEMPLATES.get(path.decode(), {"a": 1})).encode()
    line, headers = f"{method} ".encode() + path + b" HTTP/1.1\r\n", b"Host: fuzz\r\n" + credential
    defect = rng.choice([
        lambda: (line, headers + b"X-Obs: caf\xe9 \xff\xfe\r\n", body),
        lambda: (line, headers + b"Authorization: Bearer \xff\xfe\xfd\r\n", body),
        lambda: (line, headers + b"X-API-Key: \x80\x81\r\n", body),
        lambda: (line, headers + b"Bad Header: x\r\n", body),
        lambda: (line, headers + b"X-Ctl: a\x01b\r\n", body),
        lambda: (line.replace(b"\r\n", b"\n"), headers.replace(b"\r\n", b"\n"), body),
        lambda: (line, headers + b"Content-Length: 5\r\nContent-Length: 6\r\n", body),
        lambda: (line, headers + b"Transfer-Encoding: chunked\r\n", b"zz\r\nxx\r\n0\r\n\r\n"),
        lambda: (line, headers + b"Content-Length: -1\r\n", body),
        lambda: (line, headers + b"Content-Length: 99999999999999999999\r\n", body),
        lambda: (line.replace(b"HTTP/1.1", b"HTTP/1.0"), headers, body),
        lambda: (line.replace(b"HTTP/1.1", b"HTTP/9.9"), headers, body),
        lambda: (b"G\xffT " + path + b" HTTP/1.1\r\n", headers, body),
        lambda: (f"{method} http://elsewhere.example".encode() + path + b" HTTP/1.1\r\n", headers, body),
        lambda: (f"{method} ".encode() + path + b"/\xe2\x98\x83\xff HTTP/1.1\r\n", headers, body),
        lambda: (line, headers + b"".join(b"X-%d: v\r\n" % i for i in range(150)), body),
        lambda: (line, headers + b"Expect: 100-continue\r\n", body),
        lambda: (line, headers + b"Upgrade: websocket\r\nConnection: Upgrade\r\n", body),
    ])
    line, headers, body = defect()
    length = b"" if b"Content-Length" in headers or b"chunked" in headers else b"Content-Length: %d\r\n" % len(body)
    return line + headers + length + b"Connection: close\r\n\r\n" + body


async def send_raw(port: int, address: str, request: bytes, statuses: Counter) -> str | None:
    """What is wrong with the answer to raw bytes; closing without one is fine (the codec refused)."""
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", port, local_addr=(address, 0)), 10)
        writer.write(request)
        raw = await asyncio.wait_for(reader.read(), 30)
        writer.close()
    except (OSError, asyncio.TimeoutError) as exc:
        return None if isinstance(exc, ConnectionResetError) else f"no answer: {type(exc).__name__}"
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/") else 0
    statuses[status] += 1
    if not raw:
        return None
    content_type = re.search(rb"(?im)^content-type: *([^\r\n]*)", head)
    if b"transfer-encoding: chunked" in head.lower():
        return None if status < 500 else f"{status} (chunked)"
    case = Case("RAW", "", {}, request, "raw")
    return judge(case, status, (content_type.group(1) if content_type else b"").decode(), body) if status else \
        f"not HTTP: {raw[:100]!r}"


async def test_malformed_bytes_on_the_wire_get_no_5xx_and_only_openai_shaped_errors(gateway, accounts):
    rng = random.Random(SEED)
    routes, port = all_routes(gateway), int(gateway.url.rsplit(":", 1)[1])
    addresses = _loopback_addresses(rng, ADDRESSES)
    gate, failures, statuses = asyncio.Semaphore(RAW_CONCURRENCY), [], Counter()

    async def one(request: bytes) -> None:
        async with gate:
            problem = await send_raw(port, rng.choice(addresses), request, statuses)
            if problem:
                failures.append(f"{problem}\n    request: {request[:300]!r}")

    await asyncio.gather(*(one(_raw_request(rng, routes, accounts)) for _ in range(RAW_CASES)))
    print(f"raw fuzz seed={SEED}: statuses {dict(sorted(statuses.items()))} (0: closed without an answer)")
    assert not failures, f"{len(failures)} of {RAW_CASES} failed (seed {SEED}):\n" + summary(failures)


def _loopback_addresses(rng: random.Random, count: int) -> list[str]:
    return list({f"127.{rng.randint(1, 254)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}" for _ in range(count)})


@pytest.fixture
async def accounts(client, gateway, db) -> dict:
    """A session token and an API key of an enterprise account: 1,000 requests a minute, no quota."""
    account = await new_account(client, gateway.url, "fuzz")
    await set_tier(db, account.id, "enterprise")
    key = await create_key(client, gateway.url, account, "fuzz")
    return {"token": account.token, "key": key["key"]}


async def test_malformed_requests_to_every_route_get_no_5xx_and_only_openai_shaped_errors(gateway, accounts):
    rng = random.Random(SEED)
    routes = all_routes(gateway)
    cases = generate(rng, routes, gateway.url, accounts)
    timeout = aiohttp.ClientTimeout(total=30)
    sessions = [aiohttp.ClientSession(timeout=timeout, auto_decompress=False,
                                      connector=aiohttp.TCPConnector(local_addr=(address, 0)))
                for address in _loopback_addresses(rng, ADDRESSES)]
    try:
        failures, statuses = await run(cases, sessions, rng)
    finally:
        await asyncio.gather(*(session.close() for session in sessions))
    sent = len(cases) - statuses[-1]
    print(f"fuzz seed={SEED}: {sent} cases over {len(routes)} routes, {statuses[-1]} skipped for time; "
          f"statuses {dict(sorted(statuses.items()))}")
    assert sent >= min(len(cases), 1000), f"only {sent} cases in {TIME_BUDGET} s"
    assert not failures, f"{len(failures)} of {sent} cases failed (seed {SEED}):\n" + summary(failures)


def summary(failures: list[str]) -> str:
    """One example of each kind of failure (its first line, digits masked), the most frequent first."""
    kinds: dict[str, list[str]] = {}
    for failure in failures:
        kinds.setdefault(re.sub(r"\d+", "N", failure.split("\n", 1)[0])[:120], []).append(failure)
    ranked = sorted(kinds.values(), key=len, reverse=True)
    return "\n".join(f"[{len(group)}x] {group[0]}" for group in ranked[:25])
