"""BaojingFlask: Flask's ensure_sync, with its answers remembered."""

import asyncio
from operator import itemgetter

import pytest

from baojing.flaskapp import BaojingFlask


def test_sync_functions_come_back_as_they_are_and_async_ones_wrapped():
    app = BaojingFlask(__name__)

    def view():
        return "ok"

    async def async_view():
        await asyncio.sleep(0)
        return "async ok"

    assert app.ensure_sync(view) is view
    assert app.ensure_sync(view) is view  # remembered: asked again, same answer
    assert view in app._known_sync
    # Never handed back as if it were synchronous: Flask wraps it, and without the
    # asgiref extra (not installed here) says so, exactly as plain Flask does.
    with pytest.raises(RuntimeError, match="async"):
        app.ensure_sync(async_view)
    assert async_view not in app._known_sync


def test_callables_that_cannot_be_remembered_still_work():
    app = BaojingFlask(__name__)
    getter = itemgetter(0)  # no weak references to it
    assert app.ensure_sync(getter) is getter
    assert app.ensure_sync(getter) is getter


def test_a_closure_made_per_request_is_forgotten_with_it():
    app = BaojingFlask(__name__)

    def make():
        def hook():
            return None

        return hook

    app.ensure_sync(make())  # nothing else keeps it
    assert len(app._known_sync) == 0
