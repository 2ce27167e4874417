"""What an API key and a session token look like, shared by the issuer and the verifier."""
import hashlib

API_KEY_PREFIX = "sk-clew-"
JWT_ALGORITHM = "HS256"
JWT_ISSUER = "clew"
# What an API key may do. "default": the AI routes and reading (GET) the account's resources;
# "management": also what changes the account (keys, webhooks, billing, provider keys). Only a
# session may create a management key, so a leaked default key cannot mint itself a successor.
DEFAULT_SCOPE = "default"
MANAGEMENT_SCOPE = "management"
KEY_SCOPES = (DEFAULT_SCOPE, MANAGEMENT_SCOPE)


def key_digest(key: str) -> str:
    """SHA-256 of an API key: the only form in which a key is stored or looked up."""
    return hashlib.sha256(key.encode()).hexdigest()


def looks_like_api_key(token: str) -> bool:
    return token.startswith(API_KEY_PREFIX)
