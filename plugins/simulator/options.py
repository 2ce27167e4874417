"""Process-wide defaults and the per-request `x-sim-*` header overrides."""
from dataclasses import dataclass

from plugins.simulator.errors import invalid

# Upper bounds keep a typo in a header from tying the simulator up for hours or eating memory.
MAX_MS = 600_000
MAX_CHUNKS = 10_000
MAX_TOKENS = 1_000_000


@dataclass(frozen=True, slots=True)
class SimDefaults:
    latency_ms: int = 0
    chunks: int = 20
    chunk_interval_ms: int = 0
    video_polls: int = 2  # status queries a video task answers before it is done (x-sim-video-polls)


@dataclass(frozen=True, slots=True)
class SimOptions:
    latency_ms: int
    chunks: int
    chunk_interval_ms: int
    prompt_tokens: int | None
    completion_tokens: int | None
    status: int | None
    retry_after: int | None
    disconnect_after: int | None
    reset_after: int | None
    # Send a stream whole, with a Content-Length, as some OpenAI-compatible servers and caches do.
    stream_content_length: bool = False
    cached_tokens: int | None = None  # report this many prompt tokens as cached (x-sim-cached-tokens)
    tool_call: bool = False  # with tool_choice "auto", call the first tool (x-sim-tool-call: 1)


def parse_options(headers, defaults: SimDefaults) -> SimOptions:
    if not any(name.startswith("x-sim-") for name in map(str.lower, headers)):
        return _plain(defaults)  # the benchmark path: no header parsing at all
    status = _header(headers, "x-sim-status", 400, 599)
    retry_after = _header(headers, "x-sim-retry-after", 0, 86_400)
    return SimOptions(
        latency_ms=_header(headers, "x-sim-latency-ms", 0, MAX_MS, defaults.latency_ms),
        chunks=_header(headers, "x-sim-chunks", 1, MAX_CHUNKS, defaults.chunks),
        chunk_interval_ms=_header(headers, "x-sim-chunk-interval-ms", 0, MAX_MS, defaults.chunk_interval_ms),
        prompt_tokens=_header(headers, "x-sim-prompt-tokens", 0, MAX_TOKENS),
        completion_tokens=_header(headers, "x-sim-completion-tokens", 0, MAX_TOKENS),
        status=status,
        retry_after=1 if status == 429 and retry_after is None else retry_after,
        disconnect_after=_header(headers, "x-sim-disconnect-after", 0, MAX_CHUNKS),
        reset_after=_header(headers, "x-sim-reset-after", 0, MAX_CHUNKS),
        stream_content_length=_header(headers, "x-sim-stream-content-length", 0, 1) == 1,
        cached_tokens=_header(headers, "x-sim-cached-tokens", 0, MAX_TOKENS),
        tool_call=_header(headers, "x-sim-tool-call", 0, 1) == 1,
    )


def _plain(defaults: SimDefaults) -> SimOptions:
    return SimOptions(defaults.latency_ms, defaults.chunks, defaults.chunk_interval_ms,
                      None, None, None, None, None, None)


def _header(headers, name: str, low: int, high: int, default: int | None = None) -> int | None:
    raw = headers.get(name)
    if raw is None:
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise invalid(name, f"Header '{name}' must be an integer, got {raw!r}.", "invalid_type") from None
    if not low <= value <= high:
        raise invalid(name, f"Header '{name}' must be between {low} and {high}, got {value}.", "invalid_value")
    return value
