"""Kept for sites that import the Redis client from here; it lives in `tailor.redis`."""

from tailor.redis import get_redis, redis_key

__all__ = ["get_redis", "redis_key"]
