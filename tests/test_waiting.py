"""eventually(): the first true value of a check, retried on assertions, raised with the last one at the end."""
from __future__ import annotations

import asyncio

import pytest

from .waiting import eventually, eventually_blocking


def counting(answers: list[object]):  # type: ignore[no-untyped-def]
    calls: list[int] = []

    def check() -> object:
        calls.append(1)
        answer = answers[min(len(calls), len(answers)) - 1]
        if isinstance(answer, BaseException):
            raise answer
        return answer
    return check, calls


def test_the_first_true_value_is_returned_after_false_ones_and_failed_assertions() -> None:
    check, calls = counting([None, AssertionError("not yet"), [], "done"])
    assert eventually_blocking(check) == "done"
    assert len(calls) == 4


def test_at_the_end_the_last_assertion_is_raised_as_it_was() -> None:
    check, _ = counting([AssertionError("bo has 1 device, not 2")])
    with pytest.raises(AssertionError, match="bo has 1 device, not 2"):
        eventually_blocking(check, within=0.05)


def test_without_an_assertion_the_failure_names_what_was_awaited() -> None:
    with pytest.raises(AssertionError, match="the confirmation mail did not happen within 0.05 s"):
        eventually_blocking(list, within=0.05, what="the confirmation mail")


def test_other_errors_are_not_retried_unless_asked() -> None:
    check, calls = counting([ConnectionError("refused"), "up"])
    with pytest.raises(ConnectionError):
        eventually_blocking(check)
    check, calls = counting([ConnectionError("refused"), "up"])
    assert eventually_blocking(check, retrying=(ConnectionError,)) == "up" and len(calls) == 2


async def test_the_async_form_awaits_coroutine_checks_and_lets_the_loop_run() -> None:
    done: list[str] = []

    async def later() -> None:
        await asyncio.sleep(0.02)
        done.append("written")

    async def written() -> list[str]:
        return done
    task = asyncio.create_task(later())
    assert await eventually(written) == ["written"]  # the other task ran while this one waited
    assert await eventually(lambda: done) == ["written"]  # a plain check works there too
    await task
