"""Races on purpose: run a callback in another transaction at a chosen point.

`before(target, callback)` patches the function at the dotted path `target`
so that its first call first runs `callback` to completion in another thread,
with its own database connection and transaction, and only then goes on. A
test puts the competing checkout exactly between "read" and "lock" this way
(saleor's tests/race_condition.py does the same). Concurrency needs
PostgreSQL: on SQLite one writer holds the whole database.
"""

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from django.db import connection, transaction


def in_other_transaction(callback: Callable[[], Any], timeout: float = 10) -> Any:
    """Run `callback` in a new thread and transaction; return its result.

    Raises what the callback raised, or TimeoutError when it is still
    waiting (on a lock this thread holds, say) after `timeout` seconds.
    """
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            with transaction.atomic():
                outcome["result"] = callback()
        except BaseException as error:  # handed to the calling thread
            outcome["error"] = error
        finally:
            connection.close()

    thread = threading.Thread(target=run, name="race", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise TimeoutError(f"the other transaction still waits after {timeout} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("result")


@contextmanager
def before(target: str, callback: Callable[[], Any]) -> Iterator[list[Any]]:
    """Patch `target` so that its first call runs `callback` in another
    transaction first. Yields a list that receives the callback's result
    (or the exception it raised)."""
    original = mock.patch(target).get_original()[0]
    results: list[Any] = []

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not results:
            try:
                results.append(in_other_transaction(callback))
            except Exception as error:
                results.append(error)
        return original(*args, **kwargs)

    with mock.patch(target, side_effect=wrapper):
        yield results


def concurrently(callbacks: list[Callable[[], Any]], timeout: float = 60) -> list[Any]:
    """Start every callback at once, each in its own thread and transaction;
    return each one's result or exception, in order."""
    barrier = threading.Barrier(len(callbacks))
    outcomes: list[Any] = [None] * len(callbacks)

    def run(index: int, callback: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout)
            with transaction.atomic():
                outcomes[index] = callback()
        except Exception as error:
            outcomes[index] = error
        finally:
            connection.close()

    threads = [
        threading.Thread(target=run, args=(index, callback), daemon=True)
        for index, callback in enumerate(callbacks)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    if any(thread.is_alive() for thread in threads):
        raise TimeoutError(f"some callbacks still run after {timeout} s")
    return outcomes
