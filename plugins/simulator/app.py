"""`create_app(defaults)`: the simulator as an aiohttp application."""
from aiohttp import web

from plugins.simulator import images, video
from plugins.simulator.admin import add_admin_routes, unknown_route
from plugins.simulator.chat import handle_chat
from plugins.simulator.embeddings import handle_embeddings
from plugins.simulator.options import SimDefaults
from plugins.simulator.state import STATE, SimState

# Prompts may carry images as data URLs; aiohttp's 1 MiB default would refuse them.
MAX_BODY_BYTES = 64 * 1024 * 1024


def create_app(defaults: SimDefaults | None = None) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app[STATE] = SimState(defaults or SimDefaults())
    add_admin_routes(app)  # before the provider route, which would otherwise swallow /_sim/...
    add_media_routes(app)  # before the chat route, which takes every other POST
    app.router.add_post("/{provider}/{tail:.*}", handle_chat)
    app.router.add_route("*", "/{path:.*}", unknown_route)  # a JSON 404 for everything else
    return app


def add_media_routes(app: web.Application) -> None:
    router = app.router
    router.add_post("/{provider}/v1/embeddings", handle_embeddings)  # OpenAI's and Mistral's path
    router.add_post("/{provider}/v1/images/generations", images.handle_openai_images)
    router.add_post("/{provider}/v1/image_generation", images.handle_minimax_image)
    router.add_post("/{provider}/v1/video_generation", video.handle_create)
    router.add_get("/{provider}/v1/query/video_generation", video.handle_query)
    router.add_get("/{provider}/v1/files/retrieve", video.handle_file)
