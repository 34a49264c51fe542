"""One way for a page to show a service's refusal (a `ValidationError`).

A service says no with a `ValidationError` whose sentences are written for the person who
asked. A page shows them in one of two ways, and only these:

- it shows the form again: `marketplace.forms.add_service_errors(form, error)` puts each
  sentence on the field it names when the form has that field, at the top of the form
  otherwise;
- it redirects: `message_service_error(request, error)` shows each sentence as an error
  message on the next page.

A refusal that only means "done already" (a double click, another tab) is not an error: the
page says where the first request landed, with `messages.info`, before falling back on these.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest


def message_service_error(request: HttpRequest, error: ValidationError) -> None:
    """Every sentence of the refusal, one error message each, for the page redirected to."""
    for message in error.messages:
        messages.error(request, message)
