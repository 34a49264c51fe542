"""How evaluators read a packet: paragraphs, each redaction said in the reader's language."""

from __future__ import annotations

from django import template
from django.utils.html import escape, format_html, linebreaks
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from bids.identity import REDACTED
from marketplace import formats
from marketplace import labels as packet_labels
from opportunities.models import SelectionMethod

register = template.Library()


@register.filter
def packet_answer(text: str) -> SafeString:
    """The answer escaped and in paragraphs; the stored redaction mark becomes a visible, labelled
    mark in the reader's language ("[caviardé]" on French pages)."""
    mark = format_html('<span class="redacted">{}</span>', _("[redacted]"))
    escaped = str(mark).join(escape(part) for part in (text or "").split(REDACTED))
    # Paragraphs of the text escaped just above, and our own marks: safe to show as they are.
    return SafeString(linebreaks(escaped))  # nosec B703


@register.filter
def bid_label(label: str) -> str:
    """A label on record as people read it: "Soumission K7Q" on French pages."""
    return packet_labels.bid_label(label or "")


@register.filter
def bid_labels(labels: list[str]) -> str:
    """Labels on record as people read them, joined by commas; "—" for none."""
    return packet_labels.bid_labels(list(labels or []))


def _and_list(items: list[str]) -> str:
    """ "A", "A and B", "A, B and C" ("A, B et C")."""
    if len(items) < 2:
        return "".join(items)
    return _("%(list)s and %(last)s") % {"list": ", ".join(items[:-1]), "last": items[-1]}


def _score(value) -> str:
    return formats.number(value, decimals=2)


@register.simple_tag
def draw_settles(review) -> list[str]:
    """What the lock's draw will settle, in sentences, from an `evaluation.selectors.LockReview`:
    the selection first, then each other tie. Before the lock the seed is secret, so the pages
    say which bids the draw chooses between, never in what order."""
    places = review.places
    if not places:
        return [
            _(
                "No bid passes every mandatory criterion: nothing will be selected, and the "
                "opportunity will end without an award."
            )
        ]
    said = []
    top = places[0]
    names = [packet_labels.bid_label(label) for label in top.labels]
    if review.method == SelectionMethod.HIGHEST_SCORE:
        if not top.by_draw:
            said.append(
                _("%(label)s has the highest score: it will be selected.") % {"label": names[0]}
            )
        elif len(names) == 2:
            said.append(
                _("%(labels)s are tied at %(score)s; the draw will choose between them.")
                % {"labels": _and_list(names), "score": _score(top.score)}
            )
        else:
            said.append(
                _("%(labels)s are tied at %(score)s; the draw will choose among them.")
                % {"labels": _and_list(names), "score": _score(top.score)}
            )
    elif not top.by_draw:
        said.append(
            _("Only %(label)s is eligible for the draw: it will be selected.") % {"label": names[0]}
        )
    elif review.method == SelectionMethod.DRAW_AMONG_PASSING:
        said.append(
            _(
                "The draw will choose among the %(count)s bids that pass every mandatory "
                "criterion: %(labels)s."
            )
            % {"count": len(names), "labels": _and_list(names)}
        )
    else:
        said.append(
            _(
                "The draw will choose among the %(count)s bids within %(margin)s points of the "
                "top score (%(top)s): %(labels)s."
            )
            % {
                "count": len(names),
                "margin": review.margin or 0,
                "top": _score(review.top),
                "labels": _and_list(names),
            }
        )
    for place in places[1:]:
        if place.by_draw:
            said.append(
                _(
                    "%(labels)s are tied at %(score)s for places %(first)s to %(last)s; the draw "
                    "will set their order."
                )
                % {
                    "labels": _and_list([packet_labels.bid_label(label) for label in place.labels]),
                    "score": _score(place.score),
                    "first": place.first,
                    "last": place.last,
                }
            )
    if len(said) == 1 and not top.by_draw:
        said.append(
            _("There is no tie: the draw will change nothing. Its seed is published all the same.")
        )
    return said


@register.filter
def place_text(place) -> str:
    """A place in the ranking before the lock: "2", or "1 to 3 (by the draw)"."""
    if place is None:
        return _("Not ranked")
    if not place.by_draw:
        return str(place.first)
    return _("%(first)s to %(last)s (by the draw)") % {"first": place.first, "last": place.last}
