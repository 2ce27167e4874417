"""Webhook signing secrets: generated, kept encrypted at rest, and used to sign each delivery.

A secret cannot be stored as a hash like API keys are: every delivery is signed with it. It is
encrypted with AES-GCM under a key derived (HKDF-SHA256) from CLEW_WEBHOOK_KEY, or from the
internal secret when that is unset; the webhook id is the associated data, so a ciphertext copied
onto another webhook's row does not decrypt. Setting CLEW_WEBHOOK_KEY lets the internal secret
rotate without losing the webhooks' secrets.

Receivers check `X-Clew-Signature: t=<unix>,v1=<hex>`, where hex is HMAC-SHA256 keyed with the
secret (its UTF-8 bytes, `whsec_` prefix included) over `"<t>.<raw body>"`.
"""
import base64
import hashlib
import hmac
import os
import secrets

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SECRET_PREFIX = "whsec_"
KEY_ENV = "CLEW_WEBHOOK_KEY"
NONCE_BYTES = 12


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def masked(last4: str) -> str:
    return f"{SECRET_PREFIX}...{last4}"


def signature_header(secret: str, body: bytes, timestamp: int) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


class SecretBox:
    """Encrypts and decrypts webhook secrets; the key never leaves this object."""

    def __init__(self, key_material: bytes):
        if not key_material:
            raise ValueError("webhook secrets need key material (CLEW_WEBHOOK_KEY or CLEW_INTERNAL_SECRET)")
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                   info=b"clew webhook secrets v1").derive(key_material)
        self._aead = AESGCM(key)

    @classmethod
    def from_env(cls, internal_secret: bytes, env=None) -> "SecretBox":
        env = os.environ if env is None else env
        return cls(env.get(KEY_ENV, "").encode() or internal_secret)

    def encrypt(self, secret: str, webhook_id: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, secret.encode(), webhook_id.encode())
        return base64.b64encode(nonce + sealed).decode()

    def decrypt(self, stored: str, webhook_id: str) -> str:
        raw = base64.b64decode(stored)
        return self._aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], webhook_id.encode()).decode()
