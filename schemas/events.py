"""UsageEvent: what the sidecar reports for each metered request, and the ledger stores.

The queue between them (a Redis Stream, or the database directly when embedded) carries these as
JSON; `request_id` makes landing in the ledger idempotent.
"""
import json
from dataclasses import MISSING, asdict, dataclass, fields
from datetime import UTC, datetime


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
    # Images and videos in tokens of the monthly quota (gateway.yaml quota_tokens_per_image/_video);
    # 0 for chat. Not prices: only the quota counts them.
    unit_tokens: int = 0
    # The endpoint's path ("/v1/chat/completions"), for the activity log; "" from an older sidecar.
    endpoint: str = ""
    # If Envoy's access log shows the answer did not reach the client whole (plugins.deliveries): the
    # response body bytes handed to Envoy, and the completion tokens and cost of what went through
    # then. None from an older sidecar: such a row is never corrected.
    body_bytes: int | None = None
    cut_completion_tokens: int | None = None
    cut_cost_nanos: int | None = None

    @property
    def total_tokens(self) -> int:
        """What the request counts toward the quota (the ledger's total_tokens column)."""
        return self.prompt_tokens + self.completion_tokens + self.unit_tokens

    def ledger_row(self) -> dict:
        """The usage_events row: unit_tokens has no column of its own, it is in total_tokens."""
        row = asdict(self)
        del row["unit_tokens"]
        return {**row, "total_tokens": self.total_tokens, "created_at": datetime.fromtimestamp(self.created_at, UTC)}

    def to_json(self) -> str:
        return json.dumps(vars(self), separators=(",", ":"))  # flat fields: no need for asdict's deep copy

    @classmethod
    def from_json(cls, raw: str | bytes) -> "UsageEvent":
        data = json.loads(raw)
        # A field with a default may be missing from events queued by an older sidecar.
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data or f.default is MISSING})
