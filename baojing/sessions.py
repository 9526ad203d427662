"""Flask's signed-cookie sessions, remembering the cookies this worker already verified.

Every request carries the same cookie until something in the session changes, and
checking it (base64, zlib, HMAC, JSON) cost about 30 µs a request. The check itself
stays itsdangerous': a cookie string is remembered only after it verified, and only
that exact string, with its signing time, so the age limit is still applied.
"""

import time

from flask.sessions import SecureCookieSessionInterface
from itsdangerous import BadSignature

_REMEMBERED = 2048  # cookies per worker; the table is emptied when it fills


class VerifiedCookieSessionInterface(SecureCookieSessionInterface):
    def __init__(self):
        self._verified: dict[tuple, tuple[dict, float]] = {}

    def open_session(self, app, request):
        value = request.cookies.get(self.get_cookie_name(app))
        if not value:
            return self.session_class()
        max_age = app.permanent_session_lifetime.total_seconds()
        now = time.time()
        # A new secret key, or a fallback key taken away, forgets every cookie.
        key = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()), value)
        seen = self._verified.get(key)
        if seen is None:
            serializer = self.get_signing_serializer(app)
            if serializer is None:
                return None
            try:
                data, signed = serializer.loads(value, max_age=int(max_age), return_timestamp=True)
            except BadSignature:
                return self.session_class()
            seen = (data, signed.timestamp())
            # Only flat sessions are shared between requests: a list inside (flashed
            # messages) is changed in place and must not leak into the next request.
            if all(isinstance(v, str | int | float | bool) for v in data.values()):
                if len(self._verified) >= _REMEMBERED:
                    self._verified.clear()
                self._verified[key] = seen
        elif now - seen[1] > max_age:
            self._verified.pop(key, None)  # another thread may have dropped it
            return self.session_class()
        return self.session_class(seen[0])
