"""Who may do what (behörighet): every role against every action and every kind of resource, written out
as an expectation table, and checks that no route, frame or action escapes the policy."""
from __future__ import annotations

from dataclasses import replace

import pytest

from chat.model import Mandate, MandateBasis, MandateKind, Role, Scope, User, now_ms
from chat.policy import Action, decide
from web.app import api_routes
from web.frames import CLIENT_FRAMES
from web.httpapi import PUBLIC

from .conftest_unit import (
    AGENCY,
    ANNA,
    CASE_SYSTEM,
    CECILIA,
    DANA,
    ERIK,
    FRIDA,
    GRETA,
    OLLE,
    OTHER_UNIT,
    UNIT,
    UNN,
    make_case,
)

ROUTES = api_routes()  # every route create_app serves

# Dana is the citizen owner, Erik another citizen, Anna a caseworker (handläggare) of the unit, Olle a
# caseworker of the other unit, Cecilia the unit's supervisor, Unn its unit admin, Greta a log reviewer
# attached to the unit, and an agency.
ROLES = (DANA, ERIK, ANNA, OLLE, CECILIA, UNN, GRETA, AGENCY, CASE_SYSTEM)

CASES = {case.id: case for case in (
    make_case("dana-open", DANA),
    make_case("erik-open", ERIK, assigned=None),
    make_case("frida-other-unit", FRIDA, OTHER_UNIT, OLLE),
    make_case("dana-closed", DANA, status="closed"),
    make_case("dana-by-cecilia", DANA, assigned=CECILIA),
)}
CASE_COLUMNS = tuple(CASES)

# A table per kind of resource: a row per role, a group of marks per action, a mark per resource column.
# D: Dana's open case (assigned to Anna); E: Erik's open case, not assigned; O: Frida's case in the other
# unit; C: Dana's closed case; A: a case of Dana's assigned to Cecilia.
CASE_ACTIONS = (Action.CASE_READ, Action.CASE_WRITE, Action.CASE_KEYS_READ, Action.CASE_KEYS_WRITE,
                Action.CASE_HANDLE, Action.CASE_ASSIGN, Action.BOOKING_READ, Action.BOOKING_WRITE, Action.CALL_JOIN)
CASE_TABLE: dict[User, str] = {
    #          read       write      keys.read  keys.write handle     assign     book.read  book.write call
    #          D E O C A  D E O C A  D E O C A  D E O C A  D E O C A  D E O C A  D E O C A  D E O C A  D E O C A
    DANA:     "Y N N Y Y  Y N N N Y  Y N N Y Y  N N N N N  N N N N N  N N N N N  Y N N Y Y  Y N N N Y  Y N N N Y",
    ERIK:     "N Y N N N  N Y N N N  N Y N N N  N N N N N  N N N N N  N N N N N  N Y N N N  N Y N N N  N Y N N N",
    # Anna reads the whole unit, but answers (and marks handled) only her own cases and unassigned ones. Any staff of the unit
    # books on a citizen's behalf, whoever the case is assigned to. A call is only with the one who answers
    # the case (not with anyone while it is unassigned: then with the caseworker whose time was booked).
    ANNA:     "Y Y N Y Y  Y Y N N N  Y Y N Y Y  Y Y N Y Y  Y Y N Y N  N N N N N  Y Y N Y Y  Y Y N N Y  Y N N N N",
    OLLE:     "N N Y N N  N N Y N N  N N Y N N  N N Y N N  N N Y N N  N N N N N  N N Y N N  N N Y N N  N N Y N N",
    CECILIA:  "Y Y N Y Y  Y Y N N Y  Y Y N Y Y  Y Y N Y Y  Y Y N Y Y  Y Y N Y Y  Y Y N Y Y  Y Y N N Y  N N N N Y",
    UNN:      "Y Y N Y Y  Y Y N N Y  Y Y N Y Y  Y Y N Y Y  Y Y N Y Y  Y Y N Y Y  Y Y N Y Y  Y Y N N Y  N N N N N",
    GRETA:    "N N N N N  N N N N N  N N N N N  N N N N N  N N N N N  N N N N N  N N N N N  N N N N N  N N N N N",
    AGENCY:   "N N N N N  N N N N N  N N N N N  N N N N N  N N N N N  N N N N N  N N N N N  N N N N N  N N N N N",
    CASE_SYSTEM: "N N N N N  N N N N N  N N N N N  N N N N N  N N N N N  N N N N N  N N N N N  N N N N N  N N N N N",
}

# U: the unit; V: the other unit.
UNIT_ACTIONS = (Action.UNIT_KEYS_READ, Action.UNIT_KEYS_CREATE, Action.UNIT_DEVICE_APPROVE, Action.UNIT_STAFF_READ,
                Action.UNIT_SUBSTITUTES_MANAGE, Action.EXCHANGE_UNIT_READ, Action.EXCHANGE_UNIT_WRITE,
                Action.AUDIT_READ, Action.AUDIT_REVIEW, Action.UNIT_STAFF_REMOVE, Action.AVAILABILITY_MANAGE,
                Action.UNIT_SETTINGS_MANAGE, Action.CITIZEN_REGISTER, Action.CITIZEN_PROTECT, Action.UNIT_IDENTITY,
                Action.EXTRACT_DESK, Action.SDK_CLIENT)
UNIT_COLUMNS = (UNIT.id, OTHER_UNIT.id)
UNIT_TABLE: dict[User, str] = {
    #          keys.read keys.create device.approve staff.read substitutes exch.read exch.write audit.read audit.review staff.remove availability settings citizen.register citizen.protect identity extract.desk sdk.client
    #          U V       U V         U V            U V        U V         U V       U V        U V        U V          U V          U V          U V          U V          U V          U V          U V          U V
    DANA:     "N N       N N         N N            N N        N N         N N       N N        N N        N N          N N          N N          N N          N N          N N          N N          N N          N N",
    ERIK:     "N N       N N         N N            N N        N N         N N       N N        N N        N N          N N          N N          N N          N N          N N          N N          N N          N N",
    ANNA:     "Y N       N N         N N            Y N        N N         Y N       Y N        N N        N N          N N          Y N          N N          Y N          N N          N N          Y N          N N",
    OLLE:     "N Y       N N         N N            N Y        N N         N Y       N Y        N N        N N          N N          N Y          N N          N Y          N N          N N          N Y          N N",
    CECILIA:  "Y N       Y N         Y N            Y N        Y N         Y N       Y N        N N        N N          Y N          Y N          Y N          Y N          Y N          Y N          Y N          N N",
    UNN:      "Y N       Y N         Y N            Y N        Y N         Y N       Y N        N N        N N          Y N          Y N          Y N          Y N          Y N          Y N          Y N          N N",
    GRETA:    "N N       N N         N N            N N        N N         N N       N N        Y N        Y N          N N          N N          N N          N N          N N          N N          N N          N N",
    AGENCY:   "N N       N N         N N            N N        N N         N N       N N        N N        N N          N N          N N          N N          N N          N N          N N          N N          N N",
    CASE_SYSTEM: "N N       N N         N N            N N        N N         N N       N N        N N        N N          N N          N N          N N          N N          N N          N N          N N          Y N",
}

# Actions on the account itself, with no resource.
ACCOUNT_ACTIONS = (Action.SELF, Action.CASE_LIST, Action.DEVICE_READ, Action.EXCHANGE_AGENCY)
ACCOUNT_TABLE: dict[User, str] = {
    #          self  case.list  device.read  exchange.agency
    DANA:     "Y     Y          Y            N",
    ERIK:     "Y     Y          Y            N",
    ANNA:     "Y     Y          Y            N",
    OLLE:     "Y     Y          Y            N",
    CECILIA:  "Y     Y          Y            N",
    UNN:      "Y     Y          Y            N",
    GRETA:    "Y     Y          Y            N",
    AGENCY:   "N     N          N            Y",  # agencies use the exchange endpoint
    CASE_SYSTEM: "N     N          N            N",  # a case management system uses its own endpoint (web/sdk_api.py)
}


# Ansökan. Case-bound actions over the case columns above; applying over the unit columns; the forms for all.
APPLICATION_CASE_ACTIONS = (Action.APPLICATION_READ, Action.APPLICATION_HANDLE, Action.APPLICATION_SUPPLEMENT,
                            Action.DECISION_RECEIVE)
APPLICATION_CASE_TABLE: dict[User, str] = {
    # A decision is received (delgivning) only by the citizen the case is about, in a closed case too.
    #          read       handle     supplement receive
    #          D E O C A  D E O C A  D E O C A  D E O C A
    DANA:     "Y N N Y Y  N N N N N  Y N N N Y  Y N N Y Y",
    ERIK:     "N Y N N N  N N N N N  N Y N N N  N Y N N N",
    # Handling follows who may answer the case: Anna her own and unassigned cases, not Cecilia's.
    ANNA:     "Y Y N Y Y  Y Y N N N  N N N N N  N N N N N",
    OLLE:     "N N Y N N  N N Y N N  N N N N N  N N N N N",
    CECILIA:  "Y Y N Y Y  Y Y N N Y  N N N N N  N N N N N",
    UNN:      "Y Y N Y Y  Y Y N N Y  N N N N N  N N N N N",
    GRETA:    "N N N N N  N N N N N  N N N N N  N N N N N",
    AGENCY:   "N N N N N  N N N N N  N N N N N  N N N N N",
    CASE_SYSTEM: "N N N N N  N N N N N  N N N N N  N N N N N",
}
APPLICATION_UNIT_ACTIONS = (Action.APPLICATION_SUBMIT,)
APPLICATION_UNIT_TABLE: dict[User, str] = {
    #          submit (a citizen to any unit; staff register paper applications in their own)
    #          U V
    DANA:     "Y Y",
    ERIK:     "Y Y",
    ANNA:     "Y N",
    OLLE:     "N Y",
    CECILIA:  "Y N",
    UNN:      "Y N",
    GRETA:    "N N",
    AGENCY:   "N N",
    CASE_SYSTEM: "N N",
}
APPLICATION_ACCOUNT_ACTIONS = (Action.APPLICATION_FORMS,)
APPLICATION_ACCOUNT_TABLE: dict[User, str] = {user: "N" if user in (AGENCY, CASE_SYSTEM) else "Y" for user in ROLES}

# Dokumentation. Reading follows reading the case (the service shows the citizen only what is published);
# writing, publishing and responding follow who may answer the case; remarks are the citizen's. Closed cases
# are read, not written.
JOURNAL_ACTIONS = (Action.JOURNAL_READ, Action.JOURNAL_WRITE, Action.JOURNAL_PUBLISH, Action.JOURNAL_REMARK,
                   Action.JOURNAL_RESPOND, Action.JOURNAL_WITHHOLD, Action.MANDATE_MANAGE)
JOURNAL_TABLE: dict[User, str] = {
    # Withholding an entry from guardians follows writing; representatives are registered and ended by
    # those who answer the case, in a closed case too (a mandate may have to end after the case closed).
    #          read       write      publish    remark     respond    withhold   mandates
    #          D E O C A  D E O C A  D E O C A  D E O C A  D E O C A  D E O C A  D E O C A
    DANA:     "Y N N Y Y  N N N N N  N N N N N  Y N N N Y  N N N N N  N N N N N  N N N N N",
    ERIK:     "N Y N N N  N N N N N  N N N N N  N Y N N N  N N N N N  N N N N N  N N N N N",
    # Anna writes in her own and unassigned cases, not in Cecilia's (unless substituting for her, below).
    ANNA:     "Y Y N Y Y  Y Y N N N  Y Y N N N  N N N N N  Y Y N N N  Y Y N N N  Y Y N Y N",
    OLLE:     "N N Y N N  N N Y N N  N N Y N N  N N N N N  N N Y N N  N N Y N N  N N Y N N",
    CECILIA:  "Y Y N Y Y  Y Y N N Y  Y Y N N Y  N N N N N  Y Y N N Y  Y Y N N Y  Y Y N Y Y",
    UNN:      "Y Y N Y Y  Y Y N N Y  Y Y N N Y  N N N N N  Y Y N N Y  Y Y N N Y  Y Y N Y Y",
    GRETA:    "N N N N N  N N N N N  N N N N N  N N N N N  N N N N N  N N N N N  N N N N N",
    AGENCY:   "N N N N N  N N N N N  N N N N N  N N N N N  N N N N N  N N N N N  N N N N N",
    CASE_SYSTEM: "N N N N N  N N N N N  N N N N N  N N N N N  N N N N N  N N N N N  N N N N N",
}

# Gallring. A legal hold is a supervisor's, on any case of the unit, closed ones too (deletion reaches those);
# the unit's rules, holds and deletion register are read by its staff and its log reviewer.
RETENTION_CASE_ACTIONS = (Action.CASE_HOLD,)
RETENTION_CASE_TABLE: dict[User, str] = {
    #          hold
    #          D E O C A
    DANA:     "N N N N N",
    ERIK:     "N N N N N",
    ANNA:     "N N N N N",
    OLLE:     "N N N N N",
    CECILIA:  "Y Y N Y Y",
    UNN:      "Y Y N Y Y",
    GRETA:    "N N N N N",
    AGENCY:   "N N N N N",
    CASE_SYSTEM: "N N N N N",
}
RETENTION_UNIT_ACTIONS = (Action.RETENTION_READ, Action.RETENTION_MANAGE)
RETENTION_UNIT_TABLE: dict[User, str] = {
    #          read  manage
    #          U V   U V
    DANA:     "N N   N N",
    ERIK:     "N N   N N",
    ANNA:     "Y N   N N",
    OLLE:     "N Y   N N",
    CECILIA:  "Y N   Y N",
    UNN:      "Y N   Y N",
    GRETA:    "Y N   N N",
    AGENCY:   "N N   N N",
    CASE_SYSTEM: "N N   N N",
}


def cells(table: dict[User, str], actions: tuple[Action, ...], columns: tuple[str, ...]) -> list[object]:
    out = []
    for user, row in table.items():
        marks = row.split()
        assert len(marks) == len(actions) * len(columns), f"{user.id}: {row!r}"
        for i, mark in enumerate(marks):
            action, column = actions[i // len(columns)], columns[i % len(columns)]
            out.append(pytest.param(user, action, column, mark == "Y", id=f"{action}-{user.id}-{column}"))
    return out


@pytest.mark.parametrize(("user", "action", "case_id", "allowed"), cells(CASE_TABLE, CASE_ACTIONS, CASE_COLUMNS))
def test_case_actions_follow_the_table(user: User, action: Action, case_id: str, allowed: bool) -> None:
    assert bool(decide(user, action, case=CASES[case_id])) is allowed


@pytest.mark.parametrize(("user", "action", "case_id", "allowed"),
                         cells(APPLICATION_CASE_TABLE, APPLICATION_CASE_ACTIONS, CASE_COLUMNS))
def test_application_actions_on_cases_follow_the_table(user: User, action: Action, case_id: str,
                                                        allowed: bool) -> None:
    assert bool(decide(user, action, case=CASES[case_id])) is allowed


@pytest.mark.parametrize(("user", "action", "case_id", "allowed"), cells(JOURNAL_TABLE, JOURNAL_ACTIONS, CASE_COLUMNS))
def test_journal_actions_follow_the_table(user: User, action: Action, case_id: str, allowed: bool) -> None:
    assert bool(decide(user, action, case=CASES[case_id])) is allowed


@pytest.mark.parametrize(("user", "action", "resource", "allowed"),
                         cells(RETENTION_CASE_TABLE, RETENTION_CASE_ACTIONS, CASE_COLUMNS)
                         + cells(RETENTION_UNIT_TABLE, RETENTION_UNIT_ACTIONS, UNIT_COLUMNS))
def test_retention_actions_follow_the_table(user: User, action: Action, resource: str, allowed: bool) -> None:
    if action == Action.CASE_HOLD:
        assert bool(decide(user, action, case=CASES[resource])) is allowed
    else:
        assert bool(decide(user, action, unit_id=resource)) is allowed


def test_a_substitute_writes_the_absent_caseworkers_journal_only_while_substituting() -> None:
    cecilias = CASES["dana-by-cecilia"]
    for action in (Action.JOURNAL_WRITE, Action.JOURNAL_PUBLISH, Action.JOURNAL_RESPOND):
        assert not decide(ANNA, action, case=cecilias)
        assert decide(ANNA, action, case=cecilias, acting_for=frozenset({CECILIA.id}))
        assert not decide(OLLE, action, case=cecilias, acting_for=frozenset({CECILIA.id}))  # other unit
    assert not decide(DANA, Action.JOURNAL_WRITE, case=cecilias, acting_for=frozenset({CECILIA.id}))


@pytest.mark.parametrize(("user", "action", "unit_id", "allowed"),
                         cells(APPLICATION_UNIT_TABLE, APPLICATION_UNIT_ACTIONS, UNIT_COLUMNS)
                         + cells(APPLICATION_ACCOUNT_TABLE, APPLICATION_ACCOUNT_ACTIONS, ("account",)))
def test_applying_follows_the_table(user: User, action: Action, unit_id: str, allowed: bool) -> None:
    assert bool(decide(user, action, unit_id=None if unit_id == "account" else unit_id)) is allowed


@pytest.mark.parametrize(("user", "action", "unit_id", "allowed"), cells(UNIT_TABLE, UNIT_ACTIONS, UNIT_COLUMNS))
def test_unit_actions_follow_the_table(user: User, action: Action, unit_id: str, allowed: bool) -> None:
    assert bool(decide(user, action, unit_id=unit_id)) is allowed


@pytest.mark.parametrize(("user", "action", "_", "allowed"), cells(ACCOUNT_TABLE, ACCOUNT_ACTIONS, ("account",)))
def test_account_actions_follow_the_table(user: User, action: Action, _: str, allowed: bool) -> None:
    assert bool(decide(user, action)) is allowed


def test_the_tables_cover_every_action_and_every_role() -> None:
    assert sorted((*CASE_ACTIONS, *UNIT_ACTIONS, *ACCOUNT_ACTIONS, *APPLICATION_CASE_ACTIONS,
                   *APPLICATION_UNIT_ACTIONS, *APPLICATION_ACCOUNT_ACTIONS, *JOURNAL_ACTIONS,
                   *RETENTION_CASE_ACTIONS, *RETENTION_UNIT_ACTIONS)) == sorted(Action)
    assert {user.role for user in ROLES} == set(Role)
    assert all(set(table) == set(ROLES) for table in (CASE_TABLE, UNIT_TABLE, ACCOUNT_TABLE, APPLICATION_CASE_TABLE,
                                                      APPLICATION_UNIT_TABLE, APPLICATION_ACCOUNT_TABLE,
                                                      JOURNAL_TABLE, RETENTION_CASE_TABLE, RETENTION_UNIT_TABLE))


@pytest.mark.parametrize("user", ROLES, ids=lambda u: u.id)
def test_a_resource_action_without_its_resource_is_denied(user: User) -> None:
    for action in (*CASE_ACTIONS, *UNIT_ACTIONS, *APPLICATION_CASE_ACTIONS, *APPLICATION_UNIT_ACTIONS,
                   *JOURNAL_ACTIONS, *RETENTION_CASE_ACTIONS, *RETENTION_UNIT_ACTIONS):
        decision = decide(user, action)
        assert not decision and decision.reason != "allowed"


def test_a_substitute_answers_the_absent_caseworkers_cases_only_while_substituting() -> None:
    cecilias = CASES["dana-by-cecilia"]
    assert not decide(ANNA, Action.CASE_WRITE, case=cecilias)
    assert decide(ANNA, Action.CASE_WRITE, case=cecilias, acting_for=frozenset({CECILIA.id}))
    assert not decide(ANNA, Action.CASE_WRITE, case=cecilias, acting_for=frozenset({"someone-else"}))
    assert not decide(OLLE, Action.CASE_WRITE, case=cecilias, acting_for=frozenset({CECILIA.id}))  # other unit


def test_a_call_is_with_the_substitute_now_or_the_caseworker_whose_time_was_booked() -> None:
    cecilias, eriks = CASES["dana-by-cecilia"], CASES["erik-open"]
    assert not decide(ANNA, Action.CALL_JOIN, case=cecilias)
    assert decide(ANNA, Action.CALL_JOIN, case=cecilias, acting_for=frozenset({CECILIA.id}))
    assert decide(ANNA, Action.CALL_JOIN, case=eriks, booked_with=ANNA.id)  # unassigned, her time was booked
    assert not decide(ANNA, Action.CALL_JOIN, case=eriks, booked_with=CECILIA.id)
    assert not decide(OLLE, Action.CALL_JOIN, case=cecilias, booked_with=OLLE.id)  # other unit
    assert not decide(ERIK, Action.CALL_JOIN, case=cecilias, booked_with=ERIK.id)  # not his case


def test_a_denial_says_why() -> None:
    closed = decide(DANA, Action.CASE_WRITE, case=CASES["dana-closed"])
    assert (closed.allowed, closed.reason) == (False, "case is closed")
    assert decide(ANNA, Action.CASE_READ, case=CASES["dana-open"]).reason == "allowed"


# -- completeness ----------------------------------------------------------------------------------


def test_every_http_route_names_a_policy_action_or_is_public() -> None:
    assert ROUTES, "web.app lists no routes"
    for route in ROUTES:
        assert route.action == PUBLIC or isinstance(route.action, Action), route.path
    public = {(method, route.path) for route in ROUTES if route.action == PUBLIC for method in route.methods
              if not route.path.startswith(("/exchange/v1/", "/sdk/api/"))}
    # The key transparency log and the units' certificates are public on purpose: an auditor's monitor follows
    # them without an account, and they hold only public keys, pseudonymous ids and times (protocol §18-19).
    assert public == {("POST", "/api/demo/login"), ("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/api/config"),
                      ("GET", "/api/openapi.json"), ("GET", "/login/{kind}"), ("GET", "/login/{kind}/callback"),
                      ("GET", "/api/units/{unit_id}/identity"), ("GET", "/api/log/head"), ("GET", "/api/log/entries"),
                      ("GET", "/api/log/inclusion"), ("GET", "/api/log/consistency"),
                      # Which e-identification providers prove citizens' devices, asked before sign-in, and the
                      # demo's stand-in provider (404 outside demo mode): public keys and names only (§21).
                      ("GET", "/api/signin/citizen"), ("GET", "/demo/eid/.well-known/openid-configuration"),
                      ("GET", "/demo/eid/jwks")}


def test_agency_exchange_routes_are_the_only_sessionless_exchange_routes() -> None:
    # Agencies have no session: their signature (the envelope's JWS, or a signed bearer token checked
    # against Action.EXCHANGE_AGENCY in web.exchange) authenticates them; the directory and the API
    # description are public. A unit's staff use their session and the exchange.unit actions.
    public = {(method, route.path) for route in ROUTES if route.action == PUBLIC for method in route.methods
              if route.path.startswith("/exchange/v1/")}
    assert public == {("GET", "/exchange/v1/directory"), ("GET", "/exchange/v1/openapi.json"),
                      ("POST", "/exchange/v1/messages"), ("GET", "/exchange/v1/messages"),
                      ("GET", "/exchange/v1/messages/{msg_id}"), ("POST", "/exchange/v1/messages/{msg_id}/ack"),
                      ("GET", "/exchange/v1/messages/{msg_id}/receipts"),
                      ("GET", "/exchange/v1/messages/{msg_id}/proof")}
    staff = {route.action for route in ROUTES if route.path.startswith("/exchange/v1/units/")}
    assert staff == {Action.EXCHANGE_UNIT_READ, Action.EXCHANGE_UNIT_WRITE}


def test_the_sdk_message_service_routes_are_sessionless_and_decided_for_the_case_system() -> None:
    # A unit's case management system has no session: its bearer token (SHA-256 in SAMTAL_SDK_CONFIG) names
    # it, and web.sdk_api decides Action.SDK_CLIENT for its unit before anything is passed on.
    sdk = {(method, route.path) for route in ROUTES if route.path.startswith("/sdk/api/") for method in route.methods}
    assert sdk == {("POST", "/sdk/api/v1/sdk/messages"), ("GET", "/sdk/api/v1/sdk/messages"),
                   ("GET", "/sdk/api/v1/sdk/messages/{message_id}"), ("DELETE", "/sdk/api/v1/sdk/messages/{message_id}")}
    assert all(route.action == PUBLIC for route in ROUTES if route.path.startswith("/sdk/api/"))


@pytest.mark.parametrize("frame_type", sorted(CLIENT_FRAMES))
def test_every_client_frame_names_a_policy_action(frame_type: str) -> None:
    _, action = CLIENT_FRAMES[frame_type]
    assert isinstance(action, Action)


@pytest.mark.parametrize("action", list(Action), ids=str)
def test_every_action_has_a_policy_entry(action: Action) -> None:
    reasons = {decide(user, action, case=CASES["dana-open"], unit_id=UNIT.id).reason for user in ROLES}
    assert "no policy for action" not in reasons


# -- representatives and guardians (chat/cases/mandates.py) ------------------------------------------------
HOUR = 3_600_000


def _mandate(holder: User, case_id: str, scopes: set[Scope], kind: MandateKind = MandateKind.OMBUD,
             starts: int = -HOUR, ends: int = HOUR, ended: int | None = None,
             child_speaks_from: int | None = None) -> Mandate:
    at = now_ms()
    case = CASES[case_id]
    return Mandate(1, case.id, holder.id, case.citizen_id, kind, MandateBasis.POWER_OF_ATTORNEY, "", None,
                   frozenset({Scope.READ, *scopes}), at + starts, at + ends, ANNA.id, at,
                   None if ended is None else at + ended, None, child_speaks_from)

REP = User("rita", "rita", "Rita Ombud", Role.CITIZEN, None)
CITIZEN_SIDE = {Action.CASE_READ: Scope.READ, Action.CASE_KEYS_READ: Scope.READ, Action.JOURNAL_READ: Scope.READ,
                Action.APPLICATION_READ: Scope.READ, Action.BOOKING_READ: Scope.READ, Action.CASE_WRITE: Scope.WRITE,
                Action.JOURNAL_REMARK: Scope.WRITE, Action.APPLICATION_SUPPLEMENT: Scope.APPLY,
                Action.BOOKING_WRITE: Scope.BOOK, Action.CALL_JOIN: Scope.BOOK}
NEVER = (Action.CASE_KEYS_WRITE, Action.CASE_HANDLE, Action.CASE_ASSIGN, Action.JOURNAL_WRITE,
         Action.JOURNAL_PUBLISH, Action.JOURNAL_RESPOND, Action.JOURNAL_WITHHOLD, Action.MANDATE_MANAGE,
         Action.APPLICATION_HANDLE)


@pytest.mark.parametrize("scope", list(Scope))
def test_a_representative_acts_in_the_case_within_the_scope_of_a_mandate_in_force(scope: Scope) -> None:
    rep = replace(REP, mandates=(_mandate(REP, "dana-open", {scope}),))
    for action, needed in CITIZEN_SIDE.items():
        assert bool(decide(rep, action, case=CASES["dana-open"])) is (needed in (Scope.READ, scope)), action
    for action in NEVER:
        assert not decide(rep, action, case=CASES["dana-open"]), action
    # Only that case: not Dana's other cases, not Erik's.
    for other in ("dana-by-cecilia", "erik-open", "frida-other-unit"):
        assert not decide(rep, Action.CASE_READ, case=CASES[other])


def test_a_representative_outside_the_period_or_after_the_end_is_refused() -> None:
    everything = set(Scope)
    for mandate in (_mandate(REP, "dana-open", everything, starts=HOUR, ends=2 * HOUR),  # not yet
                    _mandate(REP, "dana-open", everything, starts=-2 * HOUR, ends=-1),  # over
                    _mandate(REP, "dana-open", everything, ended=-1)):  # ended by staff
        rep = replace(REP, mandates=(mandate,))
        for action in CITIZEN_SIDE:
            decision = decide(rep, action, case=CASES["dana-open"])
            assert not decision and "mandate" in decision.reason
    # A mandate naming someone else as its holder gives this user nothing.
    assert not decide(replace(REP, mandates=(_mandate(ERIK, "dana-open", everything),)), Action.CASE_READ,
                      case=CASES["dana-open"])
    # In a closed case a representative reads, as the citizen does, and writes nothing.
    closed = replace(REP, mandates=(_mandate(REP, "dana-closed", everything),))
    assert decide(closed, Action.CASE_READ, case=CASES["dana-closed"])
    assert not decide(closed, Action.CASE_WRITE, case=CASES["dana-closed"])
    assert not decide(closed, Action.JOURNAL_REMARK, case=CASES["dana-closed"])


def test_a_child_under_15_with_guardians_is_heard_but_does_not_book_apply_or_dispute_alone() -> None:
    guardian = _mandate(REP, "dana-open", set(Scope), MandateKind.GUARDIAN, child_speaks_from=now_ms() + HOUR)
    child = replace(DANA, mandates=(guardian,))
    case = CASES["dana-open"]
    for action in (Action.CASE_READ, Action.CASE_WRITE, Action.JOURNAL_READ, Action.APPLICATION_READ):
        assert decide(child, action, case=case)
    for action in (Action.BOOKING_WRITE, Action.APPLICATION_SUPPLEMENT, Action.JOURNAL_REMARK):
        assert not decide(child, action, case=case)
    fifteen = replace(DANA, mandates=(replace(guardian, child_speaks_from=now_ms() - 1),))
    assert decide(fifteen, Action.BOOKING_WRITE, case=case)
