"""Calendar periods in UTC: month bounds in Python, and the day or month of a timestamp in SQL.

SQLite stores the ledger's UTC timestamps as text ('2026-05-03 12:34:56.000000'); PostgreSQL
stores timestamptz, whose calendar day depends on the session's zone unless it is asked for UTC.
"""
from datetime import date, datetime, timedelta

import sqlalchemy as sa

DAY = "day"
MONTH = "month"
_SQLITE = {DAY: "%Y-%m-%d", MONTH: "%Y-%m"}
_POSTGRES = {DAY: "YYYY-MM-DD", MONTH: "YYYY-MM"}


def month_start(moment: datetime) -> datetime:
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def next_month(start: datetime) -> datetime:
    return (start + timedelta(days=32)).replace(day=1)


def month_bounds(moment: datetime) -> tuple[datetime, datetime]:
    start = month_start(moment)
    return start, next_month(start)


def month_name(moment: datetime | date) -> str:
    return moment.strftime("%Y-%m")


def months_between(first: datetime, last: datetime) -> list[datetime]:
    """The starts of every month from first's to last's, oldest first."""
    months, current = [], month_start(first)
    while current <= last:
        months.append(current)
        current = next_month(current)
    return months


def calendar_key(dialect: str, column: sa.ColumnElement, unit: str) -> sa.ColumnElement:
    """'YYYY-MM-DD' (unit DAY) or 'YYYY-MM' (unit MONTH) of a UTC timestamp column, as text."""
    # Literal formats, not bound parameters: PostgreSQL matches a GROUP BY expression to the
    # selected one by its text, and two parameters ($1, $2) never match.
    if dialect == "sqlite":
        return sa.func.strftime(sa.literal_column(f"'{_SQLITE[unit]}'"), column)
    return sa.func.to_char(sa.func.timezone(sa.literal_column("'UTC'"), column),
                           sa.literal_column(f"'{_POSTGRES[unit]}'"))
