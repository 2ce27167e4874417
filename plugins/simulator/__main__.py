"""python -m plugins.simulator --host 127.0.0.1 --port N [--latency-ms 0] [--chunks 20] [--chunk-interval-ms 0]
[--video-polls 2]

Every flag can also come from the environment (CLEW_SIM_HOST, CLEW_SIM_PORT, CLEW_SIM_LATENCY_MS,
CLEW_SIM_CHUNKS, CLEW_SIM_CHUNK_INTERVAL_MS, CLEW_SIM_VIDEO_POLLS); a flag given on the command line wins.
"""
import argparse
import asyncio
import logging
import os

from aiohttp import web

from plugins.simulator.app import create_app
from plugins.simulator.options import SimDefaults
from schemas.shutdown import until_terminated

log = logging.getLogger("clew.simulator")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(prog="python -m plugins.simulator", description="Clew's provider simulator")
    parser.add_argument("--host", default=env("CLEW_SIM_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(env("CLEW_SIM_PORT", "8090")), help="0 picks a free port")
    parser.add_argument("--latency-ms", type=int, default=int(env("CLEW_SIM_LATENCY_MS", "0")))
    parser.add_argument("--chunks", type=int, default=int(env("CLEW_SIM_CHUNKS", "20")))
    parser.add_argument("--chunk-interval-ms", type=int, default=int(env("CLEW_SIM_CHUNK_INTERVAL_MS", "0")))
    parser.add_argument("--video-polls", type=int, default=int(env("CLEW_SIM_VIDEO_POLLS", "2")),
                        help="status queries a video task answers before it is done")
    args = parser.parse_args(argv)
    if args.latency_ms < 0 or args.chunk_interval_ms < 0 or args.chunks < 1 or args.video_polls < 0:
        parser.error("--latency-ms, --chunk-interval-ms and --video-polls must be >= 0, --chunks >= 1")
    return args


async def serve(args: argparse.Namespace) -> None:
    app = create_app(SimDefaults(args.latency_ms, args.chunks, args.chunk_interval_ms, args.video_polls))
    runner = web.AppRunner(app, access_log=None)  # no per-request logging: the benchmark drives it hard
    await runner.setup()
    site = web.TCPSite(runner, args.host, args.port, backlog=1024)
    await site.start()
    host, port = runner.addresses[0][:2]  # the bound address, so --port 0 reports the real port
    log.info("provider simulator listening on %s:%s", host, port)
    try:
        await until_terminated()
    finally:
        await runner.cleanup()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    asyncio.run(serve(parse_args()))


if __name__ == "__main__":
    main()
