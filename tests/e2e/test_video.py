"""POST /v1/video/generations and GET /v1/video/generations/{id} through Envoy: a MiniMax video job from
creation to completion, billed once, readable by its owner only."""
import asyncio
from decimal import Decimal

from tests.e2e.media import create_video, poll, simulator_calls, unit_price, video_job
from tests.support.api import call, new_account
from tests.support.ledger import ledger_rows

DONE_AT_ONCE = {"x-sim-video-polls": "0"}  # the simulator's task is finished on its first status query


async def _finished_job(client, base, account) -> str:
    status, job, _ = await create_video(client, base, {**account.bearer, **DONE_AT_ONCE})
    assert status == 200, job
    return job["id"]


async def test_creation_answers_a_queued_job(client, base):
    account = await new_account(client, base)
    status, job, headers = await create_video(client, base, account.bearer)
    assert status == 200 and job["id"].startswith("vid_") and headers["x-cost-usd"] == "0"
    assert {k: job[k] for k in ("object", "model", "status")} == {
        "object": "video.generation", "model": "minimax-hailuo-2.3", "status": "queued"}
    assert isinstance(job["created"], int)


async def test_a_job_goes_from_queued_to_completed_with_a_video_url(client, base):
    account = await new_account(client, base)
    _, job, _ = await create_video(client, base, account.bearer)
    statuses = []
    while not statuses or statuses[-1] not in ("completed", "failed"):
        status, job, _ = await poll(client, base, job["id"], account.bearer)
        assert status == 200, job
        statuses.append(job["status"])
    assert statuses == ["queued", "in_progress", "completed"]  # the simulator's default: done on the 3rd query
    assert job["video_url"] == f"{base}/v1/video/generations/{job['id']}/content"
    status, content, _ = await call(client, "GET", job["video_url"], headers=account.bearer)
    assert status == 200 and content["url"].startswith("https://sim.invalid/minimax/files/")


async def test_the_video_is_billed_once_however_many_polls(client, gateway, db):
    account = await new_account(client, gateway.url)
    job_id = await _finished_job(client, gateway.url, account)
    costs = [(await poll(client, gateway.url, job_id, account.bearer))[2]["x-cost-usd"] for _ in range(4)]
    price = unit_price(gateway, "minimax-hailuo-2.3")
    assert [Decimal(c) for c in costs] == [price, 0, 0, 0]
    rows = await ledger_rows(db, account.id, expect=2, timeout=1.0)  # waits in case a second row comes
    assert [(r.model, r.cost_nanos, r.status) for r in rows] == [("minimax-hailuo-2.3", int(price * 10**9), 200)]
    assert (await video_job(db, job_id)).billed is True


async def test_concurrent_polls_of_a_finished_video_bill_it_once(client, gateway, db):
    account = await new_account(client, gateway.url)
    job_id = await _finished_job(client, gateway.url, account)
    answers = await asyncio.gather(*(poll(client, gateway.url, job_id, account.bearer) for _ in range(5)))
    assert [job["status"] for _, job, _ in answers] == ["completed"] * 5
    assert sorted(Decimal(headers["x-cost-usd"]) for _, _, headers in answers) == [
        0, 0, 0, 0, unit_price(gateway, "minimax-hailuo-2.3")]
    assert len(await ledger_rows(db, account.id, expect=2, timeout=1.0)) == 1


async def test_each_client_request_is_one_provider_call(client, gateway, db):
    account = await new_account(client, gateway.url)
    _, job, _ = await create_video(client, gateway.url, account.bearer)
    for _ in range(2):
        await poll(client, gateway.url, job["id"], account.bearer)
    stored = await video_job(db, job["id"])
    assert (stored.account_id, stored.model, stored.provider) == (account.id, "minimax-hailuo-2.3", "minimax")
    [created] = [e for e in await simulator_calls(client, gateway, "video") if e["id"] == stored.task_id]
    queries = [e for e in await simulator_calls(client, gateway, "video_query") if e["id"] == stored.task_id]
    assert created["model"] == "MiniMax-Hailuo-2.3" and len(queries) == 2


async def test_another_account_gets_the_same_404_as_for_an_unknown_id(client, base):
    owner, other = await new_account(client, base), await new_account(client, base)
    job_id = await _finished_job(client, base, owner)
    for path in (job_id, f"{job_id}/content"):
        status, body, _ = await call(client, "GET", f"{base}/v1/video/generations/{path}", headers=other.bearer)
        assert status == 404 and body["error"]["code"] == "video_not_found"
    status, body, _ = await poll(client, base, "vid_" + "0" * 32, other.bearer)
    assert status == 404 and body["error"]["code"] == "video_not_found"


async def test_unknown_id_is_not_found(client, base):
    account = await new_account(client, base)
    status, body, _ = await poll(client, base, "vid_nope", account.bearer)
    assert status == 404 and body["error"]["code"] == "video_not_found"


async def test_a_failed_video_says_so_and_costs_nothing(client, gateway, db):
    account = await new_account(client, gateway.url)
    _, job, _ = await create_video(client, gateway.url, {**account.bearer, **DONE_AT_ONCE,
                                                         "x-sim-video-outcome": "Fail"})
    status, job, headers = await poll(client, gateway.url, job["id"], account.bearer)
    assert status == 200 and job["status"] == "failed" and job["error"]["code"] == "video_generation_failed"
    assert headers["x-cost-usd"] == "0" and "video_url" not in job
    assert await ledger_rows(db, account.id, expect=1, timeout=1.0) == []


async def test_content_before_completion_is_a_409(client, base):
    account = await new_account(client, base)
    _, job, _ = await create_video(client, base, account.bearer)
    status, body, _ = await call(client, "GET", f"{base}/v1/video/generations/{job['id']}/content",
                                 headers=account.bearer)
    assert status == 409 and body["error"]["code"] == "video_not_ready"


async def test_a_missing_prompt_is_a_400(client, base):
    account = await new_account(client, base)
    status, body, _ = await call(client, "POST", f"{base}/v1/video/generations", headers=account.bearer,
                                 json={"model": "minimax-hailuo-2.3"})
    assert status == 400 and body["error"]["param"] == "prompt"


async def test_an_image_model_is_refused_with_the_endpoint_to_use(client, base):
    account = await new_account(client, base)
    status, body, _ = await create_video(client, base, account.bearer, model="minimax-image-01")
    assert status == 400 and body["error"]["param"] == "model"
    assert "is an image model; use /v1/images/generations" in body["error"]["message"]


async def test_unknown_model_is_not_found(client, base):
    account = await new_account(client, base)
    status, body, _ = await create_video(client, base, account.bearer, model="hailuo-99")
    assert status == 404 and body["error"]["code"] == "model_not_found"


async def test_listing_jobs_is_not_a_thing(client, base):
    account = await new_account(client, base)
    status, _, headers = await call(client, "GET", f"{base}/v1/video/generations", headers=account.bearer)
    assert status == 405 and headers["allow"] == "POST"
