"""GET /v1/updates (the latest release) and GET /v1/updates/check?current=X.Y.Z (public).

Both consider stable releases only, unless `prerelease=true` asks for pre-releases too.
"""
from aiohttp import web

from control_plane.errors import ApiError
from control_plane.services import services
from control_plane.updates import releases, versions

routes = web.RouteTableDef()


def include_prereleases(request: web.Request) -> bool:
    value = request.query.get("prerelease", "false").lower()
    if value not in ("true", "false"):
        raise ApiError(400, "'prerelease' must be true or false", "invalid_value", "prerelease")
    return value == "true"


async def _published(request: web.Request) -> list[releases.Release]:
    async with services(request).engine.connect() as conn:
        return await releases.published(conn)


@routes.get("/v1/updates")
async def latest_release(request: web.Request) -> web.Response:
    newest = releases.latest(await _published(request), include_prereleases(request))
    if newest is None:
        raise ApiError(404, "No release has been published yet", "release_not_found")
    return web.json_response(newest.view())


@routes.get("/v1/updates/check")
async def check_for_update(request: web.Request) -> web.Response:
    current = request.query.get("current")
    if current is None or not current.strip():
        raise ApiError(400, "Missing required parameter: 'current' (the installed version, e.g. 0.1.0)",
                       "missing_parameter", "current")
    try:
        parsed = versions.parse(current)
    except versions.InvalidVersion as exc:
        raise ApiError(400, str(exc), "invalid_version", "current") from exc
    verdict = releases.check(await _published(request), parsed, include_prereleases(request))
    return web.json_response({"object": "update_check", "current": current, **verdict})
