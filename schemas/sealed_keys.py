"""Accounts' own provider keys (BYOK), sealed with AES-GCM for storage.

The control plane seals a key when an account stores it; the sidecar opens it to call the provider.
A key must be usable, so it is encrypted rather than hashed. Every seal takes a fresh random 96-bit
nonce, and the associated data names the account and the provider the key belongs to: a ciphertext
copied onto another account's or provider's row does not open. The 256-bit key is CLEW_BYOK_KEY
(base64); losing it makes the stored keys unreadable (accounts must store them again).
"""
import base64
import binascii
import json
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_ENV = "CLEW_BYOK_KEY"
KEY_BYTES = 32
NONCE_BYTES = 12
_PURPOSE = "clew provider key v1"


class SealBroken(Exception):
    """The ciphertext does not open: another key, another row's data, or tampered bytes."""


@dataclass(frozen=True)
class Sealed:
    nonce: bytes
    ciphertext: bytes  # the encrypted key followed by GCM's 16-byte tag

    def __repr__(self) -> str:  # never worth printing, even encrypted
        return "Sealed(...)"


def _associated(account_id: str, provider: str) -> bytes:
    # JSON keeps the parts unambiguous: ("a", "bc") and ("ab", "c") differ.
    return json.dumps([_PURPOSE, account_id, provider]).encode()


class KeySealer:
    """Seals and opens provider keys; the encryption key never leaves this object."""

    def __init__(self, key: bytes):
        if len(key) != KEY_BYTES:
            raise ValueError(f"{KEY_ENV} must be {KEY_BYTES} bytes, base64-encoded (got {len(key)} bytes)")
        self._aead = AESGCM(key)

    @classmethod
    def from_base64(cls, text: str) -> "KeySealer":
        try:
            key = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(f"{KEY_ENV} is not valid base64") from None
        return cls(key)

    def __repr__(self) -> str:
        return "KeySealer(...)"

    def seal(self, key: str, account_id: str, provider: str) -> Sealed:
        nonce = os.urandom(NONCE_BYTES)
        return Sealed(nonce, self._aead.encrypt(nonce, key.encode(), _associated(account_id, provider)))

    def open(self, sealed: Sealed, account_id: str, provider: str) -> str:
        try:
            plain = self._aead.decrypt(sealed.nonce, sealed.ciphertext, _associated(account_id, provider))
        except (InvalidTag, ValueError):
            raise SealBroken(f"the stored key of {account_id} for {provider} does not open") from None
        return plain.decode()


def sealer_from(encoded_key: str) -> KeySealer | None:
    """The sealer for CLEW_BYOK_KEY, or None when it is unset (BYOK off); ValueError when malformed."""
    return KeySealer.from_base64(encoded_key) if encoded_key else None


def new_encoded_key() -> str:
    """A fresh CLEW_BYOK_KEY value."""
    return base64.b64encode(os.urandom(KEY_BYTES)).decode()
