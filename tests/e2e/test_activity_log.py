"""GET /v1/requests through Envoy: the account's requests from the ledger, newest first, in pages, filtered.

The requests are real ones through the gateway (chat, streamed chat, embeddings, provider errors), made
with an API key and with a session; each item is checked against the ledger row it shows.
"""
import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import aiohttp
import pytest

from control_plane.clock import as_utc
from schemas.pricing import format_usd
from tests.e2e.chat import account_on_tier, chat, stream_events
from tests.support.api import Account, call, create_key, new_account
from tests.support.error_shape import is_openai_error
from tests.support.ledger import ledger_rows

CHAT, EMBEDDINGS = "/v1/chat/completions", "/v1/embeddings"


@dataclass
class Workload:
    account: Account
    key: dict             # as POST /v1/keys answered it
    rows: list            # the ledger's rows, newest first
    cost_header: str      # X-Cost-USD of the first completion
    cost_header_id: str   # its request id


def _newest_first(rows: list) -> list:
    return sorted(rows, key=lambda row: (as_utc(row.created_at), row.request_id), reverse=True)


async def _embed(session, base: str, headers: dict) -> int:
    async with session.post(f"{base}{EMBEDDINGS}", headers=headers,
                            json={"model": "text-embedding-3-small", "input": "hello"}) as response:
        return response.status


@pytest.fixture(scope="module")
async def workload(gateway) -> Workload:
    """An account with six requests of every kind in its ledger: by key and by session, JSON and streamed,
    chat and embeddings, a provider's 429 and a provider's 500 (502 to the client)."""
    from schemas.database import create_engine

    engine = create_engine(gateway.database_url, gateway.backend.schema)
    async with aiohttp.ClientSession() as session:
        account = await account_on_tier(session, gateway, engine, "enterprise")
        key = await create_key(session, gateway.url, account, "activity")
        by_key = {"X-API-Key": key["key"]}
        status, _, headers = await chat(session, gateway.url, {**by_key, "x-sim-prompt-tokens": "1200",
                                                               "x-sim-completion-tokens": "345"}, model="deepseek-v4")
        assert status == 200
        assert (await stream_events(session, gateway.url, account.bearer, model="mistral/large"))[0] == 200
        assert await _embed(session, gateway.url, by_key) == 200
        assert (await chat(session, gateway.url, {**by_key, "x-sim-status": "429"}, model="deepseek-v4"))[0] == 429
        assert (await chat(session, gateway.url, {**account.bearer, "x-sim-status": "500"},
                           model="deepseek-v4"))[0] == 502
        assert (await chat(session, gateway.url, by_key, model="groq/llama4"))[0] == 200
    rows = await ledger_rows(engine, account.id, 6)
    await engine.dispose()
    assert len(rows) == 6
    return Workload(account, key, _newest_first(rows), headers["x-cost-usd"], headers["x-request-id"])


async def _list(client, base: str, headers: dict, **params) -> dict:
    status, body, _ = await call(client, "GET", f"{base}/v1/requests", headers=headers, params=params)
    assert status == 200, body
    assert set(body) == {"object", "data", "has_more", "next_cursor"} and body["object"] == "list"
    return body


async def _ids(client, base: str, headers: dict, **params) -> list[str]:
    return [item["id"] for item in (await _list(client, base, headers, **params))["data"]]


async def _all_pages(client, base: str, headers: dict, **params) -> list[str]:
    ids, cursor = [], None
    while True:
        page = await _list(client, base, headers, **params, **({"cursor": cursor} if cursor else {}))
        ids += [item["id"] for item in page["data"]]
        assert page["has_more"] == (page["next_cursor"] is not None)
        if not page["has_more"]:
            return ids
        cursor = page["next_cursor"]


async def test_each_item_is_its_ledger_row_newest_first_with_the_key_masked(client, gateway, workload):
    body = await _list(client, gateway.url, workload.account.bearer)
    assert (body["has_more"], body["next_cursor"]) == (False, None)
    _, keys, _ = await call(client, "GET", f"{gateway.url}/v1/keys", headers=workload.account.bearer)
    masked = {key["id"]: key["masked"] for key in keys["data"]}
    assert [item["id"] for item in body["data"]] == [row.request_id for row in workload.rows]
    for item, row in zip(body["data"], workload.rows, strict=True):
        assert datetime.fromisoformat(item.pop("created_at")) == as_utc(row.created_at)
        endpoint = EMBEDDINGS if row.model.startswith("text-") else CHAT
        assert item == {
            "id": row.request_id, "object": "request", "endpoint": endpoint,
            "model": row.model, "provider": row.provider, "key_id": row.key_id, "key": masked.get(row.key_id, ""),
            "key_source": "pool", "prompt_tokens": row.prompt_tokens, "completion_tokens": row.completion_tokens,
            "total_tokens": row.total_tokens, "cost_usd": format_usd(row.cost_nanos), "status": row.status,
            "latency_ms": row.latency_ms, "streamed": row.streamed}
    items = {item["id"]: item for item in body["data"]}
    first = items[workload.cost_header_id]  # the cost the client was told is the cost the log shows
    assert (first["cost_usd"], first["prompt_tokens"], first["completion_tokens"]) == (workload.cost_header, 1200, 345)
    assert first["key"] == workload.key["masked"] and first["key"].startswith("sk-clew-") and "..." in first["key"]
    assert workload.key["key"] not in str(body)
    sessions = [item for item in body["data"] if item["key_id"] == ""]
    assert [(item["key"], item["status"], item["streamed"]) for item in sessions] == [("", 502, False), ("", 200, True)]


async def test_a_default_scope_key_reads_the_log_too(client, gateway, workload):
    by_key = await _ids(client, gateway.url, {"X-API-Key": workload.key["key"]})
    assert by_key == [row.request_id for row in workload.rows]


async def test_each_filter_selects_exactly_the_matching_rows(client, gateway, workload):
    base, headers, rows = gateway.url, workload.account.bearer, workload.rows

    async def ids(**params) -> list[str]:
        return await _ids(client, base, headers, **params)

    def where(test) -> list[str]:
        return [row.request_id for row in rows if test(row)]

    key_id = workload.key["id"]
    assert await ids(key_id=key_id) == where(lambda r: r.key_id == key_id) and len(where(lambda r: r.key_id)) == 4
    assert await ids(model="mistral/large") == where(lambda r: r.model == "mistral/large") != []
    assert await ids(status="429") == where(lambda r: r.status == 429) != []
    assert await ids(status="error") == where(lambda r: r.status >= 400) and len(where(lambda r: r.status >= 400)) == 2
    assert await ids(status="error", key_id=key_id) == where(lambda r: r.status == 429)
    assert await ids(model="deepseek-v4", status="200") == where(lambda r: r.model == "deepseek-v4" and r.status == 200)
    # from is inclusive, to exclusive: the same instant splits the log in two, however it is written.
    middle, newer, older = as_utc(rows[2].created_at), where(lambda r: r in rows[:3]), where(lambda r: r in rows[3:])
    for instant in (middle.isoformat().replace("+00:00", "Z"), middle.replace(tzinfo=None).isoformat(),  # no zone: UTC
                    middle.astimezone(timezone(timedelta(hours=-7))).isoformat()):
        assert (await ids(**{"from": instant}), await ids(to=instant)) == (newer, older), instant
    oldest, newest = (int(as_utc(row.created_at).timestamp()) for row in (rows[-1], rows[0]))
    assert await ids(**{"from": str(oldest), "to": str(newest + 1)}) == where(bool)  # unix seconds
    assert await ids(**{"from": str(newest + 1)}) == []
    # Paged one by one, a filter keeps its rows and its order.
    assert await _all_pages(client, base, headers, key_id=key_id, limit="1") == where(lambda r: r.key_id == key_id)


async def test_another_account_sees_nothing_of_yours(client, gateway, workload):
    other = await new_account(client, gateway.url, "other")
    assert await _ids(client, gateway.url, other.bearer) == []
    assert await _ids(client, gateway.url, other.bearer, key_id=workload.key["id"]) == []  # your key: no rows of yours
    page = await _list(client, gateway.url, workload.account.bearer, limit="2")
    assert await _ids(client, gateway.url, other.bearer, cursor=page["next_cursor"]) == []  # your cursor: still theirs
    assert (await _list(client, gateway.url, other.bearer))["has_more"] is False


BAD = [  # (params, the param the error names)
    ({"limit": "0"}, "limit"), ({"limit": "201"}, "limit"), ({"limit": "-1"}, "limit"), ({"limit": "1.5"}, "limit"),
    ({"limit": "ten"}, "limit"), ({"limit": "9" * 40}, "limit"),
    ({"cursor": "not-a-cursor"}, "cursor"), ({"cursor": ""}, "cursor"), ({"cursor": "bm9jb2xvbg"}, "cursor"),
    ({"cursor": "MTIzOg"}, "cursor"), ({"cursor": "%%%"}, "cursor"),
    ({"status": "abc"}, "status"), ({"status": "600"}, "status"), ({"status": "99"}, "status"),
    ({"status": "4xx"}, "status"), ({"status": "200.0"}, "status"),
    ({"from": "yesterday"}, "from"), ({"from": "2026-13-01"}, "from"), ({"from": "-5"}, "from"),
    ({"from": "1e9"}, "from"), ({"from": "NaN"}, "from"), ({"to": "9" * 30}, "to"), ({"from": "1969-12-31"}, "from"),
    ({"from": "2026-05-02", "to": "2026-05-01"}, "from"), ({"from": "2026-05-01", "to": "2026-05-01"}, "from"),
    ({"key_id": ""}, "key_id"), ({"key_id": "k" * 41}, "key_id"), ({"model": ""}, "model"),
    ({"model": "m" * 101}, "model"),
]


@pytest.mark.parametrize(("params", "param"), BAD, ids=[str(p) for p, _ in BAD])
async def test_bad_parameters_are_400_naming_the_parameter(client, base, workload, params, param):
    status, body, _ = await call(client, "GET", f"{base}/v1/requests", headers=workload.account.bearer,
                                 params=params)
    assert status == 400 and is_openai_error(body), body
    assert (body["error"]["type"], body["error"]["param"]) == ("invalid_request_error", param)


async def test_without_credentials_it_is_401(client, base):
    status, body, _ = await call(client, "GET", f"{base}/v1/requests")
    assert status == 401 and is_openai_error(body)


async def test_pages_never_repeat_or_skip_a_request_while_new_ones_land(client, gateway, db):
    account = await account_on_tier(client, gateway, db, "enterprise")
    key = await create_key(client, gateway.url, account, "pager")

    async def requests(count: int) -> None:
        for n in range(count):  # by key and by session in turn
            headers = {"X-API-Key": key["key"]} if n % 2 else account.bearer
            assert (await chat(client, gateway.url, headers, model="deepseek-v4"))[0] == 200

    await requests(7)
    before = _newest_first(await ledger_rows(db, account.id, 7))
    first = await _list(client, gateway.url, account.bearer, limit="3")
    landing = asyncio.create_task(requests(4))  # newer than every row below the first page
    pages, cursor = [item["id"] for item in first["data"]], first["next_cursor"]
    while cursor:
        page = await _list(client, gateway.url, account.bearer, limit="3", cursor=cursor)
        pages += [item["id"] for item in page["data"]]
        cursor = page["next_cursor"]
        await asyncio.sleep(0.05)  # let the new requests land between pages
    await landing
    assert pages == [row.request_id for row in before]  # each once, in order, none missing
    after = _newest_first(await ledger_rows(db, account.id, 11))
    newest = await _list(client, gateway.url, account.bearer, limit="4")
    assert [item["id"] for item in newest["data"]] == [row.request_id for row in after[:4]]
    assert not {item["id"] for item in newest["data"]} & set(pages) and newest["has_more"]
    assert await _all_pages(client, gateway.url, account.bearer, limit="200") == [row.request_id for row in after]
