"""What the people in the demo's buyer-protection claims write (seed 004).

Two shops take claims: the kiosk operator, whose online shop sends the towns'
passes and badges by post and refunds the courses a town cancels, and the
ticketing venue, which sends e-tickets and refunds cancelled shows. Texts the
customer reads exist in French and English (the claim's language); what only
staff read is in French, the platform's language. All invented.
"""

from recours.cases.models import Problem
from recours.demo import data

# What the customer says when opening the claim, by shop and problem.
DESCRIPTIONS: dict[tuple[str, str], dict[str, tuple[str, ...]]] = {
    (data.KIOSKS, Problem.NOT_RECEIVED): {
        "fr": (
            "J'ai commandé et payé en ligne la carte d'accès à la piscine de mes "
            "enfants il y a dix jours : toujours rien dans ma boîte aux lettres.",
            "Badge de stationnement résident payé sur le site il y a deux "
            "semaines, jamais arrivé. En attendant, je prends des amendes.",
            "La carte de cantine commandée pour ma fille n'est jamais arrivée, "
            "alors que le paiement a bien été débité.",
        ),
        "en": (
            "I paid online for a pool pass card two weeks ago and it never "
            "arrived in the post.",
        ),
    },
    (data.KIOSKS, Problem.REFUND_NOT_RECEIVED): {
        "fr": (
            "Le stage de natation de mon fils a été annulé par la commune ; on "
            "m'a promis un remboursement sous quinze jours et je n'ai rien reçu.",
            "Inscription à l'accueil de loisirs annulée, confirmé par e-mail, "
            "mais le remboursement n'est jamais arrivé sur ma carte.",
        ),
        "en": (
            "The town cancelled the swimming course I paid for, and the promised "
            "refund never came.",
        ),
    },
    (data.TICKETS, Problem.NOT_RECEIVED): data.COMMENTS[Problem.NOT_RECEIVED],
    (data.TICKETS, Problem.REFUND_NOT_RECEIVED): data.COMMENTS[
        Problem.REFUND_NOT_RECEIVED
    ],
    (data.TICKETS, Problem.MERCHANT_CLOSED): {
        "fr": (
            "Le site de la billetterie ne répond plus et le téléphone sonne dans "
            "le vide depuis une semaine. La salle a-t-elle fermé ? J'ai payé mes "
            "billets pour le mois prochain.",
        ),
        "en": (
            "The box office website is down and nobody has answered the phone "
            "for a week. Has the venue closed? I paid for next month's tickets.",
        ),
    },
}

# Everything else, by key: {"fr": …, "en": …}; staff-only texts have "fr" only.
TEXTS: dict[str, dict[str, str]] = {
    # The kiosk operator's answers.
    "k_answer_full": {
        "fr": "Bonjour, votre carte s'est perdue dans l'acheminement. Nous vous "
        "remboursons la totalité de la commande sur votre carte bancaire : "
        "comptez trois à cinq jours ouvrés.",
        "en": "Hello, your card was lost in the post. We are refunding the whole "
        "order to your bank card: allow three to five working days.",
    },
    "k_answer_partial": {
        "fr": "Bonjour, une nouvelle carte vous a été envoyée hier. Pour le retard, "
        "nous vous remboursons une partie de la commande ; l'abonnement reste "
        "valable.",
        "en": "Hello, a new card went out to you yesterday. For the delay we are "
        "refunding part of the order; the pass itself stays valid.",
    },
    "k_answer_after_return": {
        "fr": "Bonjour, notre suivi montre que le pli a été distribué à votre "
        "ancienne adresse. Nous avons demandé son retour : nous vous remboursons "
        "intégralement dès qu'il nous revient. La preuve de dépôt est jointe.",
        "en": "Hello, our tracking shows the letter was delivered to your former "
        "address. We have asked for it back and will refund you in full as soon "
        "as it returns to us. The proof of posting is attached.",
    },
    "k_answer_no_refund_posted": {
        "fr": "Bonjour, votre carte a été postée le lendemain de la commande ; "
        "l'acheminement peut prendre jusqu'à dix jours. Elle devrait vous "
        "parvenir cette semaine.",
        "en": "Hello, your card was posted the day after your order; delivery can "
        "take up to ten days. It should reach you this week.",
    },
    "k_answer_no_refund_delivered": {
        "fr": "Bonjour, La Poste indique que le pli a été remis dans votre boîte "
        "aux lettres, et la carte a déjà servi à l'entrée. Nous ne pouvons pas "
        "rembourser une carte distribuée et utilisée.",
        "en": "Hello, the post office says the letter was delivered to your "
        "letterbox, and the card has already been used at the entrance. We "
        "cannot refund a card that was delivered and used.",
    },
    "k_answer_refund_already_made": {
        "fr": "Bonjour, le remboursement a été fait par virement du Trésor public "
        "le 12 ; il peut apparaître sous le libellé « DGFIP ». Nous ne "
        "rembourserons pas une seconde fois.",
        "en": "Hello, the refund was paid by a Treasury transfer on the 12th; it "
        'may show on your statement as "DGFIP". We will not refund twice.',
    },
    # The ticketing venue's answers.
    "t_answer_full": {
        "fr": "Bonjour, vos billets électroniques sont partis vers une adresse mal "
        "saisie. Nous vous remboursons la commande en totalité ; il reste des "
        "places si vous souhaitez les racheter.",
        "en": "Hello, your e-tickets went to a mistyped address. We are refunding "
        "the whole order; seats are still available if you want to buy again.",
    },
    "t_answer_partial": {
        "fr": "Bonjour, nous vous renvoyons vos billets aujourd'hui et vous "
        "remboursons la moitié de la commande pour le désagrément.",
        "en": "Hello, we are sending your tickets again today and refunding half "
        "of the order for the trouble.",
    },
    "t_answer_refund_already_made": {
        "fr": "Bonjour, le remboursement du spectacle annulé a été fait sur votre "
        "carte le 5. Nous ne pouvons pas rembourser deux fois.",
        "en": "Hello, the cancelled show was refunded to your card on the 5th. We "
        "cannot refund twice.",
    },
    "t_answer_no_refund_resent": {
        "fr": "Bonjour, vos billets vous ont été renvoyés ce matin : regardez dans "
        "vos courriers indésirables. Ils sont aussi à retirer à la billetterie le "
        "soir du spectacle.",
        "en": "Hello, we sent your tickets again this morning: please check your "
        "spam folder. You can also collect them at the box office on the night.",
    },
    # The customer's answers.
    "customer_refuse_partial": {
        "fr": "Je n'accepte pas un remboursement partiel : je n'ai rien reçu, je "
        "demande le remboursement complet.",
        "en": "I do not accept a partial refund: I received nothing, so I ask for "
        "a full refund.",
    },
    "customer_disagree": {
        "fr": "Je n'ai jamais rien reçu, contrairement à ce que dit la boutique. "
        "Je demande l'examen de ma demande.",
        "en": "I never received anything, whatever the shop says. Please review "
        "my claim.",
    },
    "customer_refund_missing": {
        "fr": "Trois semaines plus tard, toujours aucun remboursement sur mon compte.",
        "en": "Three weeks later there is still no refund on my account.",
    },
    "customer_refund_received": {
        "fr": "Remboursement bien reçu, merci.",
        "en": "Refund received, thank you.",
    },
    "customer_accept": {
        "fr": "D'accord, ils étaient dans les courriers indésirables. Merci !",
        "en": "All right, they were in my spam folder. Thank you!",
    },
    # Evidence added after the claim was opened.
    "evidence_order_confirmation": {
        "fr": "Voici la confirmation de commande reçue par e-mail.",
        "en": "Here is the order confirmation I received by e-mail.",
    },
    "evidence_bank_statement": {
        "fr": "Voici mon relevé : le débit y figure, aucun remboursement.",
        "en": "Here is my statement: the charge is there, no refund.",
    },
    "evidence_transfer_proof": {
        "fr": "Ordre de virement du remboursement, exécuté le 12, ci-joint.",
    },
    # Staff messages, to the readers each one names.
    "k_staff_checking_refund": {
        "fr": "Nous vérifions auprès de la régie si le remboursement est parti ; "
        "réponse au client demain au plus tard.",
    },
    "review_no_answer_everyone": {
        "fr": "Bonjour, la boutique n'a pas répondu dans les cinq jours : la "
        "médiation examine maintenant la demande et reviendra vers vous deux "
        "sous dix jours.",
        "en": "Hello, the shop did not answer within five days: the platform's "
        "mediation is now reviewing the claim and will come back to you both "
        "within ten days.",
    },
    "review_customer_only": {
        "fr": "Bonjour, pouvez-vous nous confirmer que la nouvelle carte annoncée "
        "par la boutique ne vous est pas parvenue non plus ?",
        "en": "Hello, can you confirm that the new card the shop announced has not "
        "reached you either?",
    },
    "review_staff_transfer_proof": {
        "fr": "Bonjour, pouvez-vous nous transmettre la preuve du remboursement "
        "(date, montant, carte créditée) ? Le client dit ne rien avoir reçu.",
    },
    "review_both_sides": {
        "fr": "Bonjour à tous les deux, nous avons les éléments de la boutique et "
        "du client ; la décision suivra sous quelques jours.",
        "en": "Hello to you both, we have what the shop and the customer sent; the "
        "decision will follow within a few days.",
    },
    "review_merchant_closed_everyone": {
        "fr": "Bonjour, nous vérifions la situation de la salle et revenons vers "
        "vous rapidement.",
        "en": "Hello, we are checking whether the venue is still trading and will "
        "come back to you shortly.",
    },
    "platform_only_replacement": {
        "fr": "Au téléphone, la boutique accepte d'envoyer une nouvelle carte en "
        "lettre suivie : je propose le remplacement plutôt qu'un remboursement.",
    },
    # Notes.
    "k_note_tracking": {
        "fr": "Relance faite auprès de La Poste, suivi 1A 023 456 7890 1.",
    },
    "note_merchant_closed": {
        "fr": "Aucune procédure collective publiée pour Scènes de Loire. Appeler "
        "la salle avant de décider.",
    },
    # Document requests.
    "documents_merchant_proof": {
        "fr": "Merci d'envoyer la preuve de distribution de La Poste (adresse de "
        "remise ou signature).",
    },
    "documents_merchant_transfer": {
        "fr": "Merci d'envoyer l'ordre de virement du remboursement.",
    },
    "documents_customer_statement": {
        "fr": "Merci d'envoyer le relevé bancaire où figure le débit de la commande.",
        "en": "Please send the bank statement that shows the order's charge.",
    },
    "documents_both": {
        "fr": "Au client : le relevé bancaire où figure le débit. À la boutique : "
        "le journal d'envoi des billets électroniques.",
        "en": "To the customer: the bank statement that shows the charge. To the "
        "shop: the log of the e-tickets it sent.",
    },
    # Decisions, whose reason both parties read.
    "decision_refund_original": {
        "fr": "La boutique n'a pas répondu et le client prouve le débit : "
        "remboursement intégral sur le moyen de paiement d'origine.",
        "en": "The shop did not answer and the customer shows the charge: a full "
        "refund to the original payment method.",
    },
    "decision_store_credit": {
        "fr": "Les billets ne sont pas arrivés à temps : la boutique rembourse "
        "80 % de la commande en avoir, valable toute la saison.",
        "en": "The tickets did not arrive in time: the shop refunds 80% of the "
        "order as store credit, valid all season.",
    },
    "decision_replacement": {
        "fr": "La boutique envoie une nouvelle carte en lettre suivie, à ses "
        "frais, et prolonge l'abonnement d'un mois.",
        "en": "The shop sends a new card by tracked letter at its own cost and "
        "extends the pass by a month.",
    },
    "decision_no_refund": {
        "fr": "Le virement de remboursement a bien été exécuté le 12 sur le compte "
        "du client (preuve au dossier) : pas de second remboursement.",
        "en": "The refund transfer was made to the customer's account on the 12th "
        "(proof on file): no second refund.",
    },
}

# Files attached along the way: (file name, title, lines) of a one-page PDF.
FILES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "order_confirmation": (
        "confirmation-commande.pdf",
        "Confirmation de commande",
        ("Commande payée en ligne par carte bancaire.", "Merci de votre achat."),
    ),
    "proof_of_posting": (
        "preuve-de-depot.pdf",
        "Preuve de dépôt - La Poste",
        ("Lettre suivie déposée au bureau de Tours Centre.", "Suivi 1A 023 456"),
    ),
    "bank_statement": (
        "releve-bancaire.pdf",
        "Relevé de compte (extrait)",
        ("Débit carte : commande en ligne.", "Aucun crédit de remboursement."),
    ),
    "transfer_order": (
        "ordre-de-virement.pdf",
        "Ordre de virement - remboursement",
        ("Virement exécuté le 12, compte du client.", "Motif : remboursement."),
    ),
}


def text(key: str, language: str) -> str:
    """The text in the claim's language; staff-only texts are in French."""
    texts = TEXTS[key]
    return texts.get(language, texts["fr"])
