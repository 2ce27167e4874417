"""What a plugin sees of a request, what it may ask Envoy to change, and how it says no."""
import time
from dataclasses import dataclass, field

from schemas.identity import Identity


@dataclass
class Mutation:
    """Changes for the message being answered; reset before each phase."""
    set_headers: dict[str, str] = field(default_factory=dict)
    remove_headers: list[str] = field(default_factory=list)
    body: bytes | None = None           # replaces the (buffered or streamed) body chunk
    clear_route_cache: bool = False     # re-pick the route after header changes
    stream_response: bool | None = None  # response body: True streamed, False buffered, None not needed


@dataclass
class RequestContext:
    method: str
    path: str
    headers: dict[str, str]  # request headers, lower-case names, as Envoy hands them over
    identity: Identity | None = None
    upstream_headers: dict[str, str] = field(default_factory=dict)  # ext_authz: added upstream
    response_headers: dict[str, str] = field(default_factory=dict)  # added to the client's response
    mutation: Mutation = field(default_factory=Mutation)
    state: dict = field(default_factory=dict)  # per-request notes plugins leave for later phases
    started: float = field(default_factory=time.monotonic)
    request_id: str = ""

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
