"""One Redis client per process from CLEW_REDIS_URL: a single server, or a Redis Cluster.

`redis://host:6379/0` (or `rediss://` for TLS) is one server. `redis+cluster://host:6379` (or
`rediss+cluster://`) is a cluster reached through any of its nodes; the client discovers the rest.
Each Lua script and each MULTI the gateway runs touches one key (per-account keys carry the account
as a hash tag), so each stays within one slot, as a cluster requires.
"""
from redis.asyncio import Redis, RedisCluster

CLUSTER_SUFFIX = "+cluster"


def is_cluster(url: str) -> bool:
    return url.split("://", 1)[0].endswith(CLUSTER_SUFFIX)


def connect(url: str) -> Redis | RedisCluster:
    if is_cluster(url):
        scheme, rest = url.split("://", 1)
        return RedisCluster.from_url(f"{scheme.removesuffix(CLUSTER_SUFFIX)}://{rest}")
    return Redis.from_url(url)
