"""python -m control_plane.billing.stripe_standin --port N [--host H] [--webhook-url URL] [--gateway-config PATH]

The API key it accepts and the secret it signs webhooks with come from STRIPE_SECRET_KEY and
STRIPE_WEBHOOK_SECRET, as they do for the gateway (`clew up` generates both for it). Its prices are
the ones an operator would create at Stripe: each of gateway.yaml's `billing.prices` at its tier's
monthly price.
"""
import argparse
import asyncio
import logging
import os
from decimal import Decimal

from aiohttp import web

from control_plane.billing.stripe_standin.app import create_app
from schemas.gateway import load
from schemas.settings import Settings
from schemas.shutdown import until_terminated

log = logging.getLogger("clew.stripe_standin")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m control_plane.billing.stripe_standin",
                                     description="A local stand-in for the Stripe API calls Clew makes")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9300)
    parser.add_argument("--webhook-url", default="", help="where events go, e.g. http://127.0.0.1:8080/v1/billing/webhook")
    parser.add_argument("--gateway-config", default="", help="gateway.yaml, for the prices (default: CLEW_CONFIG's)")
    return parser.parse_args(argv)


def prices(config_path) -> dict[str, int]:
    """Stripe price id -> unit amount in cents, from gateway.yaml."""
    config = load(config_path)
    return {price: int(Decimal(config.tiers[tier]["price_usd_month"]) * 100)
            for tier, price in config.billing.get("prices", {}).items() if tier in config.tiers}


async def serve(args: argparse.Namespace, api_key: str, webhook_secret: str) -> None:
    catalog = prices(args.gateway_config or Settings.from_env().config_path)
    runner = web.AppRunner(create_app(api_key, webhook_secret, args.webhook_url, catalog), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, args.host, args.port).start()
    log.info("Stripe stand-in listening on %s:%d", args.host, args.port)
    try:
        await until_terminated()
    finally:
        await runner.cleanup()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    args = parse_args()
    api_key, secret = os.environ.get("STRIPE_SECRET_KEY", ""), os.environ.get("STRIPE_WEBHOOK_SECRET", "")
    if not api_key or not secret:
        raise SystemExit("STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET must be set")
    asyncio.run(serve(args, api_key, secret))


if __name__ == "__main__":
    main()
