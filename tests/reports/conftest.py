from tests.payments.conftest import (  # noqa: F401 - fixtures shared with payments
    awarded,
    card_holder,
    certified,
    closed,
    evaluators,
    program_admin,
)
