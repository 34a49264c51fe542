from django import template

register = template.Library()


@register.filter
def notification_subject(notification, language: str) -> str:
    """The notification's subject in the page's language (emails use the recipient's)."""
    return notification.subject(language)
