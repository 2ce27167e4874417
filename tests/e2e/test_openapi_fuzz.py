"""The OpenAPI document, served through Envoy and fuzzed against the gateway with schemathesis.

Every operation of schemas/openapi.yaml gets generated requests (valid and invalid ones, a bounded
number each) through Envoy, as a signed-up caller: a session token on the management routes, an API
key on the AI routes. Whatever comes back: no 5xx, a status the document lists for that operation,
a declared content type, and a body (and headers) matching the document's schema for that status;
and a request the document calls invalid is refused.

Each operation's requests come from a loopback address of their own, so the per-address limits of
the public routes neither stop the fuzzing nor spill over into other tests.
"""
import random

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from requests.adapters import HTTPAdapter
from schemathesis.config import SchemathesisConfig

from schemas.openapi import document
from tests.support.accounts import set_spend_cap, set_tier
from tests.support.api import call, create_key, new_account

MAX_EXAMPLES = 20  # per operation, on PostgreSQL + Redis (the backend operators run)
# On the embedded backend the first 10 of the same derandomized inputs: the same requests meet the other
# storage (SQLite, in-process counters), in 3/4 of the time the 20 on both took.
EMBEDDED_EXAMPLES = 10
DEADLINE_MS = 10_000  # per request: argon2 hashing on signup/login is slow on a loaded 2-core box
AI_PREFIXES = ("/v1/chat/", "/v1/images/", "/v1/video/", "/v1/embeddings", "/v1/messages", "/v1/responses")

# A request the document says is invalid must be refused; a rate limit (429) refuses it too.
REFUSALS = ["400", "401", "403", "404", "405", "409", "413", "415", "422", "429"]
schema = schemathesis.openapi.from_dict(document(), config=SchemathesisConfig.from_dict(
    {"checks": {"negative_data_rejection": {"expected-statuses": REFUSALS}}}))
CHECKS = [schemathesis.checks.not_a_server_error, schemathesis.checks.status_code_conformance,
          schemathesis.checks.content_type_conformance, schemathesis.checks.response_schema_conformance,
          schemathesis.checks.response_headers_conformance, schemathesis.checks.negative_data_rejection]


class _FromAddress(HTTPAdapter):
    """Connects from one given local address."""

    def __init__(self, address: str):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


@pytest.fixture(scope="module")
async def caller(gateway) -> dict:
    """An enterprise account (its limits leave room to fuzz) with a session token and an API key."""
    import aiohttp

    async with aiohttp.ClientSession() as session:
        account = await new_account(session, gateway.url, "openapi-fuzz")
        key = await create_key(session, gateway.url, account, "openapi-fuzz")
    return {"account": account, "key": key["key"]}


@pytest.fixture
async def enterprise(caller, db) -> dict:
    # A fuzzed checkout may have changed the tier, a fuzzed spend cap stopped the AI routes: every
    # operation starts on enterprise, with no cap, again.
    await set_tier(db, caller["account"].id, "enterprise")
    await set_spend_cap(db, caller["account"].id, None)
    return caller


@pytest.fixture
def http():
    session = requests.Session()
    adapter = _FromAddress(f"127.{random.randint(1, 254)}.{random.randint(0, 255)}.{random.randint(1, 254)}")
    session.mount("http://", adapter)
    yield session
    session.close()


def _as_caller(case, caller: dict) -> dict:
    """The caller's credentials for the case: schemathesis generates values for the documented
    security headers too, and an invalid X-API-Key would shadow the session token."""
    case.headers = {name: value for name, value in (case.headers or {}).items()
                    if name.lower() not in ("authorization", "x-api-key")}
    if case.operation.path.startswith(AI_PREFIXES):
        return {"X-API-Key": caller["key"]}
    return caller["account"].bearer


async def test_the_document_is_served_to_anyone_through_envoy(gateway, client):
    status, body, headers = await call(client, "GET", f"{gateway.url}/v1/openapi.json")
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    assert body == document()


# Found by the fuzzing below: the control plane checked the signed identity against the decoded path.
@pytest.mark.parametrize("path", ["/v1/keys/key_%C3%A9", "/v1/webhooks/wh%21", "/v1/provider-keys/a%20b"])
async def test_an_id_with_percent_escapes_is_looked_up_not_refused_as_a_forged_identity(gateway, client, caller,
                                                                                       path):
    status, body, _ = await call(client, "DELETE", f"{gateway.url}{path}", headers=caller["account"].bearer)
    assert status == 404, body


FUZZING = settings(deadline=DEADLINE_MS, derandomize=True, database=None, phases=[Phase.explicit, Phase.generate],
                   suppress_health_check=list(HealthCheck))


def _call_and_validate(case, gateway, caller: dict, http) -> None:
    case.call_and_validate(base_url=gateway.url, session=http, headers=_as_caller(case, caller),
                           checks=CHECKS, timeout=30)


@schema.parametrize()
@settings(FUZZING, max_examples=MAX_EXAMPLES)
@pytest.mark.redis_only
def test_every_operation_answers_as_documented_without_5xx(case, gateway, enterprise, http):
    _call_and_validate(case, gateway, enterprise, http)


@schema.parametrize()
@settings(FUZZING, max_examples=EMBEDDED_EXAMPLES)
@pytest.mark.embedded_only
def test_every_operation_answers_as_documented_without_5xx_on_the_embedded_backend(case, gateway, enterprise, http):
    _call_and_validate(case, gateway, enterprise, http)
