"""One Redis client (and connection pool) per URL in this process, for every use of Redis."""

from functools import cache


@cache
def client(url):
    import redis

    return redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
