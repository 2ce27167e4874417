"""GET /v1/openapi.json: the public API's OpenAPI document (public, no auth)."""
from aiohttp import web

from schemas.openapi import document_json

routes = web.RouteTableDef()


@routes.get("/v1/openapi.json")
async def openapi_document(_request: web.Request) -> web.Response:
    return web.Response(body=document_json(), content_type="application/json",
                        headers={"Cache-Control": "public, max-age=300"})
