"""UsageEvent: what the sidecar reports for each metered request, and the ledger stores.

The queue between them (a Redis Stream, or the database directly when embedded) carries these as
JSON; `request_id` makes landing in the ledger idempotent.
"""
import json
from dataclasses import dataclass, fields


@dataclass(frozen=True)
class UsageEvent:
    request_id: str
    account_id: str
    key_id: str            # "" for session tokens
    key_source: str        # "pool" or "byok"
    model: str             # the model the client is billed for (the one that served)
    provider: str
    prompt_tokens: int
    completion_tokens: int
    cost_nanos: int        # 1e-9 USD, see schemas.pricing
    status: int            # HTTP status the client got
    latency_ms: int
    streamed: bool
    created_at: float      # unix seconds

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def to_json(self) -> str:
        return json.dumps(vars(self), separators=(",", ":"))  # flat fields: no need for asdict's deep copy

    @classmethod
    def from_json(cls, raw: str | bytes) -> "UsageEvent":
        data = json.loads(raw)
        return cls(**{f.name: data[f.name] for f in fields(cls)})
