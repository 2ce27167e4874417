"""Nobody can choose who a request is attributed to by sending x-clew-* headers."""
import time

from schemas import identity
from tests.support.api import call, create_key, new_account


async def test_client_sent_identity_headers_do_not_change_attribution(client, base):
    alice, bob = await new_account(client, base, "alice"), await new_account(client, base, "bob")
    forged = {**alice.bearer, identity.ACCOUNT_ID: bob.id, identity.TIER: "enterprise", "X-Clew-Key-Id": "key_x"}
    status, body, _ = await call(client, "GET", f"{base}/v1/auth/me", headers=forged)
    assert status == 200 and body["id"] == alice.id and body["tier"] == "free"


async def test_identity_headers_without_credentials_are_401(client, base):
    bob = await new_account(client, base, "bob")
    status, _, _ = await call(client, "GET", f"{base}/v1/auth/me", headers={identity.ACCOUNT_ID: bob.id})
    assert status == 401


async def test_client_sent_signature_is_stripped_by_envoy(client, gateway):
    bob = await new_account(client, gateway.url, "bob")
    signed = identity.sign(identity.Identity(bob.id, "free", "session"),
                           gateway.secrets["CLEW_INTERNAL_SECRET"].encode(), "GET", "/v1/keys")
    status, _, _ = await call(client, "GET", f"{gateway.url}/v1/keys", headers=signed)
    assert status == 401  # even a valid signature is removed at the front door


async def test_direct_request_with_forged_identity_is_401(client, gateway):
    bob = await new_account(client, gateway.url, "bob")
    status, body, _ = await call(client, "GET", f"{gateway.control_plane_url}/v1/auth/me",
                                 headers={identity.ACCOUNT_ID: bob.id, identity.TIER: "free",
                                          identity.TIMESTAMP: str(int(time.time())), identity.SIGNATURE: "0" * 64})
    assert status == 401 and body["error"]["code"] == "invalid_identity"


async def test_direct_request_with_signature_for_another_path_is_401(client, gateway):
    bob = await new_account(client, gateway.url, "bob")
    signed = identity.sign(identity.Identity(bob.id, "free", "session"),
                           gateway.secrets["CLEW_INTERNAL_SECRET"].encode(), "GET", "/v1/auth/me")
    status, _, _ = await call(client, "GET", f"{gateway.control_plane_url}/v1/keys", headers=signed)
    assert status == 401


async def test_direct_request_with_a_stale_signature_is_401(client, gateway):
    bob = await new_account(client, gateway.url, "bob")
    signed = identity.sign(identity.Identity(bob.id, "free", "session"),
                           gateway.secrets["CLEW_INTERNAL_SECRET"].encode(), "GET", "/v1/auth/me",
                           now=time.time() - 3600)
    status, _, _ = await call(client, "GET", f"{gateway.control_plane_url}/v1/auth/me", headers=signed)
    assert status == 401


async def test_direct_request_with_valid_signature_is_accepted(client, gateway):
    """The control side of the forgery tests: the secret, and only the secret, makes identity count."""
    bob = await new_account(client, gateway.url, "bob")
    signed = identity.sign(identity.Identity(bob.id, "free", "session"),
                           gateway.secrets["CLEW_INTERNAL_SECRET"].encode(), "GET", "/v1/auth/me")
    status, body, _ = await call(client, "GET", f"{gateway.control_plane_url}/v1/auth/me", headers=signed)
    assert status == 200 and body["id"] == bob.id


async def test_api_key_attribution_ignores_forged_key_id(client, base):
    alice = await new_account(client, base, "alice")
    key = await create_key(client, base, alice)
    status, body, _ = await call(client, "GET", f"{base}/v1/auth/me",
                                 headers={"X-API-Key": key["key"], identity.KEY_ID: "key_someone_else"})
    assert status == 200 and body["id"] == alice.id
