"""GET/POST /v1/webhooks and DELETE /v1/webhooks/:id through Envoy, on the shared gateway, whose
config refuses private targets (allow_private_targets: false). Deliveries: test_webhook_delivery.py.

Targets here are a public address literal: no DNS is needed, and no event is ever emitted for
these accounts' webhooks (no keys are created after them), so nothing is sent there.
"""
import pytest
import sqlalchemy as sa
import yaml

from control_plane.webhooks.events import EVENT_TYPES
from schemas.tables import webhooks
from tests.support.api import call, new_account

PUBLIC = "https://93.184.215.14/clew-hooks"


async def _create(client, base: str, account, **body) -> tuple[int, dict]:
    status, reply, _ = await call(client, "POST", f"{base}/v1/webhooks", headers=account.bearer,
                                  json={"url": PUBLIC, "events": ["key.created"], **body})
    return status, reply


async def _list(client, base: str, account) -> list[dict]:
    status, body, _ = await call(client, "GET", f"{base}/v1/webhooks", headers=account.bearer)
    assert status == 200 and body["object"] == "list"
    return body["data"]


async def test_create_returns_the_signing_secret_once(client, base):
    account = await new_account(client, base)
    status, created = await _create(client, base, account, events=list(EVENT_TYPES), description="CI")
    assert status == 201 and created["secret"].startswith("whsec_")
    assert created["events"] == list(EVENT_TYPES) and created["url"] == PUBLIC and created["description"] == "CI"
    assert created["secret_masked"] == f"whsec_...{created['secret'][-4:]}"
    [listed] = await _list(client, base, account)
    assert "secret" not in listed and created["secret"] not in str(listed)
    assert listed == {k: v for k, v in created.items() if k != "secret"}


async def test_the_secret_is_stored_encrypted_not_in_plain_text(client, base, db):
    account = await new_account(client, base)
    _, created = await _create(client, base, account)
    async with db.connect() as conn:
        row = (await conn.execute(sa.select(webhooks).where(webhooks.c.id == created["id"]))).one()
    assert created["secret"] not in repr(tuple(row)) and created["secret"][len("whsec_"):] not in repr(tuple(row))


async def test_repeated_event_types_are_kept_once(client, base):
    account = await new_account(client, base)
    status, created = await _create(client, base, account, events=["key.revoked", "key.created", "key.revoked"])
    assert status == 201 and created["events"] == ["key.revoked", "key.created"]


async def test_accounts_see_only_their_own_webhooks(client, base):
    alice, bob = await new_account(client, base, "alice"), await new_account(client, base, "bob")
    _, mine = await _create(client, base, alice)
    await _create(client, base, bob)
    assert [w["id"] for w in await _list(client, base, alice)] == [mine["id"]]


async def test_deleting_another_accounts_webhook_is_404_and_leaves_it(client, base):
    alice, mallory = await new_account(client, base, "alice"), await new_account(client, base, "mallory")
    _, hook = await _create(client, base, alice)
    status, body, _ = await call(client, "DELETE", f"{base}/v1/webhooks/{hook['id']}", headers=mallory.bearer)
    assert status == 404 and body["error"]["code"] == "webhook_not_found"
    assert [w["id"] for w in await _list(client, base, alice)] == [hook["id"]]


async def test_delete_removes_it_from_the_list_and_twice_is_404(client, base):
    account = await new_account(client, base)
    _, hook = await _create(client, base, account)
    status, body, _ = await call(client, "DELETE", f"{base}/v1/webhooks/{hook['id']}", headers=account.bearer)
    assert status == 200 and body == {"id": hook["id"], "object": "webhook", "deleted": True}
    assert await _list(client, base, account) == []
    status, _, _ = await call(client, "DELETE", f"{base}/v1/webhooks/{hook['id']}", headers=account.bearer)
    assert status == 404


async def test_deleting_an_unknown_webhook_is_404(client, base):
    account = await new_account(client, base)
    status, _, _ = await call(client, "DELETE", f"{base}/v1/webhooks/wh_doesnotexist", headers=account.bearer)
    assert status == 404


@pytest.mark.parametrize("method,path", [("GET", "/v1/webhooks"), ("POST", "/v1/webhooks"),
                                         ("DELETE", "/v1/webhooks/wh_1")])
async def test_webhooks_without_credentials_are_401(client, base, method, path):
    status, _, _ = await call(client, method, f"{base}{path}", json={"url": PUBLIC, "events": ["key.created"]})
    assert status == 401


@pytest.mark.parametrize("body,param", [
    ({"events": ["key.created"]}, "url"),
    ({"url": PUBLIC}, "events"),
    ({"url": PUBLIC, "events": []}, "events"),
    ({"url": PUBLIC, "events": "key.created"}, "events"),
    ({"url": PUBLIC, "events": ["key.exploded"]}, "events"),
    ({"url": 5, "events": ["key.created"]}, "url"),
    ({"url": PUBLIC, "events": ["key.created"], "description": "d" * 201}, "description"),
])
async def test_invalid_webhooks_are_400_naming_the_field(client, base, body, param):
    account = await new_account(client, base)
    status, reply, _ = await call(client, "POST", f"{base}/v1/webhooks", headers=account.bearer, json=body)
    assert status == 400 and reply["error"]["param"] == param


@pytest.mark.parametrize("url", [
    "http://93.184.215.14/hook",                # not https
    "https://127.0.0.1/hook",                   # loopback
    "https://localhost:8443/hook",              # a name for loopback
    "https://[::1]/hook",
    "https://10.0.0.8/hook",                    # private
    "https://192.168.1.20/hook",
    "https://172.20.0.3/hook",
    "https://169.254.169.254/latest/meta-data",  # link-local: cloud metadata
    "https://[fe80::1]/hook",
    "https://100.100.100.200/hook",             # shared address space (CGNAT), some clouds' metadata
    "https://0.0.0.0/hook",
    "https://[::ffff:127.0.0.1]/hook",          # IPv4-mapped loopback
    "https://224.0.0.251/hook",                 # multicast
    "https://user:secret@93.184.215.14/hook",   # credentials in the URL
    "https://nonexistent.invalid/hook",         # does not resolve
])
async def test_targets_that_are_not_public_https_are_refused(client, base, db, url):
    account = await new_account(client, base)
    status, reply, _ = await call(client, "POST", f"{base}/v1/webhooks", headers=account.bearer,
                                  json={"url": url, "events": ["key.created"]})
    assert status == 400 and reply["error"]["code"] == "invalid_url" and reply["error"]["param"] == "url"
    async with db.connect() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(webhooks)
                                   .where(webhooks.c.account_id == account.id))).scalar_one() == 0


async def test_an_account_holds_at_most_the_configured_number_of_webhooks(client, base, gateway):
    limit = yaml.safe_load(gateway.config_path.read_text())["webhooks"]["max_per_account"]
    account = await new_account(client, base)
    for _ in range(limit):
        assert (await _create(client, base, account))[0] == 201
    status, reply = await _create(client, base, account)
    assert status == 409 and reply["error"]["code"] == "webhook_limit_reached"
