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
    """The fuzz settings with `count` examples a test."""
    return settings(FUZZ, max_examples=count)


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


def fuzz_operations(schema: Any, count: int, call: Callable[[Any, list[Any]], Any],
                    skip: Callable[[str, str], bool] = lambda method, path: False) -> Run:
    """Run `count` positive and `count` negative generated cases of every operation of `schema` through
    `call(case, checks)` (which sends the case and validates the answer with those checks); a failing
    operation is recorded with hypothesis's smallest failing case and the others still run, so that one test
    reports every finding."""
    from schemathesis import GenerationMode

    run = Run()
    count *= SCALE
    for result in schema.get_all_operations():
        operation = result.ok()
        if skip(operation.method.upper(), operation.path):
            continue
        for mode, checks in ((GenerationMode.POSITIVE, CHECKS), (GenerationMode.NEGATIVE, NEGATIVE_CHECKS)):
            try:
                _fuzz_one(operation.as_strategy(generation_mode=mode), count, lambda case, c=checks: call(case, c), run)
            except Unsatisfiable:
                continue  # nothing to break: an operation without parameters or body has no negative case
            except (Exception, BaseExceptionGroup) as failure:  # noqa: BLE001 (every operation's failure is reported)
                run.failures.append((f"{mode.value} {operation.method.upper()} {operation.path}",
                                     str(failure)[:3000]))
    return run
