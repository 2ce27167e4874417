"""The internal secrets of a local install, generated once under CLEW_HOME.

Production sets CLEW_JWT_SECRET, CLEW_INTERNAL_SECRET and CLEW_BYOK_KEY from its secret store
instead; this file only exists so that `make run` works on a fresh machine. Without
STRIPE_SECRET_KEY, `clew up` also keeps the Stripe stand-in's test key and webhook signing secret
here (STRIPE_STANDIN).
"""
import json
import os
import secrets
from pathlib import Path

from schemas.private_files import FILE_MODE, private_directory, tighten
from schemas.sealed_keys import new_encoded_key

NAMES = ("CLEW_JWT_SECRET", "CLEW_INTERNAL_SECRET", "CLEW_BYOK_KEY")
STRIPE_STANDIN = ("STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET")
# Shaped like Stripe's own, so that nobody mistakes one for the other kind.
_PREFIXES = {"STRIPE_SECRET_KEY": "sk_test_standin_", "STRIPE_WEBHOOK_SECRET": "whsec_standin_"}
# Secrets with a format of their own (an AES key: base64 of exactly 32 bytes).
_GENERATORS = {"CLEW_BYOK_KEY": new_encoded_key}


def _generate(name: str) -> str:
    return _GENERATORS[name]() if name in _GENERATORS else _PREFIXES.get(name, "") + secrets.token_urlsafe(48)


def ensure_secrets(home: Path, env: dict, names: tuple[str, ...] = NAMES) -> None:
    """Fill the secrets missing from `env` from home/secrets.json, creating it (mode 0600) if needed."""
    if all(env.get(name) for name in names):
        return
    path = home / "secrets.json"
    tighten(path)
    stored = json.loads(path.read_text()) if path.exists() else {}
    if not all(stored.get(name) for name in names):
        stored |= {name: _generate(name) for name in names if not stored.get(name)}
        private_directory(home)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
        with os.fdopen(fd, "w") as out:
            json.dump(stored, out)
    for name in names:
        if not env.get(name):
            env[name] = stored[name]
