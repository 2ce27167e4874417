"""Webhook secrets: encrypted at rest and bound to their webhook; deliveries signed the documented way."""
import hashlib
import hmac

import pytest
from cryptography.exceptions import InvalidTag

from control_plane.webhooks.signing import SecretBox, masked, new_secret, signature_header

INTERNAL = b"i" * 48


def test_a_secret_round_trips_through_encryption_without_appearing_in_it():
    box, secret = SecretBox(INTERNAL), new_secret()
    stored = box.encrypt(secret, "wh_1")
    assert secret not in stored and box.decrypt(stored, "wh_1") == secret


def test_the_same_secret_encrypts_differently_each_time():
    box, secret = SecretBox(INTERNAL), new_secret()
    assert box.encrypt(secret, "wh_1") != box.encrypt(secret, "wh_1")


def test_a_ciphertext_moved_to_another_webhook_does_not_decrypt():
    box = SecretBox(INTERNAL)
    with pytest.raises(InvalidTag):
        box.decrypt(box.encrypt(new_secret(), "wh_1"), "wh_2")


def test_another_key_cannot_decrypt():
    stored = SecretBox(INTERNAL).encrypt(new_secret(), "wh_1")
    with pytest.raises(InvalidTag):
        SecretBox(b"j" * 48).decrypt(stored, "wh_1")


def test_a_dedicated_webhook_key_wins_over_the_internal_secret():
    secret = new_secret()
    stored = SecretBox.from_env(INTERNAL, {"CLEW_WEBHOOK_KEY": "dedicated-key-material"}).encrypt(secret, "wh_1")
    assert SecretBox(b"dedicated-key-material").decrypt(stored, "wh_1") == secret
    with pytest.raises(InvalidTag):
        SecretBox.from_env(INTERNAL, {}).decrypt(stored, "wh_1")


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body():
    body = b'{"id":"evt_1","type":"key.created"}'
    header = signature_header("whsec_abc", body, 1_790_000_000)
    expected = hmac.new(b"whsec_abc", b"1790000000." + body, hashlib.sha256).hexdigest()
    assert header == f"t=1790000000,v1={expected}"


def test_secrets_are_long_random_and_masked_to_their_last_four():
    first, second = new_secret(), new_secret()
    assert first != second and first.startswith("whsec_") and len(first) >= 40
    assert masked(first[-4:]) == f"whsec_...{first[-4:]}"
