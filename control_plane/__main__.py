"""python -m control_plane: serve the API on CLEW_CONTROL_PLANE_PORT and metrics beside it."""
import asyncio
import logging

from aiohttp import web

from control_plane.app import create_app
from control_plane.services import SERVICES
from schemas import gateway, logs
from schemas.ops_endpoints import serve_ops
from schemas.private_files import keep_new_files_private
from schemas.readiness import dependency_checks
from schemas.settings import Settings
from schemas.shutdown import until_terminated

HEADER_LIMIT = 128 * 1024  # bytes: above anything Envoy lets through


async def serve(settings: Settings) -> None:
    app = create_app(settings, gateway.ConfigFile(settings.config_path))
    # aiohttp's own limits (8 KiB per line or header) would answer in plain text; Envoy, in front,
    # already refuses request headers over its max_request_headers_kb (60 KiB), so it decides.
    # Bodies are not decompressed: a body that fails to inflate would drop the connection (a 502),
    # and a small zip bomb is a large body. control_plane.requests refuses encoded bodies instead.
    api = web.AppRunner(app, access_log=None, max_line_size=HEADER_LIMIT, max_field_size=HEADER_LIMIT,
                        auto_decompress=False)
    await api.setup()
    await web.TCPSite(api, settings.bind_address, settings.control_plane_port).start()
    services = app[SERVICES]
    ops = await serve_ops(settings.bind_address, settings.control_plane_metrics_port,
                          dependency_checks(services.engine, services.redis))
    logging.getLogger("clew.control_plane").info("control plane listening on %s:%d",
                                                 settings.bind_address, settings.control_plane_port)
    try:
        await until_terminated()
    finally:
        await api.cleanup()
        await ops.cleanup()


def main() -> None:
    keep_new_files_private()
    logs.configure("control-plane")
    settings = Settings.from_env()
    settings.require_secrets()
    try:
        asyncio.run(serve(settings))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
