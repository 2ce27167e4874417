"""Signed identity headers: only the holder of the internal secret can produce them."""
from schemas.identity import Identity, sign, verify

SECRET = b"s" * 32
ALICE = Identity("acct_alice", "pro", "api_key", "key_1")


def test_signed_identity_verifies():
    assert verify(sign(ALICE, SECRET, "GET", "/v1/keys", now=1000), SECRET, "GET", "/v1/keys", now=1001) == ALICE


def test_query_string_does_not_change_the_signed_path():
    headers = sign(ALICE, SECRET, "GET", "/v1/usage/daily?days=7", now=1000)
    assert verify(headers, SECRET, "GET", "/v1/usage/daily", now=1000) == ALICE


def test_other_secret_is_refused():
    assert verify(sign(ALICE, SECRET, "GET", "/v1/keys", now=1000), b"t" * 32, "GET", "/v1/keys", now=1000) is None


def test_changed_tier_is_refused():
    headers = {**sign(ALICE, SECRET, "GET", "/v1/keys", now=1000), "x-clew-tier": "enterprise"}
    assert verify(headers, SECRET, "GET", "/v1/keys", now=1000) is None


def test_other_method_is_refused():
    assert verify(sign(ALICE, SECRET, "GET", "/v1/keys", now=1000), SECRET, "DELETE", "/v1/keys", now=1000) is None


def test_stale_signature_is_refused():
    assert verify(sign(ALICE, SECRET, "GET", "/v1/keys", now=1000), SECRET, "GET", "/v1/keys", now=1061) is None


def test_missing_signature_is_refused():
    headers = sign(ALICE, SECRET, "GET", "/v1/keys", now=1000)
    del headers["x-clew-identity-signature"]
    assert verify(headers, SECRET, "GET", "/v1/keys", now=1000) is None


def test_changed_key_scope_is_refused():
    headers = {**sign(ALICE, SECRET, "POST", "/v1/keys", now=1000), "x-clew-key-scope": "management"}
    assert verify(headers, SECRET, "POST", "/v1/keys", now=1000) is None


def test_only_sessions_and_management_keys_may_manage():
    assert Identity("acct_alice", "pro", "session").may_manage
    assert Identity("acct_alice", "pro", "api_key", "key_1", "management").may_manage
    assert not Identity("acct_alice", "pro", "api_key", "key_1", "default").may_manage
    assert not ALICE.may_manage
