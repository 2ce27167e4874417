"""A key's own limits as clients send them (POST /v1/keys, PATCH /v1/keys/:id), checked and turned
into api_keys columns. Every refusal is a 400 that names its field; null always means "no limit of the
key's own" (the account's limits still apply).

Money arrives as a JSON number read exactly (control_plane.requests.read_json(exact_numbers=True):
never through a float) or as a decimal string, and is stored in whole nano-dollars.
"""
import re
from datetime import UTC, datetime
from decimal import Decimal

from control_plane import clock
from control_plane.errors import ApiError
from schemas import model_patterns
from schemas.pricing import NANOS_PER_USD, format_usd

FIELDS = ("name", "scope", "allowed_models", "monthly_budget_usd", "requests_per_minute", "expires_at")
LIMITS = FIELDS[2:]
MAX_NAME_LENGTH = 100
MAX_BUDGET_USD = Decimal(10_000_000)  # far above any real monthly budget, far below what a BIGINT of nanos holds
NANO = Decimal("1e-9")
_DECIMAL_TEXT = re.compile(r"[0-9]{1,12}(\.[0-9]{1,30})?")
MAX_TIME_LENGTH = 64


def _invalid(param: str, message: str, code: str = "invalid_value") -> ApiError:
    return ApiError(400, message, code, param)


def check_fields(body: dict) -> None:
    """Unknown fields are refused, not ignored: a misspelt limit must not leave a key unlimited."""
    for name in body:
        if name not in FIELDS:
            raise _invalid(name[:64], f"Unknown parameter: '{name[:64]}'; a key takes {', '.join(FIELDS)}",
                           "unknown_parameter")


def name(value) -> str:
    if not isinstance(value, str):
        raise _invalid("name", "Invalid type for 'name': expected a string", "invalid_type")
    if len(value) > MAX_NAME_LENGTH:
        raise _invalid("name", f"'name' is longer than {MAX_NAME_LENGTH} characters")
    return value.strip() or "default"


def allowed_models(value, config) -> str | None:
    """The stored JSON list. Exact ids must name a model or router that exists (a typo would lock the
    key out of everything); patterns (with `*`) may match models added later."""
    if value is None:
        return None
    try:
        patterns = model_patterns.validate(value)
    except model_patterns.InvalidPatterns as exc:
        raise _invalid("allowed_models", str(exc)) from None
    known = config.models.keys() | config.routers.keys()
    unknown = [p for p in patterns if "*" not in p and p not in known]
    if unknown:
        raise _invalid("allowed_models", f"Unknown model '{unknown[0]}': GET /v1/models lists the models, and "
                                         "routers (clew/free...) are allowed by their name")
    return model_patterns.dump(patterns)


def _decimal(value) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, Decimal, str)):
        raise _invalid("monthly_budget_usd", "Invalid type for 'monthly_budget_usd': expected a number of "
                                             "US dollars (or null)", "invalid_type")
    if isinstance(value, str):
        if not _DECIMAL_TEXT.fullmatch(value):
            raise _invalid("monthly_budget_usd", "'monthly_budget_usd' must be a decimal number of US dollars, "
                                                 "like 25 or 12.50")
        return Decimal(value)
    return Decimal(value)


def monthly_budget_nanos(value) -> int | None:
    if value is None:
        return None
    amount = _decimal(value)
    # Compared before any arithmetic: comparisons are exact whatever the exponent (1e999999).
    if not amount.is_finite() or amount < 0 or amount > MAX_BUDGET_USD:
        raise _invalid("monthly_budget_usd", f"'monthly_budget_usd' must be from 0 to {MAX_BUDGET_USD:,} "
                                             "US dollars (null: no budget of the key's own)")
    exact = amount.quantize(NANO)
    if exact != amount:
        raise _invalid("monthly_budget_usd", "'monthly_budget_usd' has more than 9 decimal places "
                                             "(the ledger counts nano-dollars)")
    return int(exact * NANOS_PER_USD)


def requests_per_minute(value, tier_name: str, tier_limit: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid("requests_per_minute", "Invalid type for 'requests_per_minute': expected a whole number "
                                              "(or null)", "invalid_type")
    if not 1 <= value <= tier_limit:
        raise _invalid("requests_per_minute", f"The {tier_name} tier allows {tier_limit} requests per minute: "
                                              f"'requests_per_minute' must be from 1 to {tier_limit} "
                                              "(null: the tier's limit alone)")
    return value


def expires_at(value, now: datetime) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _invalid("expires_at", "Invalid type for 'expires_at': expected an ISO 8601 time with a zone, "
                                     "like 2026-12-31T23:59:59Z (or null)", "invalid_type")
    try:
        moment = datetime.fromisoformat(value) if len(value) <= MAX_TIME_LENGTH else None
        moment = moment.astimezone(UTC) if moment is not None and moment.tzinfo is not None else None
    except (ValueError, OverflowError):
        moment = None
    if moment is None:
        raise _invalid("expires_at", "'expires_at' must be an ISO 8601 time with a zone, like 2026-12-31T23:59:59Z")
    if moment <= now:
        raise _invalid("expires_at", "'expires_at' is in the past: a key must expire later than now")
    return moment


def columns(body: dict, config, tier_name: str) -> dict:
    """The api_keys columns for the limits `body` names (absent ones are left out: PATCH keeps them)."""
    tier_limit = config.tiers.get(tier_name, config.tiers["free"])["requests_per_minute"]
    parsers = {
        "allowed_models": lambda v: allowed_models(v, config),
        "monthly_budget_usd": monthly_budget_nanos,
        "requests_per_minute": lambda v: requests_per_minute(v, tier_name, tier_limit),
        "expires_at": lambda v: expires_at(v, clock.now()),
    }
    stored = {"monthly_budget_usd": "monthly_budget_nanos"}
    return {stored.get(field, field): parsers[field](body[field]) for field in LIMITS if field in body}


def view(row) -> dict:
    """A key's limits as GET /v1/keys shows them (money as /v1/usage formats it)."""
    budget, expires, models = row["monthly_budget_nanos"], row["expires_at"], model_patterns.load(row["allowed_models"])
    return {"allowed_models": None if models is None else list(models),
            "monthly_budget_usd": None if budget is None else format_usd(budget),
            "requests_per_minute": row["requests_per_minute"],
            "expires_at": None if expires is None else clock.iso(expires)}
