"""GET /v1/requests: the activity log, filtered, newest first, in pages.

Query parameters: limit (1-200, default 50), cursor (a page's next_cursor), key_id, model,
status (a status code, or `error` for every status from 400 up), from and to (ISO 8601, a zone-less
time being UTC, or unix seconds; `from` inclusive, `to` exclusive). A key id that is not one of the
account's own keys matches nothing: the answer is an empty page, never another account's requests.
"""
import re
from datetime import datetime, timedelta

from aiohttp import web
from multidict import MultiMapping

from control_plane import clock
from control_plane.activity.query import EPOCH, Filters, Position, page
from control_plane.errors import ApiError
from control_plane.identity import require_identity
from control_plane.services import services
from schemas.pricing import format_usd

routes = web.RouteTableDef()
DEFAULT_LIMIT, MAX_LIMIT = 50, 200
STATUS = re.compile(r"error|[1-5][0-9]{2}")
UNIX_SECONDS = re.compile(r"[0-9]{1,11}(\.[0-9]{1,6})?")
TEXT_LIMITS = {"key_id": 40, "model": 100}  # the ledger's column widths: nothing longer can match


def _invalid(param: str, message: str, code: str = "invalid_value") -> ApiError:
    return ApiError(400, message, code, param)


def _limit(query: MultiMapping[str]) -> int:
    raw = query.get("limit", str(DEFAULT_LIMIT))
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 3 and 1 <= int(raw) <= MAX_LIMIT):
        raise _invalid("limit", f"'limit' must be a whole number from 1 to {MAX_LIMIT}")
    return int(raw)


def _text(query: MultiMapping[str], name: str) -> str | None:
    value = query.get(name)
    if value is not None and not 0 < len(value) <= TEXT_LIMITS[name]:
        raise _invalid(name, f"'{name}' must be 1 to {TEXT_LIMITS[name]} characters")
    return value


def _parse_moment(raw: str) -> datetime:
    if UNIX_SECONDS.fullmatch(raw):
        seconds, _, fraction = raw.partition(".")
        return EPOCH + timedelta(seconds=int(seconds), microseconds=int(fraction.ljust(6, "0")))
    if len(raw) > 40:
        raise ValueError("too long")
    return clock.as_utc(datetime.fromisoformat(raw))  # a time without a zone is UTC


def _moment(query: MultiMapping[str], name: str) -> datetime | None:
    raw = query.get(name)
    if raw is None:
        return None
    try:
        moment = _parse_moment(raw)
    except (ValueError, OverflowError):
        moment = None
    if moment is None or moment < EPOCH:
        raise _invalid(name, f"'{name}' must be an ISO 8601 time (2026-05-01T12:00:00Z) or unix seconds")
    return moment


def _filters(query: MultiMapping[str]) -> Filters:
    status = query.get("status")
    if status is not None and not STATUS.fullmatch(status):
        raise _invalid("status", "'status' must be an HTTP status code (100-599) or 'error' (400 and above)")
    start, end = _moment(query, "from"), _moment(query, "to")
    if start is not None and end is not None and start >= end:
        raise _invalid("from", "'from' must be earlier than 'to'")
    return Filters(key_id=_text(query, "key_id"), model=_text(query, "model"),
                   status=int(status) if status not in (None, "error") else None, errors=status == "error",
                   start=start, end=end)


def _after(query: MultiMapping[str]) -> Position | None:
    cursor = query.get("cursor")
    if cursor is None:
        return None
    try:
        return Position.decode(cursor)
    except ValueError:
        raise _invalid("cursor", "'cursor' is not a cursor this API handed out: pass a page's next_cursor",
                       "invalid_cursor") from None


def _masked(row) -> str:
    return f"{row.key_prefix}...{row.key_last4}" if row.key_prefix is not None else ""


def request_view(row) -> dict:
    return {"id": row.request_id, "object": "request", "created_at": clock.iso(row.created_at),
            "endpoint": row.endpoint, "model": row.model, "provider": row.provider,
            "key_id": row.key_id, "key": _masked(row), "key_source": row.key_source,
            "prompt_tokens": row.prompt_tokens, "completion_tokens": row.completion_tokens,
            "total_tokens": row.total_tokens, "cost_usd": format_usd(row.cost_nanos), "status": row.status,
            "latency_ms": row.latency_ms, "streamed": row.streamed}


@routes.get("/v1/requests")
async def list_requests(request: web.Request) -> web.Response:
    identity = require_identity(request)
    query = request.query
    limit, filters, after = _limit(query), _filters(query), _after(query)
    async with services(request).engine.connect() as conn:
        rows, next_cursor = await page(conn, identity.account_id, filters, after, limit)
    return web.json_response({"object": "list", "data": [request_view(row) for row in rows],
                              "has_more": next_cursor is not None, "next_cursor": next_cursor})
