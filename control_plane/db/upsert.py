"""INSERT ... ON CONFLICT for both databases we run on (PostgreSQL and SQLite speak the same clause)."""
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def insert_for(conn: AsyncConnection, table: sa.Table):
    """The dialect's INSERT, which has on_conflict_do_update / on_conflict_do_nothing."""
    return _INSERTS[conn.dialect.name](table)


async def upsert(conn: AsyncConnection, table: sa.Table, rows: list[dict]) -> None:
    """Insert `rows`, replacing the non-key columns of rows whose primary key already exists."""
    if not rows:
        return
    keys = [c.name for c in table.primary_key.columns]
    statement = insert_for(conn, table).values(rows)
    others = {name: statement.excluded[name] for name in rows[0] if name not in keys}
    await conn.execute(statement.on_conflict_do_update(index_elements=keys, set_=others)
                       if others else statement.on_conflict_do_nothing(index_elements=keys))
