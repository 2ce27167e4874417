"""Helpers for the image and video tests: prices from the gateway's config, the ledger, the simulator."""
import json
from decimal import Decimal

import sqlalchemy as sa
import yaml

from schemas.tables import video_jobs
from tests.support.api import call


def unit_price(gateway, model: str) -> Decimal:
    """gateway.yaml's price of one image or one video of `model`."""
    spec = yaml.safe_load(gateway.config_path.read_text())["models"][model]
    return Decimal(spec[f"price_per_{spec['kind']}"])


async def simulator_calls(session, gateway, api: str, **filters) -> list[dict]:
    status, body, _ = await call(session, "GET", f"{gateway.simulator_url}/_sim/ledger", params={"api": api, **filters})
    assert status == 200
    return body["data"]


async def video_job(db, job_id: str):
    async with db.connect() as conn:
        return (await conn.execute(sa.select(video_jobs).where(video_jobs.c.id == job_id))).one()


async def create_video(session, base: str, headers: dict, **body):
    """Like the contract's curl: a JSON body without a JSON content type."""
    payload = json.dumps({"model": "minimax-hailuo-2.3", "prompt": "a cat walking in the park", **body}).encode()
    return await call(session, "POST", f"{base}/v1/video/generations", data=payload, headers=headers)


async def poll(session, base: str, job_id: str, headers: dict):
    return await call(session, "GET", f"{base}/v1/video/generations/{job_id}", headers=headers)
