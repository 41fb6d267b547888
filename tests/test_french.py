"""The French translation: pages, messages to customers, and the catalog itself.

French is the default language. The other tests pin English where they read
texts; these ones read the French texts, and check that the catalog has a
translation for every message, so that a text added later without its
translation fails the suite (once makemessages has extracted it).
"""

import ast
import gettext
import html
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.urls import reverse

from recours.cases.models import Case
from recours.notifications.models import OutboxMessage
from recours.testing import file_case

CATALOG_DIR = Path(django_settings.LOCALE_PATHS[0]) / "fr" / "LC_MESSAGES"
PO_PATH = CATALOG_DIR / "django.po"
MO_PATH = CATALOG_DIR / "django.mo"
NBSP = "\u00a0"  # French puts a no-break space before ":" and "?"

# The GSM 03.38 alphabet (basic table and extension): an SMS with any other
# character is sent as UCS-2, in parts of 70 characters instead of 160.
GSM_7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
    "^{}\\[~]|€"
)


@pytest.fixture(autouse=True)
def _french(settings):
    settings.LANGUAGE_CODE = "fr"


def text(response) -> str:
    """The page as a reader sees it: entities such as &#x27; decoded."""
    return html.unescape(response.content.decode())


def report_data(kiosk) -> dict[str, str]:
    return {
        "terminal": kiosk.code,
        "payment_started": "yes",
        "customer_number": "C-10001",
        "phone": "",
        "invoice_reference": "",
        "order_reference": "",
        "problem": "payment_failed",
        "description": "L'écran s'est figé après le passage de ma carte.",
        "contact_channel": "email",
        "contact_email": "camille@example.org",
        "contact_phone": "",
    }


def acknowledgement(case: Case) -> OutboxMessage:
    return OutboxMessage.objects.get(about=f"cases.case:{case.pk}")


# The pages


def test_it_shows_the_report_form_in_french(client, kiosk):
    # when
    response = client.get(reverse("portal:report"))

    # then
    page = text(response)
    assert response.status_code == 200
    assert '<html lang="fr">' in page
    assert "<h1>Signaler un problème</h1>" in page
    assert f"Le paiement a-t-il commencé{NBSP}?" in page
    assert "Le paiement a échoué" in page  # a choice, from the model
    assert "Report a problem" not in page


def test_it_answers_in_french_to_a_browser_that_asks_for_it(client, settings, kiosk):
    # given: a deployment in English
    settings.LANGUAGE_CODE = "en"

    # when
    response = client.get(
        reverse("portal:report"), headers={"Accept-Language": "fr-FR,fr;q=0.9"}
    )

    # then
    page = text(response)
    assert "<h1>Signaler un problème</h1>" in page
    assert f"Le paiement a-t-il commencé{NBSP}?" in page


def test_it_explains_a_refused_report_in_french(client, kiosk):
    # given: no customer number, phone number or invoice reference
    data = {**report_data(kiosk), "customer_number": ""}

    # when
    response = client.post(reverse("portal:report"), data)

    # then
    page = text(response)
    assert response.status_code == 422
    assert "Merci de vérifier votre saisie" in page
    assert (
        f"Indiquez au moins l'un des éléments suivants{NBSP}: numéro client, "
        "numéro de téléphone ou référence de facture." in page
    )
    assert not Case.objects.exists()


def test_it_confirms_a_report_in_french(client, kiosk):
    # when
    response = client.post(reverse("portal:report"), report_data(kiosk), follow=True)

    # then
    page = text(response)
    case = Case.objects.get()
    assert case.language == "fr"
    assert "Merci, nous avons bien reçu votre signalement" in page
    assert re.search(r"Nous vous répondrons sous \d+ heures?\.", page)
    assert (
        "Nous avons envoyé un accusé de réception par e-mail à camille@example.org."
        in page
    )
    assert "Bonjour," in acknowledgement(case).body


def test_it_shows_the_status_pages_in_french(client, platform, kiosk):
    # given
    case = file_case(terminal_code=kiosk.code, language="fr")

    # when: the customer asks for a code, then types a wrong one
    start = client.get(reverse("portal:status"))
    asked = client.post(
        reverse("portal:status"), {"reference": case.reference}, follow=True
    )
    refused = client.post(reverse("portal:status_code"), {"code": "000000"})

    # then
    assert "<h1>Suivre mon dossier</h1>" in text(start)
    assert "M'envoyer un code" in text(start)
    assert "<h1>Saisissez votre code</h1>" in text(asked)
    assert f"Si la référence {case.reference} existe" in text(asked)
    assert "Ce code n'est pas valide ou a expiré." in text(refused)


def test_it_shows_the_case_page_in_french(client, platform, kiosk):
    # given: the customer got the code by e-mail
    case = file_case(terminal_code=kiosk.code, language="fr")
    client.post(reverse("portal:status"), {"reference": case.reference})
    code_message = OutboxMessage.objects.get(dedupe_key__contains=":code:")
    code = re.search(r"\b(\d{6})\b", code_message.body).group(1)

    # when
    response = client.post(reverse("portal:status_code"), {"code": code}, follow=True)

    # then
    page = text(response)
    assert "Votre code d'accès au dossier" in code_message.subject
    assert "Ou saisissez ce code sur la page de suivi" in code_message.body
    assert "<h1>Votre dossier <span" in page
    assert "Historique" in page
    assert "Signalement reçu" in page
    assert "Enregistré" in page  # the status


# The messages to customers


def test_it_acknowledges_a_french_case_in_french_by_email(platform, kiosk):
    # when
    case = file_case(terminal_code=kiosk.code, language="fr")

    # then
    message = acknowledgement(case)
    assert message.language == "fr"
    assert message.subject == f"Nous avons bien reçu votre signalement {case.reference}"
    assert message.body.startswith("Bonjour,")
    assert (
        f"Nous avons bien reçu votre signalement. Sa référence est {case.reference}."
        in message.body
    )
    assert re.search(r"Nous vous répondrons sous \d+ heures?\.", message.body)
    assert "Le service client Recours" in message.body
    assert "We have received" not in message.body


def test_it_acknowledges_a_french_case_with_a_short_gsm_sms(platform, kiosk):
    # when
    case = file_case(
        terminal_code=kiosk.code,
        language="fr",
        contact_channel="sms",
        contact_phone="06 12 34 56 78",
        contact_email="",
    )

    # then
    message = acknowledgement(case)
    assert message.channel == "sms"
    assert re.match(
        rf"Signalement {case.reference} enregistré\. "
        r"Nous vous répondrons sous \d+ heures?\. http",
        message.body,
    )
    assert set(message.body) <= GSM_7
    assert len(message.body) <= 160


def test_it_still_acknowledges_an_english_case_in_english(platform, kiosk):
    # when
    case = file_case(terminal_code=kiosk.code, language="en")

    # then
    message = acknowledgement(case)
    assert message.subject == f"We have received your report {case.reference}"
    assert message.body.startswith("Hello,")


# The catalog


def unquote(line: str) -> str:
    """A PO string literal; its escapes (\\n, \\", \\\\) are Python's too."""
    assert line.startswith('"') and line.endswith('"'), line
    return ast.literal_eval(line)


def read_po(path: Path) -> list[dict]:
    """Parse a PO file without polib: one dict per entry, obsolete ones left out.

    Each entry has "flags", "references" and its keywords ("msgid",
    "msgid_plural", "msgstr", "msgstr[0]"...) with their strings joined.
    """
    entries: list[dict] = []

    def new_entry() -> dict:
        return {"flags": set(), "references": [], "obsolete": False}

    entry, keyword = new_entry(), ""
    for raw in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        line = raw.strip()
        starts_entry = line.startswith(("#", "msgctxt", "msgid "))
        if not line or (starts_entry and any(k.startswith("msgstr") for k in entry)):
            if "msgid" in entry and not entry["obsolete"]:
                entries.append(entry)
            entry, keyword = new_entry(), ""
            if not line:
                continue
        if line.startswith("#~"):
            entry["obsolete"] = True
        elif line.startswith("#,"):
            entry["flags"].update(flag.strip() for flag in line[2:].split(","))
        elif line.startswith("#:"):
            entry["references"].extend(line[2:].split())
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            entry[keyword] += unquote(line)
        else:
            keyword, _space, literal = line.partition(" ")
            entry[keyword] = unquote(literal)
    return entries


def translations(entry: dict) -> list[str]:
    if "msgid_plural" in entry:
        return [entry[k] for k in sorted(entry) if k.startswith("msgstr[")]
    return [entry["msgstr"]]


def nplurals(entries: list[dict]) -> int:
    header = next(entry for entry in entries if entry["msgid"] == "")
    found = re.search(r"nplurals\s*=\s*(\d+)", header["msgstr"])
    assert found, "the catalog header has no Plural-Forms"
    return int(found.group(1))


def placeholders(message: str) -> list[str]:
    return sorted(re.findall(r"%\(\w+\)[sdr]|%%|%[sdr]", message))


@pytest.fixture(scope="module")
def catalog() -> list[dict]:
    return read_po(PO_PATH)


def test_it_translates_every_message_of_the_catalog(catalog):
    # given
    forms = nplurals(catalog)
    messages = [entry for entry in catalog if entry["msgid"] != ""]

    # then
    assert len(messages) > 300  # the parser did read the file
    assert [e["msgid"] for e in catalog if "fuzzy" in e["flags"]] == []
    assert [e["msgid"] for e in messages if not all(translations(e))] == []
    assert [
        e["msgid"]
        for e in messages
        if "msgid_plural" in e and len(translations(e)) != forms
    ] == []


@pytest.mark.skipif(not shutil.which("msgattrib"), reason="gettext is not installed")
@pytest.mark.parametrize("option", ["--untranslated", "--only-fuzzy"])
def test_gettext_finds_nothing_left_to_translate(option):
    # when
    found = subprocess.run(
        ["msgattrib", option, str(PO_PATH)],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )

    # then
    assert found.stdout == ""


def test_it_keeps_every_placeholder_of_the_english_text(catalog):
    # then
    changed = [
        entry["msgid"]
        for entry in catalog
        if entry["msgid"]
        and any(
            placeholders(translation)
            != placeholders(entry.get("msgid_plural", entry["msgid"]))
            for translation in translations(entry)
        )
    ]
    assert changed == []


def test_it_keeps_the_sms_texts_in_the_gsm_alphabet(catalog):
    # given: the SMS templates, and the status labels that go into an SMS
    sms_entries = [
        entry
        for entry in catalog
        if any(
            ".sms.body.txt" in reference or "cases/workflows.py" in reference
            for reference in entry["references"]
        )
    ]

    # then
    assert sms_entries
    outside = [
        translation
        for entry in sms_entries
        for translation in translations(entry)
        if not set(translation) <= GSM_7
    ]
    assert outside == []


def test_the_compiled_catalog_matches_the_po_file(catalog):
    # given: what compilemessages wrote
    with MO_PATH.open("rb") as file:
        compiled = gettext.GNUTranslations(file)

    # then: every message reads as in the PO file (compilemessages was run)
    stale = []
    for entry in catalog:
        if entry["msgid"] == "":
            continue
        context = entry.get("msgctxt")
        if "msgid_plural" in entry:
            forms = translations(entry)
            for count in (1, 2, 1_000_000):
                args = (entry["msgid"], entry["msgid_plural"], count)
                found = (
                    compiled.npgettext(context, *args)
                    if context is not None
                    else compiled.ngettext(*args)
                )
                if found != forms[compiled.plural(count)]:
                    stale.append(entry["msgid"])
        else:
            found = (
                compiled.pgettext(context, entry["msgid"])
                if context is not None
                else compiled.gettext(entry["msgid"])
            )
            if found != entry["msgstr"]:
                stale.append(entry["msgid"])
    assert stale == [], "run manage.py compilemessages"
