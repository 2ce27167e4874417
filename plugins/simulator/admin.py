"""The admin API under /_sim/: health, fault rules and the ledger."""
import json

from aiohttp import web

from plugins.simulator.bodies import dumps
from plugins.simulator.errors import ApiError, invalid, not_found
from plugins.simulator.state import STATE


async def health(request: web.Request) -> web.Response:
    return _json({"status": "ok", "ledger_entries": len(request.app[STATE].ledger)})


async def list_faults(request: web.Request) -> web.Response:
    return _json({"data": request.app[STATE].faults.list()})


async def add_fault(request: web.Request) -> web.Response:
    try:
        rule = request.app[STATE].faults.add(await _json_body(request))
    except ApiError as error:
        return error.response()
    return _json(rule.to_json())


async def clear_faults(request: web.Request) -> web.Response:
    request.app[STATE].faults.clear()
    return _json({"data": []})


async def delete_fault(request: web.Request) -> web.Response:
    raw = request.match_info["id"]
    if not raw.isdigit() or not request.app[STATE].faults.remove(int(raw)):
        return ApiError(404, f"No fault rule with id {raw!r}.", code="not_found").response()
    return _json({"id": int(raw), "deleted": True})


async def get_ledger(request: web.Request) -> web.Response:
    query = request.query
    return _json({"data": request.app[STATE].ledger.query(query.get("provider"), query.get("model"), query.get("api"))})


async def clear_ledger(request: web.Request) -> web.Response:
    request.app[STATE].ledger.clear()
    return _json({"data": []})


def _json(data) -> web.Response:
    return web.json_response(data, dumps=dumps)


async def unknown_route(request: web.Request) -> web.Response:
    return not_found(request.method, request.path).response()


async def _json_body(request: web.Request):
    try:
        return json.loads(await request.read())
    except (ValueError, RecursionError):
        raise invalid(None, "The request body must be JSON.") from None


def add_admin_routes(app: web.Application) -> None:
    router = app.router
    router.add_get("/_sim/health", health)
    router.add_get("/_sim/faults", list_faults)
    router.add_post("/_sim/faults", add_fault)
    router.add_delete("/_sim/faults", clear_faults)
    router.add_delete("/_sim/faults/{id}", delete_fault)
    router.add_get("/_sim/ledger", get_ledger)
    router.add_delete("/_sim/ledger", clear_ledger)
