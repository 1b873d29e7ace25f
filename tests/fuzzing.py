"""The settings every fuzz test runs under (issue #15 item 2): a fixed seed, so that CI runs the same cases every
time and a failure is reproduced by running the test again; no example database (nothing is kept between
runs); no per-example deadline (the machine is shared and its speed is not what is tested). And the one loop
that runs schemathesis over every operation of an OpenAPI document."""
from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable

# `derandomize` draws the examples from a seed derived from the test's name: the same cases on every run.
FUZZ = settings(derandomize=True, database=None, deadline=None, print_blob=True,
                suppress_health_check=list(HealthCheck))


# How many cases each OpenAPI operation gets, times this: 1 in CI (about a minute on an idle machine for the API
# and the exchange together); SAMTAL_FUZZ_SCALE=10 python3 dev.py test tests/test_fuzz_api.py looks deeper.
SCALE = max(1, int(os.environ.get("SAMTAL_FUZZ_SCALE", "1") or "1"))


def examples(count: int) -> settings:
    """The fuzz settings with `count` examples a test (times SAMTAL_FUZZ_SCALE: CI's count is the default, a
    deeper run before a release raises them all, the property tests of frames and parsers as well)."""
    return settings(FUZZ, max_examples=count * SCALE)


def _checks() -> tuple[list[Any], list[Any]]:
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        negative_data_rejection,
        response_schema_conformance,
        status_code_conformance,
    )
    every = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
    return every, [*every, negative_data_rejection]


# What the OpenAPI fuzzers check of every answer: no 5xx, a documented status, media type and shape; and of
# requests that break the document (negative cases), that they are refused with a 4xx.
CHECKS, NEGATIVE_CHECKS = _checks()


@dataclass
class Run:
    """What a run of every operation did: requests sent, answers by status, and the failures (operation, what
    failed)."""

    requests: int = 0
    unbreakable: int = 0  # operations with no negative case (nothing in them is constrained)
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[tuple[str, str]] = field(default_factory=list)

    def report(self) -> str:
        return "\n\n".join(f"{name}:\n{text}" for name, text in self.failures)


def load_openapi(url: str) -> Any:
    """The OpenAPI document at `url`, for schemathesis. Query parameters a document does not name are not
    counted as a broken request: the server ignores them, as HTTP servers do (a cache-buster, a tracking
    parameter), and refuses only what it reads. The credentials (a session cookie, an agency's token) are the
    test's to send, not generated."""
    import schemathesis

    config = schemathesis.Config.from_dict({"generation": {"allow-extra-parameters": False,
                                                           "with-security-parameters": False}})
    return schemathesis.openapi.from_url(url, config=config)


def _fuzz_one(strategy: Any, count: int, call: Callable[[Any], Any], run: Run) -> None:
    @examples(count)
    @given(strategy)
    def one(case: Any) -> None:
        run.requests += 1
        run.statuses[call(case).status_code] += 1

    one()


PLAIN_TEXT = {"type": "string"}
ANY_BYTES = {"type": "string", "format": "binary"}


def has_a_negative_case(definition: dict[str, Any]) -> bool:
    """Whether a request can break this operation's document at all: it takes a JSON body, or a parameter whose
    schema is more than any text (in a path, a query and a header every value is text; an octet-stream body is
    any bytes). Asking hypothesis for a negative case of an operation without one costs about a thousand
    generated tries, seconds each time, before it gives up (Unsatisfiable): that was most of the API fuzzer's
    time. Only what is certainly unconstrained is left out (a parameter or body given by reference counts as
    breakable), and an Unsatisfiable is still taken as nothing to break."""
    bodies = definition.get("requestBody", {}).get("content", {"": {"schema": ANY_BYTES}})
    if any(body.get("schema") != ANY_BYTES for body in bodies.values()):
        return True
    return any(parameter.get("schema") != PLAIN_TEXT for parameter in definition.get("parameters", []))


def fuzz_operations(schema: Any, count: int, call: Callable[[Any, list[Any]], Any],
                    skip: Callable[[str, str], bool] = lambda method, path: False) -> Run:
    """Run `count` positive and `count` negative generated cases of every operation of `schema` through
    `call(case, checks)` (which sends the case and validates the answer with those checks); a failing
    operation is recorded with hypothesis's smallest failing case and the others still run, so that one test
    reports every finding."""
    from schemathesis import GenerationMode

    run = Run()
    for result in schema.get_all_operations():
        operation = result.ok()
        if skip(operation.method.upper(), operation.path):
            continue
        modes = [(GenerationMode.POSITIVE, CHECKS), (GenerationMode.NEGATIVE, NEGATIVE_CHECKS)]
        if not has_a_negative_case(operation.definition.raw):
            run.unbreakable += 1
            modes.pop()
        for mode, checks in modes:
            try:
                _fuzz_one(operation.as_strategy(generation_mode=mode), count, lambda case, c=checks: call(case, c), run)
            except Unsatisfiable:
                print("TMPUNSAT", mode.value, operation.method, operation.path, flush=True)
                continue  # nothing to break after all (see has_a_negative_case)
            except (Exception, BaseExceptionGroup) as failure:  # noqa: BLE001 (every operation's failure is reported)
                run.failures.append((f"{mode.value} {operation.method.upper()} {operation.path}",
                                     str(failure)[:3000]))
    return run
