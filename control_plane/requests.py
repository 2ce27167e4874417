"""Reading request bodies into validated fields, failing with a 400 that names the field."""
import re

from aiohttp import web

from control_plane.errors import ApiError
from schemas import strict_json


async def read_json(request: web.Request, exact_numbers: bool = False) -> dict:
    """The body's JSON object; with `exact_numbers`, fractions are Decimals (schemas.strict_json)."""
    # Lenient about Content-Type: the documented curl examples send JSON without one.
    encoding = request.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding not in ("identity", ""):
        raise ApiError(415, f"Content-Encoding '{encoding[:40]}' is not supported: send the JSON body uncompressed",
                       "unsupported_content_encoding")
    raw = await request.read()
    if not raw.strip():
        raise ApiError(400, "Request body must be a JSON object", "invalid_json")
    try:
        # Strict: NaN, lone surrogates, NUL, deep nesting and endless numbers would fail later, as a 500.
        body = strict_json.loads(raw, allow_nul=False, exact_numbers=exact_numbers)
    except strict_json.UnreadableJson as exc:
        raise ApiError(400, f"Request body is not valid JSON: {exc.detail}", "invalid_json") from None
    if not isinstance(body, dict):
        raise ApiError(400, "Request body must be a JSON object", "invalid_json")
    return body


def string_field(body: dict, name: str, *, required: bool = True, max_length: int = 1024,
                 default: str | None = None) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise ApiError(400, f"Missing required parameter: '{name}'", "missing_parameter", name)
        return default
    if not isinstance(value, str):
        raise ApiError(400, f"Invalid type for '{name}': expected a string", "invalid_type", name)
    if len(value) > max_length:
        raise ApiError(400, f"'{name}' is longer than {max_length} characters", "invalid_value", name)
    return value


# NUL (PostgreSQL stores no text with it) and lone surrogates (nothing encodes them) in the decoded
# path or query: refused before any handler passes them to the database.
_UNSTORABLE = re.compile("[\0\ud800-\udfff]")


@web.middleware
async def url_text_middleware(request: web.Request, handler):
    if any(_UNSTORABLE.search(text) for text in (request.path, *request.query.keys(), *request.query.values())):
        raise ApiError(400, "The URL holds a NUL character or an unpaired surrogate", "invalid_url")
    return await handler(request)
