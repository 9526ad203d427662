"""A tiny per-process cache for small lists that change rarely (filter menus)."""

import functools
import time

_ALL: list = []


def clear_all() -> None:
    """Empty every cache (tests switch databases between cases)."""
    for clear in _ALL:
        clear()


def ttl_cache(seconds: float, key):
    """Cache fn(*args) for `seconds` under key(*args); each worker keeps its own copy.

    Only for data where a minute of staleness harms no one, such as the provinces
    in a filter menu: never for anything that decides access.
    """

    def decorate(fn):
        store: dict = {}

        @functools.wraps(fn)
        def wrapper(*args):
            k = key(*args)
            now = time.monotonic()
            hit = store.get(k)
            if hit is not None and hit[0] > now:
                return hit[1]
            value = fn(*args)
            store[k] = (now + seconds, value)
            return value

        wrapper.cache_clear = store.clear
        _ALL.append(store.clear)
        return wrapper

    return decorate
