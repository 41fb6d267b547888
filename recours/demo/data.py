"""The fixed part of the demo: organizations, staff, kiosks, prices and texts.

Everything here is invented. E-mail addresses use the reserved example.*
domains so that a demo run with a real SMTP server cannot write to anyone.
"""

from dataclasses import dataclass

from recours.accounts.models import Role
from recours.cases.models import Problem

# Public on purpose: printed by the command and shown in the README.
DEMO_PASSWORD = "recours-demo"  # noqa: S105
DEFAULT_SEED = 2026
EMAIL_DOMAINS = ("example.org", "example.com", "example.net")

# Organization keys used across the demo, with their slug and name.
PLATFORM = "platform"
KIOSKS = "kiosks"
COINS = "coins"
TICKETS = "tickets"


@dataclass(frozen=True)
class OrganizationSpec:
    key: str
    slug: str
    name: str
    kind: str
    # Where a merchant hears of its claims (Organization.notification_emails).
    notification_emails: tuple[str, ...] = ()


ORGANIZATIONS = (
    OrganizationSpec(PLATFORM, "plateforme", "Recours Plateforme", "platform"),
    # A payment-kiosk operator: town halls, stations and hospitals pay their
    # invoices (canteen, water, crèche, parking fines) through its kiosks, and
    # its online shop posts the towns' passes and badges.
    OrganizationSpec(
        KIOSKS,
        "bornes-territoires",
        "Bornes & Territoires",
        "merchant",
        (
            "reclamations.bornes-territoires@example.org",
            "direction.bornes-territoires@example.com",
        ),
    ),
    # A real-time coin marketplace: members buy and sell gold and silver coins
    # kept in a vault, paying by card or from their wallet.
    OrganizationSpec(
        COINS,
        "comptoir-de-l-or",
        "Le Comptoir de l'Or",
        "merchant",
        ("service-client.comptoir-or@example.net",),
    ),
    # A ticketing venue with a few shows cancelled each season.
    OrganizationSpec(
        TICKETS,
        "scenes-de-loire",
        "Scènes de Loire",
        "merchant",
        (
            "billetterie.scenes-de-loire@example.org",
            "comptabilite.scenes-de-loire@example.net",
        ),
    ),
)
DEMO_SLUGS = tuple(spec.slug for spec in ORGANIZATIONS)


@dataclass(frozen=True)
class StaffSpec:
    username: str
    first_name: str
    last_name: str
    role: str
    organization: str


STAFF = (
    StaffSpec("agent", "Sophie", "Lambert", Role.AGENT, PLATFORM),
    StaffSpec("technicien", "Karim", "Benali", Role.TECHNICIAN, PLATFORM),
    StaffSpec("mediateur", "Hélène", "Marchal", Role.MEDIATOR, PLATFORM),
    StaffSpec("finance", "Thomas", "Girard", Role.FINANCE, PLATFORM),
    StaffSpec("admin", "Claire", "Dumont", Role.ADMIN, PLATFORM),
    StaffSpec("marchand", "Julien", "Moreau", Role.MERCHANT_AGENT, KIOSKS),
    StaffSpec("marchand-admin", "Nadia", "Fontaine", Role.MERCHANT_ADMIN, KIOSKS),
    StaffSpec("billetterie", "Léa", "Rousseau", Role.MERCHANT_AGENT, TICKETS),
)
STAFF_USERNAMES = tuple(spec.username for spec in STAFF)


@dataclass(frozen=True)
class TerminalSpec:
    organization: str
    code: str
    name: str
    location: str
    is_active: bool = True


TERMINALS = (
    TerminalSpec(
        KIOSKS,
        "BT-TOURS-GARE-01",
        "Gare de Tours, hall des départs",
        "Place du Général-Leclerc, 37000 Tours",
    ),
    TerminalSpec(
        KIOSKS,
        "BT-TOURS-MAIRIE-01",
        "Hôtel de ville de Tours, accueil",
        "Rue des Minimes, 37000 Tours",
    ),
    TerminalSpec(
        KIOSKS,
        "BT-ANGERS-MAIRIE-01",
        "Mairie d'Angers, espace familles",
        "Boulevard de la Résistance, 49000 Angers",
    ),
    TerminalSpec(
        KIOSKS,
        "BT-NANTES-CHU-01",
        "CHU de Nantes, hall principal",
        "Quai Moncousu, 44000 Nantes",
    ),
    TerminalSpec(
        KIOSKS,
        "BT-NANTES-CHU-02",
        "CHU de Nantes, consultations",
        "Quai Moncousu, 44000 Nantes",
    ),
    TerminalSpec(
        KIOSKS,
        "BT-ORLEANS-MEDIA-01",
        "Médiathèque d'Orléans",
        "Place Gambetta, 45000 Orléans",
    ),
    TerminalSpec(
        KIOSKS,
        "BT-BLOIS-PISCINE-01",
        "Centre aquatique de Blois",
        "Avenue de Châteaudun, 41000 Blois",
    ),
    TerminalSpec(
        KIOSKS,
        "BT-LEMANS-CANTINE-01",
        "Le Mans, guichet cantine et périscolaire",
        "Place Saint-Pierre, 72000 Le Mans",
    ),
    # Out of service: it keeps its history but is not offered on the form.
    TerminalSpec(
        KIOSKS,
        "BT-SAUMUR-GARE-01",
        "Gare de Saumur (en maintenance)",
        "Avenue David-d'Angers, 49400 Saumur",
        is_active=False,
    ),
    TerminalSpec(
        COINS,
        "CO-LYON-COMPTOIR-01",
        "Comptoir de Lyon, borne de dépôt",
        "Rue de la République, 69002 Lyon",
    ),
    TerminalSpec(
        TICKETS,
        "SDL-TOURS-TANNEURS-01",
        "Salle des Tanneurs, billetterie",
        "Rue des Tanneurs, 37000 Tours",
    ),
    TerminalSpec(
        TICKETS,
        "SDL-ANGERS-CALE-01",
        "Théâtre de la Cale, billetterie",
        "Quai Ligny, 49100 Angers",
    ),
)

# How many customers and orders each merchant gets (200 and 1,000 in all).
CUSTOMERS_BY_MERCHANT = {KIOSKS: 110, COINS: 50, TICKETS: 40}
ORDERS_BY_MERCHANT = {KIOSKS: 560, COINS: 240, TICKETS: 200}
ENGLISH_SHARE = 0.15

# Invoices paid at the kiosks: (what, lowest, highest) in euro cents.
KIOSK_INVOICES = (
    ("cantine", 1_250, 9_800),
    ("eau", 2_500, 18_000),
    ("crèche", 8_000, 42_000),
    ("hôpital", 1_500, 25_000),
    ("piscine", 450, 6_000),
    ("amende", 3_500, 3_500),
    ("amende", 13_500, 13_500),
)

# Coins sold on the marketplace: (name, unit price in euro cents, most per order).
COINS_CATALOGUE = (
    ("Napoléon 20 francs or", 52_500, 4),
    ("Souverain Élisabeth II", 61_000, 3),
    ("Krugerrand 1 once", 255_000, 2),
    ("50 pesos mexicains", 315_000, 1),
    ("10 francs Marianne or", 26_400, 5),
    ("Maple Leaf argent 1 once", 3_650, 20),
    ("Philharmonique argent 1 once", 3_720, 20),
)

# Ticket prices in euro cents, and the booking fee per order.
TICKET_PRICES = (1_800, 2_500, 3_200, 4_500, 5_800, 7_200, 9_500)
TICKET_FEE_MINOR = 150

# What customers write, by problem and language. Short, varied, invented.
COMMENTS: dict[str, dict[str, tuple[str, ...]]] = {
    Problem.PAYMENT_FAILED: {
        "fr": (
            "La borne a affiché « paiement refusé » mais l'application de ma banque "
            "montre bien le débit. Pouvez-vous vérifier ?",
            "J'ai tapé mon code, il a été accepté, puis l'écran est revenu à "
            "l'accueil. Je ne sais pas si j'ai été débité.",
            "Paiement sans contact refusé deux fois puis accepté avec le code. Je "
            "veux être sûre de ne payer qu'une fois.",
            "L'écran s'est figé pendant le paiement de la facture de cantine, j'ai "
            "dû partir sans confirmation.",
        ),
        "en": (
            "The kiosk said my card was declined, but my bank app shows the payment "
            "went through.",
            "The screen froze right after I typed my PIN. No idea whether I was "
            "charged.",
        ),
    },
    Problem.NO_RECEIPT: {
        "fr": (
            "Le paiement est passé mais la borne n'a pas imprimé de ticket. J'en ai "
            "besoin pour ma mutuelle.",
            "Pas de reçu à la fin du paiement, l'imprimante semblait vide. Pouvez-vous "
            "me l'envoyer par e-mail ?",
        ),
        "en": (
            "Paid my parking fine at the kiosk but no receipt came out. Could you "
            "e-mail one?",
        ),
    },
    Problem.CHANGE_NOT_RETURNED: {
        "fr": (
            "J'ai payé avec un billet de 50 € pour une facture de 32,50 € et la "
            "borne ne m'a pas rendu la monnaie.",
            "La borne a gardé mes pièces : il manquait 7,50 € de monnaie à la fin.",
        ),
        "en": ("I paid cash and the machine kept my change, about six euros.",),
    },
    Problem.CHARGED_TWICE: {
        "fr": (
            "J'ai été débité deux fois du même montant pour une seule facture, à "
            "deux minutes d'intervalle.",
            "Double prélèvement sur mon compte après un paiement à la borne de "
            "l'hôpital. Merci de rembourser le second.",
        ),
        "en": (
            "My card was charged twice for the same invoice. Please refund the "
            "duplicate.",
        ),
    },
    Problem.ITEM_MISSING: {
        "fr": (
            "Un Napoléon 20 francs acheté la semaine dernière n'apparaît plus dans "
            "mon portefeuille.",
            "J'ai vendu deux pièces et je ne vois ni les pièces ni le produit de la "
            "vente sur mon compte.",
            "Ma pièce a disparu du coffre après une vente annulée, et mon solde n'a "
            "pas bougé.",
        ),
        "en": (
            "A Krugerrand I bought is no longer listed in my portfolio, but my "
            "wallet was debited.",
        ),
    },
    Problem.NOT_RECEIVED: {
        "fr": (
            "Je n'ai jamais reçu les billets électroniques pour le concert, malgré "
            "le paiement.",
            "Commande payée il y a trois semaines, toujours rien reçu et aucune "
            "réponse de la billetterie.",
        ),
        "en": (
            "I never received my e-tickets for Saturday's show, although my card "
            "was charged.",
        ),
    },
    Problem.REFUND_NOT_RECEIVED: {
        "fr": (
            "Le spectacle a été annulé et on m'a annoncé un remboursement sous dix "
            "jours. Je n'ai toujours rien reçu.",
            "Annulation confirmée par e-mail il y a un mois, mais le remboursement "
            "n'est jamais arrivé sur ma carte.",
        ),
        "en": (
            "The show was cancelled a month ago and I am still waiting for my refund.",
        ),
    },
    Problem.QUESTION: {
        "fr": (
            "Puis-je payer la facture de crèche de ma voisine avec son numéro client ?",
            "La borne accepte-t-elle les chèques vacances, ou seulement la carte et "
            "les espèces ?",
            "Combien de temps faut-il pour qu'un paiement fait à la borne apparaisse "
            "dans mon espace en ligne ?",
        ),
        "en": ("Can I pay two invoices in one go at the kiosk?",),
    },
    Problem.SUGGESTION: {
        "fr": (
            "Ce serait pratique de recevoir le reçu par SMS plutôt que sur papier.",
            "La borne de la gare est en plein soleil l'après-midi, on ne voit rien "
            "sur l'écran.",
        ),
        "en": ("It would help to have the kiosk menus in English too.",),
    },
}

# What staff write depends on the kind of problem: a kiosk payment, a coin
# missing from a portfolio, or a question or suggestion.
KIOSK_GROUP = "kiosk"
COIN_GROUP = "coins"
QUESTION_GROUP = "question"
SUGGESTION_GROUP = "suggestion"
# Tickets not received, or a refund after a cancelled show, on an order the
# buyer did not protect: the shop's incident, not a protection claim.
ORDER_GROUP = "order"

REPLIES: dict[str, dict[str, tuple[str, ...]]] = {
    KIOSK_GROUP: {
        "fr": (
            "Bonjour, merci pour votre signalement. Nous vérifions la transaction "
            "auprès de notre prestataire de paiement et revenons vers vous sous "
            "48 heures.",
            "Bonjour, nous avons bien retrouvé votre paiement. Nous contrôlons le "
            "journal de la borne avant de vous répondre définitivement.",
            "Bonjour, le contrôle confirme l'incident. Le montant en trop vous sera "
            "remboursé sur votre carte sous cinq jours ouvrés.",
        ),
        "en": (
            "Hello, thank you for your report. We are checking the transaction with "
            "our payment provider and will get back to you within 48 hours.",
            "Hello, we found your payment and are checking the kiosk's log before we "
            "give you a final answer.",
        ),
    },
    COIN_GROUP: {
        "fr": (
            "Bonjour, nous avons bien reçu votre signalement. L'équipe technique "
            "rapproche les mouvements de votre portefeuille du registre du coffre.",
            "Bonjour, nous avons retrouvé la pièce concernée : elle sera restaurée "
            "dans votre portefeuille, sans frais pour vous.",
        ),
        "en": (
            "Hello, our technical team is reconciling your portfolio with the vault's "
            "register and will get back to you shortly.",
        ),
    },
    QUESTION_GROUP: {
        "fr": (
            "Bonjour, merci pour votre question. Les bornes acceptent la carte et les "
            "espèces, et un paiement apparaît dans votre espace en ligne sous 24 heures.",
            "Bonjour, oui : il suffit de saisir la référence de la facture à la borne, "
            "le numéro client n'est pas nécessaire.",
        ),
        "en": (
            "Hello, thank you for your question. The kiosks take cards and cash, and a "
            "payment shows in your online account within 24 hours.",
        ),
    },
    ORDER_GROUP: {
        "fr": (
            "Bonjour, nous avons transmis votre commande à la billetterie, qui "
            "vérifie l'envoi des billets et le remboursement éventuel.",
            "Bonjour, la billetterie confirme votre commande : vos billets vous "
            "sont renvoyés par e-mail aujourd'hui.",
        ),
        "en": (
            "Hello, we passed your order on to the box office, which is checking "
            "the tickets it sent and any refund due.",
        ),
    },
    SUGGESTION_GROUP: {
        "fr": (
            "Bonjour, merci pour votre suggestion : nous l'avons transmise à l'équipe "
            "qui prépare la prochaine version des bornes.",
        ),
        "en": (
            "Hello, thank you for the suggestion: we passed it on to the team working "
            "on the next version of the kiosks.",
        ),
    },
}
WAITING_CUSTOMER_REASONS: dict[str, dict[str, str]] = {
    KIOSK_GROUP: {
        "fr": "Pouvez-vous nous envoyer une photo de la ligne du relevé bancaire "
        "(date et montant seulement) ?",
        "en": "Could you send us a photo of the bank statement line (date and amount "
        "only)?",
    },
    COIN_GROUP: {
        "fr": "Pouvez-vous nous indiquer la date de l'achat et le type de pièce ?",
        "en": "Could you tell us when you bought the coin and which coin it is?",
    },
    QUESTION_GROUP: {
        "fr": "Pouvez-vous nous préciser la borne et la facture concernées ?",
        "en": "Could you tell us which kiosk and which invoice this is about?",
    },
    SUGGESTION_GROUP: {
        "fr": "Pouvez-vous nous préciser la borne et la facture concernées ?",
        "en": "Could you tell us which kiosk and which invoice this is about?",
    },
    ORDER_GROUP: {
        "fr": "Pouvez-vous nous indiquer l'adresse e-mail donnée lors de la commande ?",
        "en": "Could you tell us the e-mail address you gave when ordering?",
    },
}
CUSTOMER_ANSWERS: dict[str, dict[str, str]] = {
    KIOSK_GROUP: {
        "fr": "Voici la photo du relevé : le débit apparaît bien à la date du paiement.",
        "en": "Here is the statement line: the charge is there on the day I paid.",
    },
    COIN_GROUP: {
        "fr": "Achat du mardi 14, un Napoléon 20 francs payé depuis mon portefeuille.",
        "en": "I bought it on Tuesday the 14th: one Krugerrand, paid from my wallet.",
    },
    QUESTION_GROUP: {
        "fr": "C'est la borne de la mairie, pour la facture de cantine de mars.",
        "en": "It is the town hall kiosk, for the March canteen invoice.",
    },
    SUGGESTION_GROUP: {
        "fr": "C'est la borne de la mairie, pour la facture de cantine de mars.",
        "en": "It is the town hall kiosk, for the March canteen invoice.",
    },
    ORDER_GROUP: {
        "fr": "C'est la même adresse que celle de ce message.",
        "en": "It is the address I am writing from.",
    },
}
NOTES: dict[str, tuple[str, ...]] = {
    KIOSK_GROUP: (
        "Journal de la borne consulté : transaction interrompue après "
        "l'autorisation, aucune confirmation reçue par le terminal.",
        "Le prestataire confirme une seule capture ; le second débit est une "
        "pré-autorisation qui tombera d'elle-même.",
        "Technicien de tournée prévenu : contrôle de la borne prévu demain.",
        "Client rappelé : il confirme le montant et l'heure du paiement.",
    ),
    COIN_GROUP: (
        "Pièce probablement vendue deux fois lors du pic de charge de mardi ; "
        "correction à proposer à la finance.",
        "Registre du coffre vérifié : la pièce est toujours au nom du vendeur.",
    ),
    QUESTION_GROUP: ("Question fréquente : à ajouter à la FAQ.",),
    SUGGESTION_GROUP: ("Suggestion transmise à l'équipe produit.",),
    ORDER_GROUP: (
        "Commande sans protection acheteur : traitée avec la billetterie.",
        "La billetterie a renvoyé les billets ; en attente de confirmation.",
    ),
}
TECHNICAL_REASON = "Transmis à l'équipe technique pour analyse."
RESOLVED_REASONS: dict[str, str] = {
    Problem.PAYMENT_FAILED: "Débit confirmé sans paiement abouti : remboursé sur la carte.",
    Problem.NO_RECEIPT: "Reçu renvoyé par e-mail.",
    Problem.CHANGE_NOT_RETURNED: "Monnaie non rendue remboursée par virement.",
    Problem.CHARGED_TWICE: "Second débit remboursé sur la carte du client.",
    Problem.ITEM_MISSING: "Pièce restaurée dans le portefeuille du client.",
    Problem.QUESTION: "Réponse apportée au client.",
    Problem.SUGGESTION: "Suggestion enregistrée.",
    Problem.NOT_RECEIVED: "Billets renvoyés par la billetterie.",
    Problem.REFUND_NOT_RECEIVED: "Remboursement effectué par la billetterie.",
}
CLOSED_REASON = "Clôturé après confirmation du client."
