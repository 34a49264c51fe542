"""`{% error_summary_items %}`: every problem of the forms on a page, for the error summary at
its top (templates/includes/error_summary.html, the GC Design System's error summary pattern).

Each item is a sentence and the id of the field it links to: a field's own errors link to that
field (the first box of a group of radios or of a split date), and errors of the whole form
(or of a hidden field, or a formset's own) to the form's first field, as the pattern says when
no one field is at fault. The same sentence is shown again at the field (crispy renders it).

Django's own sentences ("This field is required.") do not say which field they are about: in
the summary, away from the field, they are preceded by the field's label. Sentences written for
a field ("Enter the date you could start.") are shown as they are.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django import forms, template
from django.core.exceptions import ValidationError
from django.forms.formsets import BaseFormSet
from django.utils.functional import LazyObject, Promise
from django.utils.html import strip_tags
from django.utils.translation import gettext as _

register = template.Library()

# Django's codes for sentences that do not name their field.
GENERIC_CODES = frozenset(
    {
        "required",
        "invalid",
        "invalid_choice",
        "invalid_date",
        "invalid_list",
        "invalid_pk_value",
        "invalid_image",
        "max_length",
        "min_length",
        "max_value",
        "min_value",
        "max_digits",
        "max_decimal_places",
        "max_whole_digits",
        "step_size",
        "empty",
        "missing",
        "contradiction",
        "null_characters_not_allowed",
    }
)


@dataclass(frozen=True)
class Problem:
    target: str  # the id of the element the link moves focus to
    text: str


def _target(bound: forms.BoundField) -> str:
    """The id of the field's first focusable box."""
    widget = bound.field.widget
    auto_id = bound.auto_id
    if not auto_id:
        return ""
    if isinstance(widget, forms.RadioSelect | forms.CheckboxSelectMultiple):
        return f"{auto_id}_0"
    return widget.id_for_label(auto_id) or auto_id


def _label_text(bound: forms.BoundField) -> str:
    return " ".join(strip_tags(str(bound.label or bound.name)).split())


def _is_generic(field: forms.Field, code: str | None) -> bool:
    """Django's own sentence for `code`, which does not name the field; not one written for
    this field (`error_messages={"required": _("Enter your name.")}`)."""
    if code not in GENERIC_CODES:
        return False
    defaults: dict[str, object] = {}
    for cls in reversed(type(field).__mro__):
        defaults.update(getattr(cls, "default_error_messages", {}))
    custom = field.error_messages.get(code)
    return custom is None or str(custom) == str(defaults.get(code))


def _sentence(bound: forms.BoundField, error: ValidationError) -> Iterator[str]:
    label = _label_text(bound)
    generic = _is_generic(bound.field, error.code)
    for message in error.messages:
        if generic and label.casefold() not in message.casefold():
            yield _("%(label)s: %(message)s") % {"label": label, "message": message}
        else:
            yield message


def _first_target(form: forms.BaseForm) -> str:
    for bound in form.visible_fields():
        target = _target(bound)
        if target:
            return target
    return ""


def _form_problems(form: forms.BaseForm) -> Iterator[Problem]:
    if not form.is_bound or not form.errors:
        return
    first = _first_target(form)
    for message in form.non_field_errors():
        yield Problem(first, str(message))
    for bound in form.hidden_fields():
        for message in bound.errors:
            yield Problem(first, str(message))
    data = form.errors.as_data()
    for bound in form.visible_fields():
        for error in data.get(bound.name, []):
            for text in _sentence(bound, error):
                yield Problem(_target(bound) or first, text)


def _problems(item: object) -> Iterator[Problem]:
    if isinstance(item, BaseFormSet):
        if not item.is_bound:
            return
        forms_ = list(item.forms)
        first = next((t for t in (_first_target(f) for f in forms_) if t), "")
        try:
            formset_errors = item.non_form_errors()
        except ValidationError:  # a management form sent broken: said by the formset itself
            formset_errors = []
        for message in formset_errors:
            yield Problem(first, str(message))
        for form in forms_:
            yield from _form_problems(form)
    elif isinstance(item, forms.BaseForm):
        yield from _form_problems(item)


def _forms_in(values: Iterable[object], depth: int = 0) -> list[object]:
    """The forms and formsets among `values`, and in the lists, tuples and dicts among them (a
    page with one form per row passes them so: opportunity_detail's questions).

    Only values that are already forms, lists, tuples or dicts are looked at, by their real
    type: a lazy value (`SimpleLazyObject`, `gettext_lazy`) answers `isinstance` by evaluating
    itself, and the context's lazy `csrf_token` evaluated asks for the token, which makes an
    anonymous page uncacheable (marketplace/caching.py)."""
    found: list[object] = []
    seen: set[int] = set()
    for value in values:
        kind = type(value)  # never `isinstance`: see above
        if issubclass(kind, LazyObject | Promise):
            continue
        if issubclass(kind, forms.BaseForm | BaseFormSet):
            inner = [value]
        elif issubclass(kind, list | tuple | dict) and depth < 3:
            inner = _forms_in(value.values() if isinstance(value, dict) else value, depth + 1)
        else:
            continue
        for item in inner:
            if id(item) not in seen:
                seen.add(id(item))
                found.append(item)
    return found


def problems_of(*items: object) -> list[Problem]:
    """Every problem of these forms and formsets, each once, in the order of the page."""
    problems: list[Problem] = []
    seen: set[tuple[str, str]] = set()
    for item in _forms_in(items):
        for problem in _problems(item):
            key = (problem.target, problem.text)
            if key not in seen:
                seen.add(key)
                problems.append(problem)
    return problems


# Context values never looked through for forms: the lazy token of the csrf context processor
# (see `_forms_in`), and the request, user and permissions of the others.
NOT_FORMS = frozenset({"csrf_token", "request", "user", "perms", "messages", "view"})


@register.simple_tag(takes_context=True)
def error_summary_items(context, *items: object) -> list[Problem]:
    """The problems of the forms given (`{% error_summary_items form other_form as items %}`,
    a list of forms counting as given even when empty or holding `None`), or, given nothing
    (an undefined variable is ""), of every form and formset among the page's context values
    (`_forms_in`: never a lazy one)."""
    given = [item for item in items if item not in ("", None)]
    if not given:
        given = [value for name, value in context.flatten().items() if name not in NOT_FORMS]
    return problems_of(*given)
