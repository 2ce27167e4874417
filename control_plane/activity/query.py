"""The activity log's query: one account's ledger rows, newest first, a page at a time.

Pages are keyset-paginated on (created_at, request_id): a page's cursor is its last row, and the next
page starts strictly below it. Requests that land meanwhile are newer, so paging never repeats or
skips a row (an OFFSET would do both, and read every row it skips). Each page is one backward walk
of an index, stopped after `limit + 1` rows (the extra one says whether there is more):
(account_id, created_at, request_id), or (account_id, key_id, created_at, request_id) for one key.
The model and status filters are checked on the rows that walk reads.
"""
import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from control_plane.clock import as_utc
from schemas.tables import api_keys
from schemas.tables import usage_events as ue

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ERROR_STATUS = 400  # status=error: every request answered 400 or above


@dataclass(frozen=True)
class Filters:
    key_id: str | None = None
    model: str | None = None
    status: int | None = None
    errors: bool = False             # status >= 400
    start: datetime | None = None    # inclusive, UTC
    end: datetime | None = None      # exclusive, UTC


@dataclass(frozen=True)
class Position:
    """A row's place in the log's order: a page's cursor names its last row."""
    created_at: datetime
    request_id: str

    def encode(self) -> str:
        # Whole microseconds (what both databases keep), not a float: the position must be exact.
        micros = (as_utc(self.created_at) - EPOCH) // timedelta(microseconds=1)
        return base64.urlsafe_b64encode(f"{micros}:{self.request_id}".encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, cursor: str) -> "Position":
        """The position a cursor names; ValueError for anything no page ever handed out."""
        try:
            text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise ValueError("not a cursor") from None
        micros, _, request_id = text.partition(":")
        if not (micros.isascii() and micros.isdigit() and len(micros) <= 17 and 0 < len(request_id) <= 64):
            raise ValueError("not a cursor")
        return cls(EPOCH + timedelta(microseconds=int(micros)), request_id)


def _conditions(account_id: str, filters: Filters, after: Position | None) -> list:
    where = [ue.c.account_id == account_id]
    if filters.key_id is not None:
        where.append(ue.c.key_id == filters.key_id)
    if filters.model is not None:
        where.append(ue.c.model == filters.model)
    if filters.status is not None:
        where.append(ue.c.status == filters.status)
    if filters.errors:
        where.append(ue.c.status >= ERROR_STATUS)
    if filters.start is not None:
        where.append(ue.c.created_at >= filters.start)
    # One upper bound, the tighter: given two, a database bounds the index walk by one and filters by
    # the other, and a `to` bound would make every later page start its walk at `to` again.
    if after is not None and (filters.end is None or after.created_at < filters.end):
        # A row value comparison: both databases turn it into the upper bound of the index range.
        where.append(sa.tuple_(ue.c.created_at, ue.c.request_id) <
                     sa.tuple_(sa.literal(after.created_at, ue.c.created_at.type),
                               sa.literal(after.request_id, ue.c.request_id.type)))
    elif filters.end is not None:  # every row before `to` is before the cursor too
        where.append(ue.c.created_at < filters.end)
    return where


def page_query(account_id: str, filters: Filters, after: Position | None, limit: int) -> sa.Select:
    """The rows of one page, each with its key's display prefix and last four (none for sessions)."""
    # A row's key_id is the key its account called with (sessions: "", which no key has).
    return (sa.select(ue, api_keys.c.prefix.label("key_prefix"), api_keys.c.last4.label("key_last4"))
            .select_from(ue.outerjoin(api_keys, api_keys.c.id == ue.c.key_id))
            .where(*_conditions(account_id, filters, after))
            .order_by(ue.c.created_at.desc(), ue.c.request_id.desc())
            .limit(limit + 1))


async def page(conn: AsyncConnection, account_id: str, filters: Filters, after: Position | None,
               limit: int) -> tuple[list, str | None]:
    """Up to `limit` rows below `after`, and the cursor of the next page (None on the last)."""
    rows = (await conn.execute(page_query(account_id, filters, after, limit))).all()
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    return rows[:limit], Position(last.created_at, last.request_id).encode()
