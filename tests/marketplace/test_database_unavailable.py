"""A database that cannot be reached (a restart, a failover) gives a clean 503, not a 500.

The real thing — PostgreSQL restarted under load, the site recovering by itself — is in the
fault script (bench/faults.py, run small by tests/test_faults.py)."""

import pytest
from django.db import InterfaceError, OperationalError
from django.test import Client
from django.urls import reverse


@pytest.mark.django_db
@pytest.mark.parametrize(
    "error",
    [
        OperationalError("could not connect to server: Connection refused"),
        OperationalError("terminating connection due to administrator command"),
        InterfaceError("connection already closed"),
    ],
)
def test_an_unreachable_database_is_a_503_that_asks_to_try_again(failing_list, error):
    failing_list(error)
    response = Client(raise_request_exception=False).get(reverse("opportunities:list"))
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    body = response.content.decode()
    assert "Nothing you sent in this request was saved" in body
    assert "Rien de ce que vous avez envoyé" in body
    assert "Connection refused" not in body  # nothing of the error itself


@pytest.mark.django_db
def test_any_other_error_is_the_500_page(failing_list):
    failing_list(ValueError("a bug"))
    response = Client(raise_request_exception=False).get(reverse("opportunities:list"))
    assert response.status_code == 500
    assert "Retry-After" not in response
    assert "The error was recorded" in response.content.decode()
