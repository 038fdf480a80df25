"""One Redis client (and connection pool) per URL in this process, for every use of Redis.

A URL ending in ``?cluster=true`` names a Redis Cluster by one of its nodes
(``redis://10.0.0.5:7000/0?cluster=true``): the client is then a
``redis.cluster.RedisCluster`` that finds the other nodes itself. Moving a
site from one Redis to a cluster changes that option and nothing else.
"""

from __future__ import annotations

from functools import cache
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

CLUSTER = 'cluster'  # the query parameter saying that the URL names a cluster
CLUSTER_SCHEMES = ('redis', 'rediss')


def cluster_url(url: str) -> tuple[str, bool]:
    """(``url`` without its ``cluster`` parameter, whether it names a cluster).

    ValueError saying what is wrong: a cluster has database 0 only and is
    reached over TCP; ``cluster`` is ``true`` or ``false``.
    """
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    flags = [value.lower() for name, value in query if name == CLUSTER]
    if not flags:
        return url, False
    if len(flags) > 1 or flags[0] not in ('true', 'false'):
        raise ValueError('?cluster= must be given once, as true or false')
    rest = urlunsplit(parts._replace(query=urlencode([p for p in query if p[0] != CLUSTER])))
    if flags[0] == 'false':
        return rest, False
    if parts.scheme not in CLUSTER_SCHEMES:
        raise ValueError(f'a cluster is reached by redis:// or rediss://, not {parts.scheme}://')
    db = dict(query).get('db', parts.path.strip('/') or '0')
    if db != '0':
        raise ValueError(f'a cluster has database 0 only, not {db!r}')
    return rest, True


@cache
def client(url: str) -> Any:
    """The client of ``url``: ``redis.Redis``, or ``redis.cluster.RedisCluster`` for a cluster."""
    import redis
    from redis.cluster import RedisCluster

    url, cluster = cluster_url(url)
    kind = RedisCluster if cluster else redis.Redis
    return kind.from_url(url, socket_connect_timeout=2, socket_timeout=5)


def is_cluster(redis: Any) -> bool:
    """Whether ``redis`` (a client or a pipeline) talks to a Redis Cluster."""
    from redis.cluster import RedisCluster  # ClusterPipeline is one too

    return isinstance(redis, RedisCluster)


def run_script(script: Any, keys: list[Any], args: list[Any], pipe: Any = None) -> Any:
    """Run ``script`` (from ``register_script``) now, or queue it on ``pipe``.

    redis-py's cluster pipelines queue EVALSHA but never load a script that a
    node lacks (NOSCRIPT on a fresh node, after a restart or a failover), and
    refuse ``eval()``: there the script goes with its text (EVAL), which any
    node runs and caches.
    """
    if pipe is not None and is_cluster(pipe):
        return pipe.execute_command('EVAL', script.script, len(keys), *keys, *args)
    return script(keys=keys, args=args, client=pipe)
