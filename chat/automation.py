"""DOMAIN rule 10: a person assesses and decides; any step Samtal takes or computes by itself is labelled.

The one list of those steps, each with its rule. What the step did is recorded as an audit row whose actor is
no person (`actor` empty, `role` "automated") and whose detail names the step and its rule; the pages that
show a step's result say "Automatiskt" with the rule beside it (docs/automation.md lists where). Decisions are
never among them: a decision always names the person who made it (tests/test_automation.py)."""
from __future__ import annotations

from typing import Any

from chat.audit.chain import AuditEvent
from chat.storage import AuditStore

ROLE = "automated"  # the audit row's role: no person acted

# step -> its rule, in the words the audit log keeps (the pages say it in Swedish or English).
STEPS: dict[str, str] = {
    "booking_reminder": "a reminder e-mail SAMTAL_BOOKING_REMINDER_HOURS before a booked meeting",
    "notification_mail": "an e-mail that something new waits, unseen for SAMTAL_NOTIFY_GRACE_SECONDS, "
                         "at most one per SAMTAL_NOTIFY_MIN_INTERVAL_SECONDS",
    "attachment_sweep": "an uploaded file no message, application or entry took within a day is removed",
    "reply_time": "the median time the unit took to answer in its recent conversations (computed when shown)",
    "extract_due": "one month after the request, GDPR art. 12.3 (computed when asked)",
}


async def record(store: AuditStore, step: str, *, case_id: str | None = None, unit_id: str | None = None,
                 **detail: Any) -> int:
    """The audit row of one automated step: no actor, the step and its rule named."""
    if step not in STEPS:
        raise ValueError(f"unknown automated step {step!r}: add it to chat.automation.STEPS with its rule")
    return await store.append_audit(AuditEvent(
        action=f"automated.{step}", outcome="allowed", actor=None, role=ROLE, unit_id=unit_id, case_id=case_id,
        detail={"automated": step, "rule": STEPS[step], **detail}))
