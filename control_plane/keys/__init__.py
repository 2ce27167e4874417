"""API keys: created, listed masked, revoked."""
