"""Registered handlers: how a lower layer tells a higher one that something
happened without importing it (ARCHITECTURE.md 3).

A higher app registers a handler for a named event in `AppConfig.ready()`; the
lower one calls `emit()` inside its own transaction, so the handlers' writes
commit or roll back with it. A handler that raises aborts the emitting action:
an event nobody could record must not pass silently.
"""

from collections.abc import Callable
from typing import Any

Handler = Callable[..., None]
HANDLERS: dict[str, list[Handler]] = {}


def register(event: str, handler: Handler) -> None:
    """Call `handler(**payload)` on every `emit(event, **payload)`; once per handler."""
    handlers = HANDLERS.setdefault(event, [])
    if handler not in handlers:
        handlers.append(handler)


def emit(event: str, **payload: Any) -> int:
    """Run the handlers registered for `event` in order; return how many ran."""
    handlers = list(HANDLERS.get(event, ()))
    for handler in handlers:
        handler(**payload)
    return len(handlers)
