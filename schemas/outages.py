"""Which exceptions mean "a dependency (PostgreSQL, Redis) is away", as opposed to a bug.

Callers answer these with 503 and Retry-After (the client should simply retry) and log the outage;
anything else is a 500 worth a stack trace.
"""
import asyncio

import sqlalchemy as sa
from redis import exceptions as redis_errors

_UNAVAILABLE = (
    sa.exc.OperationalError,    # cannot connect, server shutting down or starting up
    sa.exc.InterfaceError,      # the connection died under the query
    sa.exc.DisconnectionError,
    sa.exc.TimeoutError,        # no pooled connection came free in time
    redis_errors.ConnectionError,
    redis_errors.TimeoutError,
    OSError,                    # connection refused before the driver could wrap it
    asyncio.TimeoutError,
)


def is_outage(exc: BaseException) -> bool:
    if isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, _UNAVAILABLE)
