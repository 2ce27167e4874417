"""Images and videos count toward the tier's monthly token quota at their model's weight
(gateway.yaml quota_tokens_per_image / quota_tokens_per_video), shown in GET /v1/models: reserved
before the provider is called, refused when they do not fit, in the ledger and GET /v1/usage."""
import uuid

import yaml

from schemas.gateway import quota_tokens_per_unit
from tests.e2e.media import create_video, poll, simulator_calls
from tests.support.api import call, new_account
from tests.support.ledger import insert_usage, ledger_rows

FREE_QUOTA = 100_000
DONE_AT_ONCE = {"x-sim-video-polls": "0"}


def _weight(gateway, model: str) -> int:
    return quota_tokens_per_unit(yaml.safe_load(gateway.config_path.read_text())["models"][model])


async def _images(client, base: str, account, model: str, n: int = 1):
    return await call(client, "POST", f"{base}/v1/images/generations", headers=account.bearer,
                      json={"model": model, "prompt": f"a cat {uuid.uuid4().hex[:8]}", "n": n})


async def _quota_used(client, base: str, account) -> int:
    status, usage, _ = await call(client, "GET", f"{base}/v1/usage", headers=account.bearer)
    assert status == 200, usage
    return usage["quota"]["used_tokens"]


async def test_models_list_shows_the_quota_weight_of_images_and_videos(client, gateway):
    _, body, _ = await call(client, "GET", f"{gateway.url}/v1/models")
    models = {m["id"]: m for m in body["data"]}
    assert models["dall-e-3"]["quota_tokens_per_image"] == _weight(gateway, "dall-e-3") == 4000
    assert models["minimax-image-01"]["quota_tokens_per_image"] == 1000
    assert models["minimax-hailuo-2.3"]["quota_tokens_per_video"] == _weight(gateway, "minimax-hailuo-2.3") == 20000
    assert "quota_tokens_per_image" not in models["deepseek-v4"]


async def test_images_count_toward_the_quota_per_image_returned(client, gateway, db):
    account = await new_account(client, gateway.url)
    status, body, _ = await _images(client, gateway.url, account, "minimax-image-01", n=3)
    assert status == 200 and len(body["data"]) == 3
    [row] = await ledger_rows(db, account.id, expect=1)
    weight = _weight(gateway, "minimax-image-01")
    assert (row.prompt_tokens, row.completion_tokens, row.total_tokens) == (0, 0, 3 * weight)
    assert await _quota_used(client, gateway.url, account) == 3 * weight


async def test_image_over_the_quota_is_refused_before_the_provider(client, gateway, db):
    account = await new_account(client, gateway.url)
    await insert_usage(db, account.id, FREE_QUOTA - 3_000)  # dall-e-3 counts 4 000 a picture
    calls = len(await simulator_calls(client, gateway, "images"))
    status, body, _ = await _images(client, gateway.url, account, "dall-e-3")
    assert status == 429 and body["error"]["code"] == body["error"]["type"] == "insufficient_quota"
    assert len(await simulator_calls(client, gateway, "images")) == calls
    status, body, _ = await _images(client, gateway.url, account, "minimax-image-01", n=3)  # 3 000 still fit
    assert status == 200, body
    await ledger_rows(db, account.id, expect=2)
    assert await _quota_used(client, gateway.url, account) == FREE_QUOTA


async def test_a_video_holds_its_quota_from_creation_and_is_in_the_ledger_once_done(client, gateway, db):
    account = await new_account(client, gateway.url)
    weight = _weight(gateway, "minimax-hailuo-2.3")
    await insert_usage(db, account.id, FREE_QUOTA - weight - 5_000)  # room for one video, not two
    status, job, _ = await create_video(client, gateway.url, {**account.bearer, **DONE_AT_ONCE})
    assert status == 200, job
    creations = len(await simulator_calls(client, gateway, "video"))
    status, body, _ = await create_video(client, gateway.url, account.bearer)  # the first one is still running
    assert status == 429 and body["error"]["code"] == "insufficient_quota"
    assert len(await simulator_calls(client, gateway, "video")) == creations
    status, done, _ = await poll(client, gateway.url, job["id"], account.bearer)
    assert status == 200 and done["status"] == "completed"
    rows = await ledger_rows(db, account.id, expect=2)
    assert sorted(r.total_tokens for r in rows) == [weight, FREE_QUOTA - weight - 5_000]
    assert await _quota_used(client, gateway.url, account) == FREE_QUOTA - 5_000


async def test_a_failed_video_gives_its_quota_back(client, gateway, db):
    account = await new_account(client, gateway.url)
    weight = _weight(gateway, "minimax-hailuo-2.3")
    await insert_usage(db, account.id, FREE_QUOTA - weight)  # room for exactly one video
    status, job, _ = await create_video(client, gateway.url, {**account.bearer, **DONE_AT_ONCE,
                                                              "x-sim-video-outcome": "Fail"})
    assert status == 200, job
    status, failed, _ = await poll(client, gateway.url, job["id"], account.bearer)
    assert failed["status"] == "failed"
    status, again, _ = await create_video(client, gateway.url, {**account.bearer, **DONE_AT_ONCE})
    assert status == 200, again  # the failed one's tokens came back
    assert await _quota_used(client, gateway.url, account) == FREE_QUOTA - weight  # nothing done yet
