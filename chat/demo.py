"""Demo data: one municipality, one unit, its staff and two citizens with one open case each.

Only accounts and cases are seeded here. Keys are made by clients: the demo key steward (a client
process acting as the supervisor's device) creates the unit key and the case keys; see docs/demo.md."""
from __future__ import annotations

from chat.model import Case, Municipality, Role, Unit, User, now_ms
from chat.storage import Storage

MUNICIPALITY = Municipality("demo-kommun", "Demo kommun")
UNIT = Unit("ekonomiskt-bistand", MUNICIPALITY.id, "Ekonomiskt bistånd")
USERS = [
    User("anna", "anna", "Anna Lind", Role.CASEWORKER, UNIT.id),
    User("bo", "bo", "Bo Ek", Role.CASEWORKER, UNIT.id),
    User("cecilia", "cecilia", "Cecilia Berg", Role.SUPERVISOR, UNIT.id),
    User("dana", "dana", "Dana Karlsson", Role.CITIZEN, None),
    User("erik", "erik", "Erik Nilsson", Role.CITIZEN, None),
    User("greta", "greta", "Greta Holm", Role.LOG_REVIEWER, UNIT.id),  # granskare
]
CASES = [
    ("eb-2026-0001", "dana", "Ansökan om ekonomiskt bistånd"),
    ("eb-2026-0002", "erik", "Ansökan om ekonomiskt bistånd"),
]
STEWARD_USER = "cecilia"


async def seed(store: Storage) -> bool:
    """Seed the demo once; returns False when it was already there."""
    if await store.get_unit(UNIT.id) is not None:
        return False
    await store.add_municipality(MUNICIPALITY)
    await store.add_unit(UNIT)
    for user in USERS:
        await store.add_user(user)
    for case_id, citizen, title in CASES:
        await store.add_case(Case(case_id, UNIT.id, citizen, "anna", title, "open", now_ms()))
    return True
