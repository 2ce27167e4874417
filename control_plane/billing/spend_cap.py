"""GET and PATCH /v1/billing/spend_cap: the most the account may be charged in a calendar month (UTC).

The cap that applies is the lower of its tier's `monthly_spend_cap_usd` (gateway.yaml) and the
account's own (schemas.spend.effective_cap_nanos), which a session or a management key may set —
never above the tier's (400) — or remove (null). The sidecar enforces it (plugins.spend): a request
that could cost more than what is left of it gets 429 spend_cap_reached. The change reaches the
sidecars through the account change feed, committed with it, which also makes them recount the month
from the ledger; a cap lowered under what was already spent notifies its webhooks at once.
"""
import re
from decimal import Decimal

import sqlalchemy as sa
from aiohttp import web

from control_plane import clock
from control_plane.accounts import store as accounts_store
from control_plane.changes import record_account_change
from control_plane.errors import ApiError
from control_plane.identity import require_identity
from control_plane.requests import read_json
from control_plane.services import services
from control_plane.usage.periods import month_bounds, month_name
from control_plane.webhooks.spend_watch import notify_crossings
from schemas.gateway import tier_spend_cap_nanos
from schemas.pricing import NANOS_PER_USD, format_usd
from schemas.spend import effective_cap_nanos, month_spend
from schemas.tables import accounts

routes = web.RouteTableDef()
FIELD = "monthly_spend_cap_usd"
MAX_CAP_USD = Decimal(10_000_000)  # as a key's budget: far above any real month, far below a BIGINT of nanos
NANO = Decimal("1e-9")
_DECIMAL_TEXT = re.compile(r"[0-9]{1,12}(\.[0-9]{1,30})?")


def _invalid(message: str, code: str = "invalid_value") -> ApiError:
    return ApiError(400, message, code, FIELD)


def _amount(value) -> Decimal:
    if isinstance(value, str) and _DECIMAL_TEXT.fullmatch(value):
        return Decimal(value)
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return Decimal(value)
    if isinstance(value, str):
        raise _invalid(f"'{FIELD}' must be a decimal number of US dollars, like 25 or 12.50")
    raise _invalid(f"Invalid type for '{FIELD}': expected a number of US dollars (or null)", "invalid_type")


def cap_nanos(value, tier_name: str, tier_cap: int | None) -> int | None:
    """The account's own cap in nano-dollars from what the client sent; None removes it."""
    if value is None:
        return None
    amount = _amount(value)
    # Compared before any arithmetic: comparisons are exact whatever the exponent (1e999999).
    if not amount.is_finite() or amount < 0 or amount > MAX_CAP_USD:
        raise _invalid(f"'{FIELD}' must be from 0 to {MAX_CAP_USD:,} US dollars (null: no cap of the account's own)")
    if amount.quantize(NANO) != amount:
        raise _invalid(f"'{FIELD}' has more than 9 decimal places (the ledger counts nano-dollars)")
    nanos = int(amount * NANOS_PER_USD)
    if tier_cap is not None and nanos > tier_cap:
        raise _invalid(f"The {tier_name} tier caps spend at ${format_usd(tier_cap)} a month: '{FIELD}' must be "
                       f"at most {format_usd(tier_cap)} (null: the tier's cap alone)")
    return nanos


def _usd(nanos: int | None) -> str | None:
    return None if nanos is None else format_usd(nanos)


def view(account, tier: dict, spent: int) -> dict:
    own, tier_cap = account.spend_cap_nanos, tier_spend_cap_nanos(tier)
    cap = effective_cap_nanos(tier, own)
    return {"object": "spend_cap", "period": month_name(clock.now()), "tier": account.tier, FIELD: _usd(own),
            "tier_monthly_spend_cap_usd": _usd(tier_cap), "effective_monthly_spend_cap_usd": _usd(cap),
            "spent_usd": format_usd(spent), "remaining_usd": None if cap is None else format_usd(max(cap - spent, 0))}


async def _account(conn, account_id: str):
    account = await accounts_store.find_by_id(conn, account_id)
    if account is None:
        raise ApiError(401, "This account no longer exists", "account_not_found")
    return account


async def _spent(conn, account_id: str) -> int:
    return int((await conn.execute(month_spend(account_id, *month_bounds(clock.now())))).scalar_one())


def _tier(config, name: str) -> dict:
    return config.tiers.get(name) or config.tiers["free"]  # as the sidecar: a removed tier reads as free


@routes.get("/v1/billing/spend_cap")
async def get_spend_cap(request: web.Request) -> web.Response:
    identity = require_identity(request)
    svc = services(request)
    async with svc.engine.connect() as conn:
        account = await _account(conn, identity.account_id)
        spent = await _spent(conn, account.id)
    return web.json_response(view(account, _tier(svc.config, account.tier), spent))


def _new_cap(body: dict, account, tier: dict) -> int | None:
    unknown = [name for name in body if name != FIELD]
    if unknown:
        raise ApiError(400, f"Unknown parameter: '{unknown[0][:64]}'; send {FIELD}", "unknown_parameter",
                       unknown[0][:64])
    if FIELD not in body:
        raise ApiError(400, f"Missing required parameter: '{FIELD}' (null removes the account's own cap)",
                       "missing_parameter", FIELD)
    return cap_nanos(body[FIELD], account.tier, tier_spend_cap_nanos(tier))


@routes.patch("/v1/billing/spend_cap")
async def set_spend_cap(request: web.Request) -> web.Response:
    identity = require_identity(request)  # a session or a management key (control_plane.identity)
    body = await read_json(request, exact_numbers=True)
    svc = services(request)
    async with svc.engine.begin() as conn:
        account = await _account(conn, identity.account_id)
        tier = _tier(svc.config, account.tier)
        cap = _new_cap(body, account, tier)
        await conn.execute(sa.update(accounts).where(accounts.c.id == account.id).values(spend_cap_nanos=cap))
        await record_account_change(conn, account.id)  # sidecars drop the cached account and recount
        account = await _account(conn, account.id)
        await notify_crossings(conn, account, svc.config, clock.now())
        spent = await _spent(conn, account.id)
    return web.json_response(view(account, tier, spent))
