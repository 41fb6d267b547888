"""One-time codes and magic links that open a case's status page."""

import secrets

from django.conf import settings
from django.db import transaction

from recours.accounts import actions as accounts_actions
from recours.cases import notices
from recours.cases.engine import locked
from recours.cases.models import Case, ContactChannel
from recours.core import audit
from recours.core.audit import Actor


def send_access_code(case: Case, link_base: str = "") -> str | None:
    """Send a one-time code (SMS), or a code and a magic link (e-mail), that open
    the status page; return the channel used, or None when a cap refused it.

    The new code replaces the case's live ones. Requests are capped per case
    (per hour and per day) and texts per destination number (SMS pumping);
    over a cap nothing is issued or sent. The code is stored hashed; only the
    message carries it.
    """
    subject = f"case:{case.reference}"
    actor = Actor(label="customer")
    with transaction.atomic():
        # One request at a time per case, so only one code is ever live.
        case = locked(case)
        capped = access_code_cap(case)
        if capped:
            audit.record(actor, "case.access_code_refused", case,
                         organization_id=case.organization_id,
                         data={"cap": capped})  # fmt: skip
            return None
        if case.contact_channel == ContactChannel.SMS:
            extra = {"code": accounts_actions.issue_code(subject, "sms")}
        else:
            issued = accounts_actions.issue_codes(subject, ["email", "link"])
            extra = {"code": issued["email"], "link": f"{link_base or settings.SITE_URL}"
                     f"/status/open/{case.reference}/{issued['link']}/"}  # fmt: skip
        audit.record(actor, "case.access_code_sent", case,
                     organization_id=case.organization_id)  # fmt: skip
        # The key is shown in the console and doubles as a Message-ID: never the code.
        notices.notify_customer(case, "access_code", f"case:{case.reference}:code:"
                        f"{secrets.token_hex(8)}", extra)  # fmt: skip
    return case.contact_channel


def access_code_cap(case: Case) -> str:
    """The cap this request passes (see accounts.actions.code_request_cap), or ""."""
    sms_number = (
        case.contact_phone if case.contact_channel == ContactChannel.SMS else ""
    )
    return accounts_actions.code_request_cap(f"case:{case.reference}", sms_number)


def check_access_code(case: Case, code: str, *, link: bool = False) -> bool:
    """True once for the case's live code (or, with link=True, its link token)."""
    return accounts_actions.check_code(f"case:{case.reference}", code, link=link)
