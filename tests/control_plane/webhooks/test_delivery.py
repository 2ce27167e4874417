"""The delivery worker against a real HTTP receiver and a real database (SQLite and PostgreSQL):
signed deliveries, retries with backoff, timeouts, giving up, cancellation, and SSRF at delivery time."""
import asyncio
import json
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from control_plane import clock
from control_plane.webhooks import store
from control_plane.webhooks.delivery import DeliveryWorker, backoff
from control_plane.webhooks.events import emit
from control_plane.webhooks.signing import SecretBox
from schemas.tables import accounts, webhook_attempts, webhook_deliveries
from tests.support.webhook_receiver import Receiver, signature_is_valid

BOX = SecretBox(b"k" * 48)
CONFIG = {"max_attempts": 4, "backoff_seconds": 0.1, "timeout_seconds": 0.5, "allow_private_targets": True,
          "max_per_account": 10}


@pytest.fixture
def engine(migrated_engine):
    return migrated_engine


@pytest.fixture
async def receiver():
    async with Receiver() as server:
        yield server


@pytest.fixture
def config():
    return dict(CONFIG)


@pytest.fixture
async def worker(engine, config):
    worker = DeliveryWorker(engine, lambda: config, BOX)
    yield worker
    await worker.stop()


@pytest.fixture
async def account(engine) -> str:
    account_id = f"acct_{uuid.uuid4().hex}"
    async with engine.begin() as conn:
        await conn.execute(sa.insert(accounts).values(id=account_id, email=f"{account_id}@example.com",
                                                      password_hash="x", created_at=clock.now()))
    return account_id


async def _webhook(engine, account: str, url: str, events=("key.created",)) -> tuple[str, str]:
    async with engine.begin() as conn:
        row, secret = await store.create_webhook(conn, BOX, account, url, list(events), "")
    return row["id"], secret


async def _emit(engine, account: str, event_type: str = "key.created", data=None) -> str | None:
    async with engine.begin() as conn:
        return await emit(conn, account, event_type, data or {"id": "key_1"})


async def _delivery(engine, webhook_id: str):
    async with engine.connect() as conn:
        return (await conn.execute(sa.select(webhook_deliveries).where(
            webhook_deliveries.c.webhook_id == webhook_id))).one()


async def _attempts(engine, delivery_id: str) -> list:
    async with engine.connect() as conn:
        return (await conn.execute(sa.select(webhook_attempts).where(webhook_attempts.c.delivery_id == delivery_id)
                                   .order_by(webhook_attempts.c.attempt))).all()


async def _run_until_settled(worker, engine, webhook_id: str, timeout: float = 10.0):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (row := await _delivery(engine, webhook_id)).status == "pending":
        assert loop.time() < deadline, "delivery still pending"
        await worker.run_once()
        await asyncio.sleep(0.02)
    return row


async def test_a_delivery_arrives_once_signed_with_its_event(worker, engine, account, receiver):
    path = receiver.new_path()
    webhook_id, secret = await _webhook(engine, account, receiver.url(path))
    event_id = await _emit(engine, account, data={"id": "key_9"})
    row = await _run_until_settled(worker, engine, webhook_id)
    [got] = receiver.received[path]
    assert signature_is_valid(secret, got)
    assert got.event["id"] == event_id and got.event["type"] == "key.created" and got.event["data"] == {"id": "key_9"}
    assert got.headers["X-Clew-Event"] == "key.created" and got.headers["X-Clew-Delivery"] == row.id
    assert (row.status, row.attempts) == ("delivered", 1)


async def test_emit_queues_only_for_the_accounts_webhooks_that_subscribe(engine, account, receiver):
    wanted, _ = await _webhook(engine, account, receiver.url("/a"), ["key.revoked", "key.created"])
    unwanted, _ = await _webhook(engine, account, receiver.url("/b"), ["invoice.created"])
    await _emit(engine, account, "key.revoked")
    async with engine.connect() as conn:
        queued = (await conn.execute(sa.select(webhook_deliveries.c.webhook_id).where(
            webhook_deliveries.c.account_id == account))).scalars().all()
    assert queued == [wanted] and unwanted not in queued


async def test_emit_without_subscribers_queues_nothing(engine, account):
    assert await _emit(engine, account) is None


async def test_emit_refuses_an_unknown_event_type(engine, account):
    with pytest.raises(ValueError):
        await _emit(engine, account, "key.exploded")


async def test_failed_attempts_are_retried_with_exponential_backoff(worker, engine, account, receiver, config):
    path = receiver.new_path()
    receiver.script(path, 500, 503)
    webhook_id, _ = await _webhook(engine, account, receiver.url(path))
    await _emit(engine, account)
    row = await _run_until_settled(worker, engine, webhook_id)
    attempts = await _attempts(engine, row.id)
    assert (row.status, [a.status_code for a in attempts]) == ("delivered", [500, 503, 200])
    assert [a.succeeded for a in attempts] == [False, False, True]
    gaps = [(b.started_at - a.started_at).total_seconds() for a, b in zip(attempts, attempts[1:], strict=False)]
    assert gaps[0] >= backoff(config, 1) and gaps[1] >= backoff(config, 2) == 2 * backoff(config, 1)


async def test_a_timeout_counts_as_a_failed_attempt(worker, engine, account, receiver):
    path = receiver.new_path()
    receiver.script(path, "hang")
    webhook_id, _ = await _webhook(engine, account, receiver.url(path))
    await _emit(engine, account)
    row = await _run_until_settled(worker, engine, webhook_id)
    first, second = await _attempts(engine, row.id)
    assert "timed out" in first.error and first.status_code is None and second.succeeded


async def test_a_delivery_fails_for_good_after_max_attempts(worker, engine, account, receiver, config):
    path = receiver.new_path()
    receiver.answer_always(path, 500)
    webhook_id, _ = await _webhook(engine, account, receiver.url(path))
    await _emit(engine, account)
    row = await _run_until_settled(worker, engine, webhook_id)
    assert (row.status, row.attempts, row.last_error) == ("failed", config["max_attempts"], "HTTP 500")
    assert len(receiver.received[path]) == config["max_attempts"]


async def test_a_redirect_is_not_followed_and_counts_as_failure(worker, engine, account, receiver, config):
    path = receiver.new_path()
    receiver.answer_always(path, 302)
    config["max_attempts"] = 1
    webhook_id, _ = await _webhook(engine, account, receiver.url(path))
    await _emit(engine, account)
    row = await _run_until_settled(worker, engine, webhook_id)
    assert (row.status, row.last_error) == ("failed", "HTTP 302")
    assert receiver.received[path + "/redirected"] == []


async def test_deleting_the_webhook_cancels_its_queued_deliveries(worker, engine, account, receiver):
    path = receiver.new_path()
    webhook_id, _ = await _webhook(engine, account, receiver.url(path))
    await _emit(engine, account)
    async with engine.begin() as conn:
        assert await store.delete_webhook(conn, account, webhook_id)
    await worker.run_once()
    assert (await _delivery(engine, webhook_id)).status == "cancelled" and receiver.received[path] == []


@pytest.mark.parametrize("target", ["http://127.0.0.1:{port}{path}", "https://localhost:{port}{path}"])
async def test_a_private_target_is_refused_at_delivery_time(worker, engine, account, receiver, config, target):
    # E.g. private targets were allowed when the webhook was made, or its name now resolves elsewhere.
    path = receiver.new_path()
    webhook_id, _ = await _webhook(engine, account, target.format(port=receiver.port, path=path))
    config.update(allow_private_targets=False, max_attempts=1)
    await _emit(engine, account)
    row = await _run_until_settled(worker, engine, webhook_id)
    assert row.status == "failed" and receiver.received[path] == []
    assert "https" in row.last_error or "private" in row.last_error


async def test_a_claimed_delivery_is_not_claimed_again_while_its_attempt_may_run(worker, engine, account, receiver):
    webhook_id, _ = await _webhook(engine, account, receiver.url(receiver.new_path()))
    await _emit(engine, account)
    assert len(await worker._claim(CONFIG)) == 1
    assert await worker._claim(CONFIG) == []
    row = await _delivery(engine, webhook_id)
    assert clock.as_utc(row.next_attempt_at) > clock.now() + timedelta(seconds=CONFIG["timeout_seconds"])


async def test_the_body_sent_is_the_stored_payload_byte_for_byte(worker, engine, account, receiver):
    path = receiver.new_path()
    webhook_id, _ = await _webhook(engine, account, receiver.url(path))
    await _emit(engine, account, data={"name": "naïve ключ", "n": 1})
    row = await _run_until_settled(worker, engine, webhook_id)
    assert receiver.received[path][0].body == row.payload.encode()
    assert json.loads(row.payload)["data"] == {"name": "naïve ключ", "n": 1}
