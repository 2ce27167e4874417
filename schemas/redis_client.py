"""One Redis client per process from CLEW_REDIS_URL: a single server, or a Redis Cluster.

`redis://host:6379/0` (or `rediss://` for TLS) is one server. `redis+cluster://host:6379` (or
`rediss+cluster://`) is a cluster reached through any of its nodes; the client discovers the rest.
Each Lua script and each MULTI the gateway runs touches one key (per-account keys carry the account
as a hash tag), so each stays within one slot, as a cluster requires.

The pool is sized and bounded on purpose: under a burst, a command waits up to POOL_WAIT_SECONDS
for a free connection instead of failing at once (redis-py's default pool raises
MaxConnectionsError past its cap, which turned overload into lost usage). A connection Redis
dropped (a restart, an idle timeout) is noticed by a ping before reuse and a command that still
meets a closed connection is retried once on a new one. Timeouts are not retried: the command may
have run, and a second INCRBY would count twice.
"""
from redis.asyncio import BlockingConnectionPool, Redis, RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

CLUSTER_SUFFIX = "+cluster"
MAX_CONNECTIONS = 64        # per process; a sidecar holds at most this many requests in Redis at once
POOL_WAIT_SECONDS = 5.0     # within ext_proc's message timeout: a long wait fails the request cleanly
HEALTH_CHECK_SECONDS = 30   # a connection idle this long is pinged before it is used again


def is_cluster(url: str) -> bool:
    return url.split("://", 1)[0].endswith(CLUSTER_SUFFIX)


def _retry_once() -> Retry:
    return Retry(NoBackoff(), retries=1, supported_errors=(RedisConnectionError,))


def connect(url: str, max_connections: int = MAX_CONNECTIONS) -> Redis | RedisCluster:
    if is_cluster(url):
        scheme, rest = url.split("://", 1)
        # The cluster client keeps a pool per node, capped by max_connections each.
        return RedisCluster.from_url(f"{scheme.removesuffix(CLUSTER_SUFFIX)}://{rest}",
                                     max_connections=max_connections, retry=_retry_once())
    pool = BlockingConnectionPool.from_url(url, max_connections=max_connections, timeout=POOL_WAIT_SECONDS,
                                           retry=_retry_once(), health_check_interval=HEALTH_CHECK_SECONDS)
    return Redis(connection_pool=pool)
