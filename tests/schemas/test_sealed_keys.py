"""Sealing accounts' own provider keys: AES-GCM, a fresh nonce each time, bound to account and provider."""
import base64

import pytest

from schemas.sealed_keys import KeySealer, SealBroken, Sealed, new_encoded_key, sealer_from

KEY = "sk-proj-my-own-openai-key-0123456789"


@pytest.fixture
def sealer() -> KeySealer:
    return KeySealer(b"k" * 32)


def test_sealed_key_opens_for_its_account_and_provider(sealer):
    assert sealer.open(sealer.seal(KEY, "acct_a", "openai"), "acct_a", "openai") == KEY


def test_sealed_bytes_do_not_contain_the_key(sealer):
    sealed = sealer.seal(KEY, "acct_a", "openai")
    assert KEY.encode() not in sealed.nonce + sealed.ciphertext and KEY not in repr(sealed)


def test_each_seal_has_a_fresh_96_bit_nonce(sealer):
    first, second = sealer.seal(KEY, "acct_a", "openai"), sealer.seal(KEY, "acct_a", "openai")
    assert len(first.nonce) == 12 and first.nonce != second.nonce and first.ciphertext != second.ciphertext


@pytest.mark.parametrize("account_id,provider", [("acct_b", "openai"), ("acct_a", "groq")])
def test_sealed_key_does_not_open_for_another_account_or_provider(sealer, account_id, provider):
    sealed = sealer.seal(KEY, "acct_a", "openai")
    with pytest.raises(SealBroken):
        sealer.open(sealed, account_id, provider)


def test_sealed_key_does_not_open_under_another_encryption_key(sealer):
    with pytest.raises(SealBroken):
        KeySealer(b"x" * 32).open(sealer.seal(KEY, "acct_a", "openai"), "acct_a", "openai")


def test_tampered_ciphertext_does_not_open(sealer):
    sealed = sealer.seal(KEY, "acct_a", "openai")
    flipped = bytes([sealed.ciphertext[0] ^ 1]) + sealed.ciphertext[1:]
    with pytest.raises(SealBroken):
        sealer.open(Sealed(sealed.nonce, flipped), "acct_a", "openai")


def test_account_and_provider_boundaries_are_unambiguous(sealer):
    with pytest.raises(SealBroken):
        sealer.open(sealer.seal(KEY, "acct_ab", "c"), "acct_a", "bc")


def test_generated_encryption_key_is_32_bytes_of_base64():
    encoded = new_encoded_key()
    assert len(base64.b64decode(encoded, validate=True)) == 32 and encoded != new_encoded_key()
    assert sealer_from(encoded) is not None


@pytest.mark.parametrize("encoded", ["not base64!", base64.b64encode(b"short").decode()])
def test_malformed_encryption_key_is_refused(encoded):
    with pytest.raises(ValueError, match="CLEW_BYOK_KEY"):
        sealer_from(encoded)


def test_no_encryption_key_means_byok_is_off():
    assert sealer_from("") is None


def test_sealer_repr_shows_no_key_material():
    assert repr(KeySealer(b"k" * 32)) == "KeySealer(...)"
