"""The demo accounts: staff with each role, four suppliers, one published password.

`seed_accounts()` creates them through the services (idempotent); demo/logins.py lists them.
"""

from __future__ import annotations

from marketplace import services
from marketplace.models import Role, SupplierProfile, User

DEMO_PASSWORD = "demo-pass-2026!"  # the demo's published password  # nosec B105

STAFF = [
    ("admin@demo.gc.ca", "Alex Admin", "en", [Role.PROGRAM_ADMIN]),
    # A second program administrator: role grants, card limits, guardrails and a cancellation
    # after the reveal need two (marketplace/approvals.py), and the demo shows that flow.
    ("admin2@demo.gc.ca", "Maude Morin", "fr", [Role.PROGRAM_ADMIN]),
    ("buyer@demo.gc.ca", "Bea Buyer", "en", [Role.BUYER]),
    ("evaluator1@demo.gc.ca", "Evan Evaluator", "en", [Role.EVALUATOR]),
    ("evaluator2@demo.gc.ca", "Élise Évaluatrice", "fr", [Role.EVALUATOR]),
    ("cardholder@demo.gc.ca", "Cam Cardholder", "en", [Role.CARD_HOLDER]),
    # The technical admin site's account: a role of its own, with no marketplace role, so that
    # no program administrator does their daily work there.
    ("ops@demo.gc.ca", "Olivia Ops", "en", []),
]
TECHNICAL_ADMIN = "ops@demo.gc.ca"

SUPPLIERS = [
    (
        "supplier1@demo.example",
        "en",
        {
            "kind": SupplierProfile.Kind.ORGANIZATION,
            "size": SupplierProfile.Size.UP_TO_9,
            "legal_name": "Maple Leaf Code Works Inc.",
            "trading_name": "MLCW",
            "contact_name": "Aurélie Tremblay",
            "email": "supplier1@demo.example",
            "phone": "613-555-0142",
            "website": "https://mapleleaf-code.example",
            "github_handle": "mlcw-dev",
            "province": "ON",
            "postal_code": "K1P 5J2",
            "gst_hst_number": "123456789 RT0001",
        },
    ),
    (
        "supplier2@demo.example",
        "en",
        {
            "kind": SupplierProfile.Kind.ORGANIZATION,
            "size": SupplierProfile.Size.UP_TO_49,
            "legal_name": "Northern Lights Accessibility Co-op",
            "trading_name": "",
            "contact_name": "Jamal Okafor",
            "email": "supplier2@demo.example",
            "phone": "204-555-0123",
            "website": "https://nlac11y.example",
            "github_handle": "nlac11y",
            "province": "MB",
            "postal_code": "R3C 4T3",
            "gst_hst_number": "",
        },
    ),
    (
        "supplier3@demo.example",
        "en",
        {
            "kind": SupplierProfile.Kind.INDIVIDUAL,
            "size": SupplierProfile.Size.ONE,
            "legal_name": "Priya Raman",
            "trading_name": "",
            "contact_name": "Priya Raman",
            "email": "supplier3@demo.example",
            "phone": "604-555-0199",
            "website": "",
            "github_handle": "praman-codes",
            "province": "BC",
            "postal_code": "V6B 1A1",
            "gst_hst_number": "",
        },
    ),
    (
        "supplier4@demo.example",
        "fr",
        {
            "kind": SupplierProfile.Kind.ORGANIZATION,
            "size": SupplierProfile.Size.UP_TO_9,
            "legal_name": "Rivière Digital Ltée",
            "trading_name": "",
            "contact_name": "Louis Gagnon",
            "email": "supplier4@demo.example",
            "phone": "514-555-0177",
            "website": "https://riviere-digital.example",
            "github_handle": "riviere-digital",
            "province": "QC",
            "postal_code": "H2X 1Y4",
            "gst_hst_number": "987654321 RT0001",
        },
    ),
]


def _user(email: str, name: str, language: str) -> User:
    user = User.objects.filter(email=email).first()
    if user is None:
        user = services.user_create(
            email=email,
            password=DEMO_PASSWORD,
            full_name=name,
            preferred_language=language,
            email_verified=True,
        )
    return user


def seed_accounts() -> None:
    """The staff with their roles, the technical admin, the suppliers with their profiles."""
    for email, name, language, roles in STAFF:
        user = _user(email, name, language)
        if email == TECHNICAL_ADMIN and not user.is_superuser:
            User.objects.filter(pk=user.pk).update(is_staff=True, is_superuser=True)
        for role in roles:
            if role not in user.roles:
                services.role_grant(actor=None, user=user, role=role)
    for email, language, profile_fields in SUPPLIERS:
        user = _user(email, profile_fields["contact_name"], language)
        if Role.SUPPLIER not in user.roles:
            services.role_grant(actor=None, user=user, role=Role.SUPPLIER)
            user = User.objects.get(pk=user.pk)
        profile = SupplierProfile.objects.filter(user=user).first()
        if profile is None or any(
            getattr(profile, key) != value for key, value in profile_fields.items()
        ):
            services.supplier_profile_save(actor=user, user=user, **profile_fields)
