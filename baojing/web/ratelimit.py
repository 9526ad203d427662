"""Per-address rate limits for the few public endpoints, with the `limits` library.

Flask-Limiter (built on the same library) hooks every request of the app, before,
after and at teardown: about 0.08 ms a page measured here, to guard one public
view. Only /verify needs a limit (everything else needs a login), so the view
asks for it itself.
"""

import time
from functools import lru_cache, wraps

from flask import current_app, request
from limits import parse_many, storage, strategies
from werkzeug.exceptions import TooManyRequests

# Parsed once per distinct setting ("30 per minute; 300 per day"), not per request.
_limits = lru_cache(maxsize=16)(parse_many)


def init_app(app) -> None:
    # memory:// counts per worker process; RATELIMIT_STORAGE_URI may name a shared store.
    store = storage.storage_from_string(app.config["RATELIMIT_STORAGE_URI"])
    app.extensions["baojing_ratelimit"] = strategies.MovingWindowRateLimiter(store)


def limited(config_key: str):
    """Refuse with 429 once an address exceeds the limits named by config[config_key].

    The value reads like "30 per minute; 300 per day"; it is parsed per request so
    that tests and operators may change it without a restart.
    """

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            limiter = current_app.extensions["baojing_ratelimit"]
            address = request.remote_addr or "unknown"
            bucket = request.endpoint or view.__name__  # one bucket per endpoint
            for item in _limits(current_app.config[config_key]):
                if not limiter.hit(item, bucket, address):
                    reset_at = limiter.get_window_stats(item, bucket, address).reset_time
                    raise TooManyRequests(retry_after=max(1, int(reset_at - time.time())))
            return view(*args, **kwargs)

        return wrapper

    return decorate
