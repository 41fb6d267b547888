"""The notices of a case (issue 13) in French and English, in every variant
their callers produce, rendered by the outbox as it sends them: the
reference and the link are there, an SMS stays in the GSM-7 alphabet and
within two parts, an HTML body is well-formed, links to the same page and
says what the text says. Then the protection process walked through the real
actions and the deadline job, asserting who heard of what."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.template.loader import render_to_string
from django.utils import translation

from recours.cases import notices, protection, workflows
from recours.cases.access import staff_actor
from recours.cases.deadlines import expire_due
from recours.cases.models import Case, Decision, MerchantAnswer
from recours.core import clock
from recours.notifications.models import OutboxMessage
from recours.notifications.outbox import enqueue
from recours.notifications.templatetags.sms import GSM7, GSM7_EXTENSION
from recours.testing import file_claim, membership, protected_order

SITE_URL = "https://recours.example.com"
LANGUAGES = ("fr", "en")
SMS_CHARACTERS_MAX = 320
# One SMS part holds 160 septets; a character of the extension table takes two.
SMS_PART_SEPTETS = 160
INVALID = "INVALID_VARIABLE"


@pytest.fixture(autouse=True)
def _english_and_strict(settings):
    """English by default; a variable a template names but its context lacks
    shows as INVALID_VARIABLE instead of silently vanishing; links on a real
    host name, as long as a production one."""
    settings.LANGUAGE_CODE = "en"
    settings.SITE_URL = SITE_URL
    engine, *others = settings.TEMPLATES
    options = {**engine["OPTIONS"], "string_if_invalid": f"{INVALID}[%s]"}
    settings.TEMPLATES = [{**engine, "OPTIONS": options}, *others]
    with translation.override("en"):
        yield


@pytest.fixture
def claim(frozen, platform, merchant_a, customer_a) -> Case:
    merchant_a.notification_emails = "claims@alpha.example\nboss@alpha.example"
    merchant_a.save()
    return file_claim(
        protected_order(customer_a),
        description="Le colis n'est jamais arrivé.\nJ'ai attendu \"trois\" semaines & plus.",
    )


# What the callers pass (cases.engine.announce, cases.deadlines.remind and
# escalate, cases.protection.tell_requested, cases.intake.announce_new).


def answer_of(case: Case, kind: str, amount_minor: int | None = None) -> MerchantAnswer:
    refund = kind != "no_refund"
    return MerchantAnswer(
        case=case, kind=kind,
        amount_minor=(amount_minor or case.order.total_minor) if refund else None,
        full_amount_minor=case.order.total_minor if refund else None,
        currency="EUR" if refund else "", created_at=clock.now(),
        message="Bonjour,\nnous avons <bien> reçu votre demande & nous remboursons.",
    )  # fmt: skip


def decision_of(case: Case, outcome: str, destination: str = "",
                carried_out: bool = False) -> Decision:  # fmt: skip
    refund = outcome == "refund"
    return Decision(
        case=case, outcome=outcome, amount_minor=9990 if refund else None,
        currency="EUR" if refund else "", destination=destination,
        reason="Le transporteur confirme la perte du colis.\nVoir sa lettre.",
        decided_at=clock.now(), carried_out_at=clock.now() if carried_out else None,
    )  # fmt: skip


def announced(case: Case, status: str, reason: str = "", answer=None, decision=None,
              days: int | None = 10) -> dict:  # fmt: skip
    """The context announce() passes after a transition into `status`."""
    case.status = status
    return {
        "status_label": status.replace("_", " ").capitalize(), "reason": reason,
        "deadline_at": clock.now() + timedelta(days=days) if days else None,
        "answer": answer, "decision": decision,
    }  # fmt: skip


def reminded(case: Case, status: str, answer=None) -> dict:
    case.status = status
    return {"deadline_at": clock.now() + timedelta(days=1), "answer": answer}


def requested(case: Case) -> dict:
    case.status = "waiting_documents"
    return {
        "message": "Merci d'envoyer la preuve de dépôt du colis.",
        "deadline_at": clock.now() + timedelta(days=10),
    }


@dataclass
class Variant:
    notice: str
    name: str
    context: Callable[[Case], dict]  # what the caller passes, for this case
    kind: str = ""
    said: list[str] = field(default_factory=list)  # English words it must say


def decisions(notice: str) -> list[Variant]:
    return [
        Variant(notice, "refund_original", lambda c: announced(
            c, "decided", decision=decision_of(c, "refund", "original_payment")),
            said=["99.90", "original means of payment"]),
        Variant(notice, "refund_store_credit", lambda c: announced(
            c, "decided", decision=decision_of(c, "refund", "store_credit")),
            said=["99.90", "store credit"]),
        Variant(notice, "replacement", lambda c: announced(
            c, "decided", decision=decision_of(c, "replacement")),
            said=["replacement"]),
        Variant(notice, "no_refund", lambda c: announced(
            c, "closed", days=None, decision=decision_of(c, "no_refund")),
            said=["no refund"]),
    ]  # fmt: skip


def closes(notice: str) -> list[Variant]:
    return [
        Variant(notice, "refund_paid", lambda c: announced(
            c, "closed", days=None, answer=answer_of(c, "no_refund"),
            decision=decision_of(c, "refund", "original_payment", carried_out=True)),
            said=["99.90", "has been paid"]),
        Variant(notice, "replacement_sent", lambda c: announced(
            c, "closed", days=None,
            decision=decision_of(c, "replacement", carried_out=True)),
            said=["has been sent"]),
        Variant(notice, "customer_silent", lambda c: announced(
            c, "closed", "Deadline passed.", days=None,
            answer=answer_of(c, "refund")), said=["Deadline passed."]),
        Variant(notice, "customer_withdrew", lambda c: announced(
            c, "closed", days=None), said=["is closed"]),
    ]  # fmt: skip


CUSTOMER_VARIANTS = [
    Variant("merchant_answered", "refund", lambda c: announced(
        c, "awaiting_customer", answer=answer_of(c, "refund"), days=20),
        said=["refund of 129.90", "Once the refund has reached you"]),
    Variant("merchant_answered", "partial_refund", lambda c: announced(
        c, "awaiting_customer", answer=answer_of(c, "refund", 5000), days=20),
        said=["partial refund of 50.00", "129.90", "do not accept a partial"]),
    Variant("merchant_answered", "refund_after_return", lambda c: announced(
        c, "awaiting_customer", answer=answer_of(c, "refund_after_return"), days=20),
        said=["129.90", "return"]),
    Variant("merchant_answered", "partial_after_return", lambda c: announced(
        c, "awaiting_customer", answer=answer_of(c, "refund_after_return", 5000),
        days=20), said=["50.00", "return"]),
    Variant("merchant_answered", "no_refund", lambda c: announced(
        c, "awaiting_customer", answer=answer_of(c, "no_refund"), days=20),
        said=["does not offer a refund", "do not agree"]),
    Variant("merchant_answered", "refused_after_cancellation", lambda c: announced(
        c, "review", answer=answer_of(c, "no_refund")),
        kind="refund_not_received", said=["mediat"]),
    Variant("answer_needed", "refund", lambda c: reminded(
        c, "awaiting_customer", answer_of(c, "refund")), said=["129.90"]),
    Variant("answer_needed", "no_refund", lambda c: reminded(
        c, "awaiting_customer", answer_of(c, "no_refund")), said=["does not offer a refund"]),
    Variant("forwarded_to_review", "merchant_silent", lambda c: announced(
        c, "review", "Deadline passed."), said=["did not answer"]),
    Variant("forwarded_to_review", "customer_disagreed", lambda c: announced(
        c, "review", answer=answer_of(c, "no_refund")), said=["mediation team"]),
    Variant("documents_requested", "by_date", requested,
            said=["preuve de dépôt"]),
    *decisions("decision"),
    *closes("case_closed"),
]  # fmt: skip
MERCHANT_VARIANTS = [
    Variant("claim_opened", "new", lambda c: {"deadline_at": c.deadline_at},
            said=["CMD-2026-0042", "27 Feb 2026", "129.90", "jamais arrivé",
                  "7 Mar 2026, 10:00 CET", "calendar days", "Answer here"]),
    Variant("deadline_approaching", "silent", lambda c: reminded(
        c, "awaiting_merchant"), said=["platform review on 3 Mar 2026"]),
    Variant("forwarded_to_review", "silent", lambda c: announced(
        c, "review", "Deadline passed."), said=["did not answer"]),
    Variant("forwarded_to_review", "customer_replied", lambda c: announced(
        c, "review", answer=answer_of(c, "refund", 5000)),
        said=["customer has replied"]),
    Variant("forwarded_to_review", "refused_after_cancellation", lambda c: announced(
        c, "review", answer=answer_of(c, "no_refund")),
        kind="refund_not_received", said=["straight to platform review"]),
    Variant("documents_requested", "by_date", requested, said=["preuve de dépôt"]),
    *decisions("decision"),
    *closes("case_closed"),
]  # fmt: skip


def variant_id(variant: Variant) -> str:
    return f"{variant.notice}-{variant.name}"


@dataclass
class Sent:
    message: OutboxMessage
    link: str


def send(case: Case, variant: Variant, party: str, channel: str,
         language: str) -> Sent:  # fmt: skip
    """Queue the notice through the outbox as cases.notices does, in `language`."""
    if variant.kind:
        case.kind = variant.kind
    extra = variant.context(case)
    if party == "merchant":
        link, template = notices.console_url(case), f"merchant_{variant.notice}"
        context = {"case": case, "console_url": link, **extra}
    elif party == "lead":
        link, template = notices.console_url(case), variant.notice
        context = {"case": case, "console_url": link, **extra}
    else:
        link, template = notices.status_url(case), variant.notice
        context = {"case": case, "status_url": link, **extra}
    message = enqueue(
        dedupe_key=f"test:{party}:{variant_id(variant)}:{channel}:{language}",
        channel=channel, recipient="someone@example.org",
        template=f"{template}.{channel}", context=context, language=language,
    )  # fmt: skip
    return Sent(message, link)


def assert_valid(sent: Sent, case: Case) -> None:
    message = sent.message
    for text in (message.subject, message.body, message.html_body):
        assert INVALID not in text
    assert case.reference in message.subject
    assert case.reference in message.body
    assert sent.link in message.body


# Rendering every variant


def test_it_has_variants_for_every_notice_the_process_sends():
    # given: what the protection workflow and the actions around it send
    process = workflows.PROTECTION
    sent = {pair for transition in process.transitions for pair in transition.notify}
    sent |= {
        (state.deadline.reminder, state.deadline.remind_party)
        for state in process.states
        if state.deadline is not None and state.deadline.reminder
    }
    sent |= {
        ("claim_opened", workflows.TO_MERCHANT),  # intake.announce_new
        ("documents_requested", workflows.TO_CUSTOMER),  # protection.tell_requested
        ("documents_requested", workflows.TO_MERCHANT),
    }

    # then
    covered = {(v.notice, workflows.TO_CUSTOMER) for v in CUSTOMER_VARIANTS}
    covered |= {(v.notice, workflows.TO_MERCHANT) for v in MERCHANT_VARIANTS}
    assert sent <= covered, sent - covered


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("variant", CUSTOMER_VARIANTS, ids=variant_id)
def test_it_renders_each_customer_email(claim, variant, language):
    # when
    sent = send(claim, variant, "customer", "email", language)

    # then
    assert_valid(sent, claim)
    assert sent.message.html_body, "every e-mail has an HTML part"
    page = parse_html(sent.message.html_body)
    assert page.lang == language
    assert sent.link in page.links
    if language == "en":
        for words in variant.said:
            assert words in sent.message.body


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("variant", CUSTOMER_VARIANTS, ids=variant_id)
def test_it_renders_each_customer_sms_in_gsm7(claim, variant, language):
    # when
    sent = send(claim, variant, "customer", "sms", language)

    # then
    assert_valid(sent, claim)
    body = sent.message.body
    assert sent.message.html_body == ""
    assert set(body) <= GSM7 | GSM7_EXTENSION, set(body) - GSM7 - GSM7_EXTENSION
    assert len(body) <= SMS_CHARACTERS_MAX
    if language == "en":
        # The English source fits one part; a translation may take two.
        assert septets(body) <= SMS_PART_SEPTETS, (septets(body), body)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("variant", MERCHANT_VARIANTS, ids=variant_id)
def test_it_renders_each_merchant_email(claim, variant, language):
    # when
    sent = send(claim, variant, "merchant", "email", language)

    # then
    assert_valid(sent, claim)
    page = parse_html(sent.message.html_body)
    assert page.lang == language
    assert sent.link in page.links
    if language == "en":
        for words in variant.said:
            assert words in sent.message.body


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("assigned", [False, True], ids=["unassigned", "assigned"])
def test_it_renders_the_breach_for_the_team_lead(claim, agent, assigned, language):
    # given
    claim.status, claim.team = "review", "mediator"
    claim.assignee = agent if assigned else None
    variant = Variant("sla_breached", "escalated", lambda c: {"priority": "Urgent"})

    # when
    sent = send(claim, variant, "lead", "email", language)

    # then
    assert_valid(sent, claim)
    assert "Urgent" in sent.message.subject
    assert ("agent" in sent.message.body) is assigned
    assert sent.link in parse_html(sent.message.html_body).links


@pytest.mark.parametrize(
    ("party", "variant"),
    [("customer", v) for v in CUSTOMER_VARIANTS]
    + [("merchant", v) for v in MERCHANT_VARIANTS],
    ids=lambda value: value if isinstance(value, str) else variant_id(value),
)
def test_it_says_in_html_what_the_text_says(claim, party, variant):
    # when
    sent = send(claim, variant, party, "email", "en")

    # then: every line of the text part but the link's is in the HTML part
    page = parse_html(sent.message.html_body)
    for line in sent.message.body.splitlines():
        if line.strip() and sent.link not in line:
            assert " ".join(line.split()) in page.text, line


def test_it_writes_dates_and_amounts_the_french_way_in_french(claim):
    # given
    variant = MERCHANT_VARIANTS[0]

    # when
    sent = send(claim, variant, "merchant", "email", "fr")

    # then
    assert "27 fév. 2026" in sent.message.body
    assert "7 mars 2026, 10:00 CET" in sent.message.body
    assert "129,90\u00a0€" in sent.message.body
    assert 'lang="fr"' in sent.message.html_body


def test_it_escapes_what_people_wrote_in_html_only(claim):
    # given
    variant = CUSTOMER_VARIANTS[0]

    # when
    sent = send(claim, variant, "customer", "email", "en")

    # then
    assert "<bien> reçu votre demande & nous" in sent.message.body
    assert "&lt;bien&gt; reçu votre demande &amp; nous" in sent.message.html_body
    assert "<bien>" not in sent.message.html_body


# The process walked through the real actions


def subject_to_customer(case: Case, notice: str) -> str:
    """A notice's subject as the outbox writes it in the customer's language
    (French in these tests, once the catalog translates it)."""
    with translation.override(case.language):
        subject = render_to_string(f"notifications/{notice}.email.subject.txt",
                                   {"case": case})  # fmt: skip
    return " ".join(subject.split())


def subjects(case: Case) -> list[tuple[str, str]]:
    """(recipient, subject) of every message queued about the case, in order."""
    messages = OutboxMessage.objects.filter(about_reference=case.reference)
    return list(messages.order_by("pk").values_list("recipient", "subject"))


def test_it_tells_each_party_along_a_refused_claim(
    claim, merchant_a_agent, mediator, frozen, customer_a
):
    # given: the merchant lets its reminder come, then refuses
    merchant, judge = membership(merchant_a_agent), membership(mediator)
    ref = claim.reference
    frozen.shift(timedelta(days=4, hours=1))
    expire_due()
    protection.merchant_answer(
        merchant, staff_actor(merchant), claim, answer="no_refund",
        amount_minor=None, message="Le colis a été livré, voici la preuve.", files=[],
    )  # fmt: skip
    frozen.shift(timedelta(days=19))
    expire_due()

    # when: the customer disagrees, the mediator asks both sides, both answer,
    # and the mediator decides
    protection.customer_respond(claim, "disagree", "Je n'ai rien reçu.")
    protection.request_documents(
        judge, staff_actor(judge), claim, parties={"customer", "merchant"},
        message="Merci d'envoyer vos preuves.",
    )  # fmt: skip
    protection.add_evidence(claim, [], "Je n'ai jamais signé de bon de livraison.")
    protection.add_evidence(
        claim,
        [],
        "Le bon signé est en pièce jointe.",
        membership=merchant,
        actor=staff_actor(merchant),
    )
    protection.decide(
        judge, staff_actor(judge), claim, outcome="no_refund", amount_minor=None,
        destination="", reason="La preuve de livraison est signée.",
    )  # fmt: skip

    # then
    merchant_mails = ["claims@alpha.example", "boss@alpha.example"]
    customer = customer_a.email
    expected = [
        (customer, subject_to_customer(claim, "case_acknowledged")),
        *[(a, f"New buyer protection claim {ref}: please answer by 7 Mar 2026")
          for a in merchant_mails],
        *[(a, f"Claim {ref} goes to platform review on 7 Mar 2026 without your answer")
          for a in merchant_mails],
        (customer, subject_to_customer(claim, "merchant_answered")),
        (customer, subject_to_customer(claim, "answer_needed")),
        (customer, subject_to_customer(claim, "forwarded_to_review")),
        *[(a, f"Claim {ref} goes to platform review") for a in merchant_mails],
        (customer, subject_to_customer(claim, "documents_requested")),
        *[(a, f"Claim {ref}: our mediator asks you for documents")
          for a in merchant_mails],
        (customer, subject_to_customer(claim, "decision")),
        *[(a, f"Claim {ref}: our mediator has decided") for a in merchant_mails],
    ]  # fmt: skip
    assert subjects(claim) == expected
    sent = OutboxMessage.objects.filter(about_reference=ref)
    assert all(m.html_body and ref in m.body for m in sent)
    assert not any(INVALID in m.body + m.html_body for m in sent)


def test_it_tells_each_party_along_a_silent_merchant_then_a_breach(
    claim, platform, frozen, customer_a, settings
):
    # given: nobody answers; the review's own deadline then passes
    settings.TEAM_LEAD_EMAILS = ["lead@recours.example"]
    ref = claim.reference
    frozen.shift(timedelta(days=4, hours=1))
    expire_due()
    frozen.shift(timedelta(days=1))
    expire_due()
    frozen.shift(timedelta(days=10, hours=1))

    # when
    expire_due()
    protection.customer_respond(claim, "withdraw")

    # then
    lead = [(r, s) for r, s in subjects(claim) if r == "lead@recours.example"]
    assert lead == [("lead@recours.example",
                     f"Service level missed on case {ref}: priority now High")]  # fmt: skip
    told = [s for r, s in subjects(claim) if r == customer_a.email]
    assert told == [
        subject_to_customer(claim, name)
        for name in ("case_acknowledged", "forwarded_to_review", "case_closed")
    ]
    closed = OutboxMessage.objects.get(
        about_reference=ref, recipient="claims@alpha.example",
        subject=f"Claim {ref} is closed",
    )  # fmt: skip
    assert notices.console_url(claim) in closed.body


# Helpers


def septets(text: str) -> int:
    return sum(2 if character in GSM7_EXTENSION else 1 for character in text)


class Page(HTMLParser):
    """An HTML document read strictly: every element closed in order."""

    VOID = frozenset({"meta", "br", "hr", "img", "input", "link", "wbr"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.links: list[str] = []
        self.chunks: list[str] = []
        self.lang = ""

    def handle_starttag(self, tag: str, attrs: list) -> None:
        found = dict(attrs)
        if tag == "html":
            self.lang = found.get("lang", "")
        if tag == "a":
            self.links.append(found.get("href", ""))
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.open, f"</{tag}> closes nothing"
        assert self.open[-1] == tag, f"</{tag}> closes <{self.open[-1]}>"
        self.open.pop()

    def handle_data(self, data: str) -> None:
        self.chunks.append(data)

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.chunks).split())


def parse_html(html: str) -> Page:
    assert html.lstrip().lower().startswith("<!doctype html>")
    page = Page()
    page.feed(html)
    page.close()
    assert page.open == [], f"unclosed: {page.open}"
    assert "<script" not in html and "src=" not in html, "nothing fetched or run"
    return page
