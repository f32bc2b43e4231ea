"""What the pages of one need, one hazard and one emergency (need_views.py,
hazard_views.py, emergency_views.py) share: each shows its actions as cards,
one form per card, and a card may be gone by the time its form is sent back."""

from django import forms as django_forms


def refused(bound: dict[str, django_forms.Form], shown: dict[str, bool]) -> list[str]:
    """The errors of a form sent from a card the page no longer shows (the need
    was closed, the hazard removed, the emergency archived meanwhile): shown at
    the top instead of being lost."""
    return [
        str(message)
        for name, form in bound.items()
        if not shown.get(name)
        for messages_ in form.errors.values()
        for message in messages_
    ]
