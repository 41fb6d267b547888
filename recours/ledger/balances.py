"""The cached balances: rebuilt from the postings when they drifted.

A cached balance is a copy of the sum of its account's postings, kept for
speed; the postings are the truth (ARCHITECTURE.md section 4, invariant 3).
When the integrity detectors find a copy that differs, an approved
correction rebuilds it from the postings: nothing of the history changes.
"""

from django.db import transaction
from django.utils.translation import gettext as _

from recours.core import audit
from recours.core.audit import Actor
from recours.core.errors import Conflict
from recours.core.locks import lock_row
from recours.ledger.models import CUSTOMER_KINDS, LedgerAccount
from recours.ledger.queries import balance_from_postings


def rebuild_balance(actor: Actor, account: LedgerAccount) -> int:
    """Set the cached balance to the sum of the postings; returns the change."""
    with transaction.atomic():
        account = lock_row(LedgerAccount, account.pk)
        posted = balance_from_postings(account)
        if account.kind in CUSTOMER_KINDS and posted < 0:
            raise Conflict(
                _("The postings of this account sum below zero: a person must look."),
                code="postings_below_zero",
            )
        change = posted - account.balance_minor
        LedgerAccount.objects.filter(pk=account.pk).update(balance_minor=posted)
        audit.record(
            actor,
            "ledger.balance_rebuilt",
            account,
            organization_id=account.organization_id,
            data={"from_minor": account.balance_minor, "to_minor": posted},
        )
    return change
