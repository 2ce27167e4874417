"""What an API key and a session token look like, shared by the issuer and the verifier."""
import hashlib

API_KEY_PREFIX = "sk-clew-"
JWT_ALGORITHM = "HS256"
JWT_ISSUER = "clew"


def key_digest(key: str) -> str:
    """SHA-256 of an API key: the only form in which a key is stored or looked up."""
    return hashlib.sha256(key.encode()).hexdigest()


def looks_like_api_key(token: str) -> bool:
    return token.startswith(API_KEY_PREFIX)
