"""Django's flush, allowed to empty the append-only tables.

The test runner flushes the database between transactional tests; on SQLite
that is a DELETE, which the append-only triggers refuse outside `erasing()`.
"""

from typing import Any

from django.core.management.commands import flush

from recours.core.append_only import erasing


class Command(flush.Command):
    def handle(self, **options: Any) -> None:
        with erasing():
            super().handle(**options)
