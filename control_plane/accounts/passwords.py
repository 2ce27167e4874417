"""Password hashing with argon2id, off the event loop (each hash costs tens of milliseconds)."""
import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 8
MAX_LENGTH = 1024

_hasher = PasswordHasher()  # argon2id with the library's RFC 9106 low-memory profile
# Verified against when the email is unknown, so both failures take the same time.
_dummy_hash = _hasher.hash("clew-dummy-password")


def configure(cost: dict) -> None:
    """Hash new passwords at gateway.yaml's auth.password_hash cost ({}: the library's profile).
    Hashes made at another cost still verify: argon2 keeps the parameters in the hash."""
    global _hasher, _dummy_hash
    _hasher = PasswordHasher(**{name: value for name, value in (
        ("memory_cost", cost.get("memory_kib")), ("time_cost", cost.get("time_cost")),
        ("parallelism", cost.get("parallelism"))) if value is not None})
    _dummy_hash = _hasher.hash("clew-dummy-password")


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _dummy_hash, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


async def verify_password(password_hash: str | None, password: str) -> bool:
    return await asyncio.to_thread(_verify, password_hash, password)
