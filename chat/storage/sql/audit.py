"""The audit log's rows as SQL columns, for both engines (the chaining itself: chat/audit/chain.py)."""
from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from chat.audit.chain import AuditEvent, AuditRow

AUDIT_COLS = "id, at, action, outcome, actor, role, unit_id, case_id, reason, detail, prev_hash, hash"


def audit_row(r: Sequence[Any]) -> AuditRow:
    return AuditRow(r[0], AuditEvent(r[2], r[3], r[4], r[5], r[6], r[7], r[8], json.loads(r[9]), r[1]),
                    bytes(r[10]), bytes(r[11]))
