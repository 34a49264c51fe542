"""A blind packet's label as people read it. The label on record is a prefix and three
characters ("Bid K7Q"), the same whatever the language: it is published, hashed into the draw
and bound before scoring as it is (evaluation.draw.label_record). People
read it through `bid_label`, in their language.

It lives in the core app because the audit trail's sentences (marketplace/audit_verbs.py) name
packets, and the core app imports no higher one (docs/DESIGN.md, "Layers"); evaluation.models
takes these names from here.
"""

from __future__ import annotations

from django.utils.translation import pgettext

LABEL_PREFIX = "Bid "


def bid_label(label: str) -> str:
    """A packet's label as people read it in the current language: "Bid K7Q" on record is
    "Bid K7Q" on English pages and "Soumission K7Q" on French ones. Only the word comes from
    the catalogue; the code is the one on record, so it tells no more than the label does. A
    label of another form (the field is free text to the database) is shown as it is."""
    if not label.startswith(LABEL_PREFIX) or len(label) == len(LABEL_PREFIX):
        return label
    return pgettext("packet label", "Bid %(code)s") % {"code": label[len(LABEL_PREFIX) :]}


def bid_labels(labels: list[str]) -> str:
    """Labels as people read them, joined: "Soumission K7Q, Soumission 2AB"; "—" for none."""
    return ", ".join(bid_label(label) for label in labels) or "—"
