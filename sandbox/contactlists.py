"""The sandbox account's contact lists, and which contacts belong to each."""

from __future__ import annotations

from sandbox.values import mix64

CONTACT_LISTS = (
    {
        "id": "700000001",
        "name": "newsletter_subscribers",
        "created": "2023-01-10 09:15:00",
        "type": 0,
    },
    {"id": "700000002", "name": "Gewinnspiel 2024", "created": "2024-02-01 12:00:00", "type": 0},
)
# Membership rule per list: a contact is in it when mix64(user_id) % divisor == 0.
_DIVISORS = {700000001: 2, 700000002: 3}
KNOWN_CONTACT_LISTS = frozenset(_DIVISORS)


def in_contact_list(list_id: int, user_id: int) -> bool:
    """Whether a contact belongs to one of the sandbox's contact lists (a fixed hash rule)."""
    divisor = _DIVISORS.get(list_id)
    return divisor is not None and mix64(user_id) % divisor == 0
