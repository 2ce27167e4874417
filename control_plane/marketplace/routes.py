"""GET /v1/plugins (?tag=, ?q=, ?limit=, ?after=) and GET /v1/plugins/{name}: public.

Lists are ordered by name and paginated with a cursor: `after` is the last name of the previous
page, `has_more` says whether another page follows (OpenAI's list shape).
"""
import sqlalchemy as sa
from aiohttp import web

from control_plane import clock
from control_plane.errors import ApiError
from control_plane.services import services
from schemas.tables import marketplace_plugin_tags as tags
from schemas.tables import marketplace_plugins as plugins

routes = web.RouteTableDef()
DEFAULT_LIMIT, MAX_LIMIT = 20, 100
MAX_QUERY = 100


def summary_view(row, tag_list: list[str]) -> dict:
    return {"name": row.name, "object": "plugin", "description": row.description, "author": row.author,
            "tags": tag_list, "latest_version": row.latest_version, "repository": row.repository}


def detail_view(row, tag_list: list[str]) -> dict:
    return {**summary_view(row, tag_list), "homepage": row.homepage, "license": row.license,
            "install_command": row.install_command, "versions": row.versions,
            "updated_at": clock.iso(row.updated_at)}


def _text_param(request: web.Request, name: str, max_length: int) -> str:
    value = request.query.get(name, "").strip()
    if len(value) > max_length:
        raise ApiError(400, f"'{name}' is longer than {max_length} characters", "invalid_value", name)
    return value


def _limit(request: web.Request) -> int:
    raw = request.query.get("limit", str(DEFAULT_LIMIT))
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise ApiError(400, f"'limit' must be an integer from 1 to {MAX_LIMIT}", "invalid_value", "limit")
    return int(raw)


def _escaped(text: str) -> str:
    # The user's % and _ are literal characters, not LIKE wildcards.
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _filtered(request: web.Request) -> sa.Select:
    query = sa.select(plugins).order_by(plugins.c.name)
    tag = _text_param(request, "tag", 32).lower()
    if tag:
        query = query.where(plugins.c.name.in_(sa.select(tags.c.plugin_name).where(tags.c.tag == tag)))
    text = _text_param(request, "q", MAX_QUERY).lower()
    if text:
        pattern = f"%{_escaped(text)}%"
        query = query.where(sa.or_(sa.func.lower(plugins.c.name).like(pattern, escape="\\"),
                                   sa.func.lower(plugins.c.description).like(pattern, escape="\\")))
    after = _text_param(request, "after", 64)
    return query.where(plugins.c.name > after) if after else query


async def _tags_of(conn, names: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {name: [] for name in names}
    rows = await conn.execute(sa.select(tags.c.plugin_name, tags.c.tag).where(tags.c.plugin_name.in_(names))
                              .order_by(tags.c.tag))
    for name, tag in rows:
        found[name].append(tag)
    return found


@routes.get("/v1/plugins")
async def list_plugins(request: web.Request) -> web.Response:
    limit = _limit(request)
    async with services(request).engine.connect() as conn:
        rows = (await conn.execute(_filtered(request).limit(limit + 1))).all()
        page = rows[:limit]
        tags_of = await _tags_of(conn, [row.name for row in page])
    return web.json_response({
        "object": "list", "data": [summary_view(row, tags_of[row.name]) for row in page],
        "first_id": page[0].name if page else None, "last_id": page[-1].name if page else None,
        "has_more": len(rows) > limit})


@routes.get("/v1/plugins/{name}")
async def get_plugin(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    async with services(request).engine.connect() as conn:
        row = (await conn.execute(sa.select(plugins).where(plugins.c.name == name))).first()
        if row is None:
            raise ApiError(404, f"No plugin named '{name[:64]}' in the marketplace", "plugin_not_found")
        tags_of = await _tags_of(conn, [name])
    return web.json_response(detail_view(row, tags_of[name]))
