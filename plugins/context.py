"""What a plugin sees of a request, what it may ask Envoy to change, and how it says no.

What crosses plugins is typed: `RequestState` names every note one phase leaves for a later one (a
name it does not know is an AttributeError, not a silent new key). The config snapshot the request
started with is pinned on the context (`ctx.runtime`): a reload mid-request changes neither its prices
nor its models.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, fields
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from schemas.identity import Identity

if TYPE_CHECKING:
    from plugins.endpoints import Endpoint
    from plugins.identity_store import Account, KeyRecord
    from plugins.runtime_config import ModelRoute, Runtime
    from plugins.spend import Reservation
    from plugins.translators import Translator
    from plugins.usage_estimate import Counted
    from plugins.video_jobs import VideoJob


@dataclass
class Mutation:
    """Changes for the message being answered; reset before each phase."""
    set_headers: dict[str, str] = field(default_factory=dict)
    remove_headers: list[str] = field(default_factory=list)
    body: bytes | None = None           # replaces the (buffered or streamed) body chunk
    clear_route_cache: bool = False     # re-pick the route after header changes
    stream_response: bool | None = None  # response body: True streamed, False buffered, None not needed


@dataclass(slots=True)
class RequestState:
    """The notes plugins leave for later phases of the same request."""
    # The request, as the endpoint's plugin resolved it (router, fallback, images, video).
    model: ModelRoute | None = None      # the model billed: for a router, the candidate that served
    request: dict | None = None          # the provider's request (chat: what quota estimates from)
    client_request: dict | None = None   # the client's body as its endpoint parsed it, parsed once (fallback)
    stream: bool = False
    client_wants_usage: bool = False     # a stream's usage chunk is the client's only if it asked
    router: str | None = None            # a router's name (clew/free): its attempts pick the provider
    routed: bool = False                 # the fallback plugin took the request: the router leaves it
    # Whose key, and what it costs.
    key_source: str = "pool"             # "pool" | "byok"
    byok_provider: str | None = None     # the provider that got the account's own key
    platform_fee: Fraction = Fraction(0)  # BYOK: the share of the pool price charged
    # Quota.
    units: int | None = None             # images asked for, a video to make: reserved at unit_tokens each
    reserve_tokens: int | None = None    # what to reserve, when the endpoint's plugin estimated it (embeddings)
    units_served: int = 0                # images returned, a video made
    quota_reservation: tuple[str, int] | None = None  # (month, tokens reserved)
    quota_refund: tuple[float, int] | None = None     # (unix time reserved, tokens): a failed video's
    spend_reservation: Reservation | None = None  # money held against a key's budget, the account's cap
    # The response.
    status: int | None = None            # the response's status as it arrived
    final_status: int | None = None      # what the client got when the sidecar answered instead
    rejected: str | None = None          # the Reject reason, when the sidecar answered
    via_upstream: bool = False           # False for Envoy's own replies (never metered)
    upstream_headers: dict[str, str] = field(default_factory=dict)
    response_started: float | None = None
    usage: dict | None = None            # the provider's usage, as it reported it
    cost_nanos: int | None = None        # pool price of work not priced by tokens (images, videos)
    counted: Counted | None = None       # what the request counts (plugins.usage_estimate.counted)
    sse: Any = None                      # the response stream's reader (plugins.sse.UsageStream, ...)
    meter: bool = True                   # False: a plugin bills this work elsewhere (a video is billed once)
    completed: bool = False              # on_complete ran (or is running)
    body_bytes: int = 0                  # response body bytes handed to Envoy (plugins.deliveries compares)
    relayed_before_last: int | None = None  # a stream's completion relayed before a last reply with text in it
    # Endpoint-specific: images and video.
    image_api: str | None = None         # "images" (OpenAI's) or "image" (MiniMax's)
    video_op: str | None = None          # "create", "status" or "content"
    video_job: VideoJob | None = None

    def update(self, **values) -> None:
        """Set several fields at once; an unknown name raises (slots)."""
        for name, value in values.items():
            setattr(self, name, value)

    @classmethod
    def names(cls) -> set[str]:
        return {f.name for f in fields(cls)}


@dataclass
class RequestContext:
    method: str
    path: str
    headers: dict[str, str]  # request headers, lower-case names, as Envoy hands them over
    identity: Identity | None = None
    # The caller's records as the auth plugin found them: the limits of its own (budget, models...).
    account: Account | None = None
    key: KeyRecord | None = None          # None for a session
    upstream_headers: dict[str, str] = field(default_factory=dict)  # ext_authz: added upstream
    response_headers: dict[str, str] = field(default_factory=dict)  # added to the client's response
    mutation: Mutation = field(default_factory=Mutation)
    state: RequestState = field(default_factory=RequestState)
    started: float = field(default_factory=time.monotonic)
    request_id: str = ""
    runtime: Runtime | None = None        # gateway.yaml as it was when the request started
    endpoint: Endpoint | None = None      # the AI endpoint its path named (plugins.endpoints)
    translator: Translator | None = None  # client API <-> the provider's API, once the provider is known

    def begin_phase(self) -> Mutation:
        self.mutation = Mutation()
        return self.mutation


class Reject(Exception):
    """Stop the request with an OpenAI-shaped error; Envoy answers it without going (further) upstream."""

    def __init__(self, status: int, message: str, code: str | None, headers: dict[str, str] | None = None,
                 reason: str | None = None, type_: str | None = None, param: str | None = None):
        super().__init__(message)
        self.status, self.message, self.code, self.type, self.param = status, message, code, type_, param
        self.headers = headers or {}
        self.reason = reason or code or "rejected"  # for metrics: a small fixed set of values


class Answer(Exception):
    """Answer the request from the sidecar with `body` (JSON) and no provider call: what the gateway
    knows itself (count_tokens). Never metered: nothing went upstream."""

    def __init__(self, body: dict, status: int = 200):
        super().__init__("answered by the gateway")
        self.body, self.status = body, status
