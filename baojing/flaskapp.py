"""The Flask class this app runs on: Flask with its per-call async check remembered."""

from inspect import iscoroutinefunction
from weakref import WeakSet

from flask import Flask


class BaojingFlask(Flask):
    """Flask, except that ensure_sync remembers which functions it found synchronous.

    Flask asks `inspect.iscoroutinefunction` about every hook and the view on every
    request (about fifteen times a page here). The hooks and views are the same
    function objects all day, so the answer is kept, weakly: a closure made for
    one request is forgotten with it. Flask's docs name ensure_sync as the method to
    override for this.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._known_sync = WeakSet()

    def ensure_sync(self, func):
        try:
            if func in self._known_sync:
                return func
        except TypeError:  # unhashable: ask every time
            return super().ensure_sync(func)
        if iscoroutinefunction(func):
            return self.async_to_sync(func)
        try:
            self._known_sync.add(func)
        except TypeError:  # cannot be weakly referenced (an itemgetter, a __slots__ class)
            pass
        return func
