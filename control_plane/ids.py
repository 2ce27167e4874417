"""Resource ids: a type prefix and 128 random bits, readable in logs and URLs."""
import uuid


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"
