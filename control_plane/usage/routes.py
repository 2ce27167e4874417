"""GET /v1/usage (this month, by provider and model, with the quota; `?key_id=` for one key's) and
GET /v1/usage/daily."""
from datetime import datetime, timedelta

from aiohttp import web

from control_plane import clock
from control_plane.accounts import store
from control_plane.errors import ApiError
from control_plane.identity import require_identity
from control_plane.keys import store as keys_store
from control_plane.services import services
from control_plane.usage import report
from control_plane.usage.periods import DAY
from control_plane.usage.summary import month_report

routes = web.RouteTableDef()
DEFAULT_DAYS, MAX_DAYS = 30, 365
MAX_ID_LENGTH = 40  # api_keys.id's column


def _days(request: web.Request) -> int:
    raw = request.query.get("days", str(DEFAULT_DAYS))
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 3 and 1 <= int(raw) <= MAX_DAYS):
        raise ApiError(400, f"'days' must be a whole number from 1 to {MAX_DAYS}", "invalid_value", "days")
    return int(raw)


def _day_range(days: int) -> list[datetime]:
    """The starts of the last `days` UTC days, today last."""
    today = clock.now().replace(hour=0, minute=0, second=0, microsecond=0)
    return [today - timedelta(days=back) for back in range(days - 1, -1, -1)]


async def _key_filter(conn, request: web.Request, account_id: str) -> str | None:
    """`?key_id=`: one of the account's keys (revoked ones too: their usage stays theirs), else a 404."""
    key_id = request.query.get("key_id")
    if key_id is None:
        return None
    if len(key_id) > MAX_ID_LENGTH or not await keys_store.owned_key_exists(conn, account_id, key_id):
        raise ApiError(404, f"No API key with id '{key_id[:MAX_ID_LENGTH]}'", "key_not_found", "key_id")
    return key_id


@routes.get("/v1/usage")
async def usage(request: web.Request) -> web.Response:
    identity = require_identity(request)
    svc = services(request)
    async with svc.engine.connect() as conn:
        account = await store.find_by_id(conn, identity.account_id)
        if account is None:
            raise ApiError(401, "This account no longer exists", "account_not_found")
        tier = svc.config.tiers.get(account.tier) or svc.config.tiers["free"]
        key_id = await _key_filter(conn, request, account.id)
        body = await month_report(conn, account.id, account.tier, tier["monthly_tokens"], key_id)
    return web.json_response(body)


def _day_entry(day: datetime, models: dict[str, report.Totals]) -> dict:
    """One day's totals, and the same per model (sorted by name) for a chart that stacks them."""
    totals = report.Totals()
    for group in models.values():
        totals.add(group)
    return {"date": day.date().isoformat(), **totals.view(),
            "by_model": [{"model": name, **models[name].view()} for name in sorted(models)]}


@routes.get("/v1/usage/daily")
async def daily(request: web.Request) -> web.Response:
    identity = require_identity(request)
    days = _day_range(_days(request))
    async with services(request).engine.connect() as conn:
        found = await report.by_period_and_model(conn, identity.account_id, days[0], days[-1] + timedelta(days=1), DAY)
    data = [_day_entry(day, found.get(day.date().isoformat(), {})) for day in days]
    return web.json_response({"object": "list", "days": len(days), "data": data})
