"""The one owner of the process's caches: what a module keeps between calls (a form version's
parse, its schema and parse plan, the raw store's versions, the warehouse's known tables,
verified passwords, when each app user was last seen, gzipped download bodies) is registered
here, and ``clear_all`` empties every one of them.

Publishing a form clears them (``pipeline.forms.publish``), and so does each test's app
(``tests/conftest.py``). Every cache is keyed so that it can never answer wrongly (by a
version's md5, by a database), so clearing only costs the work of filling it again.
Pure lookups that never change while the process runs (the location lists, the bytes of a fixed
answer) are plain ``functools.cache`` and need no clearing.
"""

from __future__ import annotations

from collections.abc import Callable

_CLEARERS: list[Callable[[], None]] = []


def register(clear: Callable[[], None]) -> Callable[[], None]:
    """Add a cache's ``clear`` (once per module, at import)."""
    if clear not in _CLEARERS:
        _CLEARERS.append(clear)
    return clear


def clear_all() -> None:
    for clear in _CLEARERS:
        clear()
