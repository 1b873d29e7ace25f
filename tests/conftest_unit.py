"""The cast of the unit tests: one municipality, two units, one person in each role, and their cases.

Imported explicitly (`from .conftest_unit import ...`); tests/conftest.py is for tests against a real server."""
from __future__ import annotations

import os

from chat.model import Case, Device, Municipality, Role, Unit, User

MUNICIPALITY = Municipality("testkommun", "Testkommun")
UNIT = Unit("ekonomiskt-bistand", MUNICIPALITY.id, "Ekonomiskt bistånd")
OTHER_UNIT = Unit("familjeratt", MUNICIPALITY.id, "Familjerätt")

DANA = User("dana", "dana", "Dana Karlsson", Role.CITIZEN, None)
ERIK = User("erik", "erik", "Erik Nilsson", Role.CITIZEN, None)
FRIDA = User("frida", "frida", "Frida Holm", Role.CITIZEN, None)
ANNA = User("anna", "anna", "Anna Lind", Role.CASEWORKER, UNIT.id)  # handläggare, assigned to Dana's case
BO = User("bo", "bo", "Bo Ek", Role.CASEWORKER, UNIT.id)
CECILIA = User("cecilia", "cecilia", "Cecilia Berg", Role.SUPERVISOR, UNIT.id)  # arbetsledare
UNN = User("unn", "unn", "Unn Admin", Role.UNIT_ADMIN, UNIT.id)
OLLE = User("olle", "olle", "Olle Ström", Role.CASEWORKER, OTHER_UNIT.id)
GRETA = User("greta", "greta", "Greta Granskare", Role.LOG_REVIEWER, UNIT.id)  # granskare
AGENCY = User("polisen", "polisen", "Polismyndigheten", Role.AGENCY, None)
CASE_SYSTEM = User("case-system:vsys", "vsys", "Verksamhetssystemet", Role.CASE_SYSTEM, UNIT.id)

USERS = (DANA, ERIK, FRIDA, ANNA, BO, CECILIA, UNN, OLLE, GRETA, AGENCY)


def make_case(case_id: str, citizen: User = DANA, unit: Unit = UNIT, assigned: User | None = ANNA,
              status: str = "open") -> Case:
    return Case(case_id, unit.id, citizen.id, assigned.id if assigned else None, f"Ärende {case_id}", status,
                1_700_000_000_000)


def make_device(device_id: str, user: User, created_at: int = 1_700_000_000_000) -> Device:
    """Public keys are opaque bytes to storage; any 32 bytes will do."""
    return Device(device_id, user.id, os.urandom(32), os.urandom(32), f"{user.username}'s laptop", created_at)
