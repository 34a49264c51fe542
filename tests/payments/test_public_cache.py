"""The contract writes that change what the public pages show (the posting's status, the award
notice's supplier) replace the public-page cache version on commit; the ones the public never
sees (a delivery) leave the cached pages in place (marketplace.caching)."""

import pytest

from marketplace import caching
from payments import contracts

pytestmark = [pytest.mark.django_db, pytest.mark.caching]


def public_version() -> str:
    return caching.content_version(caching.PUBLIC_PAGES)


def test_acceptance_and_certification_change_the_public_pages_a_delivery_does_not(
    awarded, django_capture_on_commit_callbacks
):
    opportunity, contract = awarded
    capture = django_capture_on_commit_callbacks
    before = public_version()
    with capture(execute=True):  # the posting now reads "in delivery"
        contract = contracts.contract_accept_terms(supplier=contract.supplier, contract=contract)
    assert public_version() != before
    before = public_version()
    with capture(execute=True):
        contract = contracts.contract_deliver(
            supplier=contract.supplier, contract=contract, url="https://x.dev/pr/1", notes=""
        )
    assert public_version() == before
    with capture(execute=True):  # the award notice names the supplier as certified
        contracts.contract_certify(buyer=opportunity.buyer, contract=contract, confirmed=True)
    assert public_version() != before
