from django import template

from marketplace.notifications import CATALOGUE, render_subject

register = template.Library()


@register.filter
def notification_subject(notification, language: str) -> str:
    """The notification's subject in the page's language (emails use the recipient's)."""
    return render_subject(notification, language)


@register.filter
def notification_kind_label(notification) -> str:
    """The name of the notification's kind, as the catalogue gives it."""
    return CATALOGUE[notification.kind].label
