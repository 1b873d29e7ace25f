"""Settings from command-line options and SAMTAL_* environment variables, with safe defaults."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from chat.hub import OUTBOX_LIMIT


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, not {raw!r}") from None


@dataclass
class Settings:
    data_dir: Path = field(default_factory=lambda: Path(os.environ.get("SAMTAL_DATA_DIR", "data")))
    host: str = field(default_factory=lambda: os.environ.get("SAMTAL_HOST", "127.0.0.1"))
    port: int = field(default_factory=lambda: _env_int("SAMTAL_PORT", 8000))
    demo: bool = field(default_factory=lambda: os.environ.get("SAMTAL_DEMO", "") == "1")
    # 0: serve --demo starts no demo key steward, so new staff devices wait for a supervisor's approval.
    demo_steward: bool = field(default_factory=lambda: os.environ.get("SAMTAL_DEMO_STEWARD", "1") != "0")
    # Origins allowed to open the WebSocket besides the server's own (e.g. behind a proxy).
    allowed_origins: tuple[str, ...] = field(default_factory=lambda: tuple(
        o for o in os.environ.get("SAMTAL_ALLOWED_ORIGINS", "").split(",") if o))
    session_idle_seconds: int = field(default_factory=lambda: _env_int("SAMTAL_SESSION_IDLE_SECONDS", 30 * 60))
    session_max_seconds: int = field(default_factory=lambda: _env_int("SAMTAL_SESSION_MAX_SECONDS", 12 * 3600))
    # Sends per second per connection, and the burst allowed above it.
    # A person types far slower; the headroom is for a client flushing its outbox after being offline.
    send_rate: int = field(default_factory=lambda: _env_int("SAMTAL_SEND_RATE", 50))
    send_burst: int = field(default_factory=lambda: _env_int("SAMTAL_SEND_BURST", 200))
    # Frames queued for one connection before it is cut off as too slow (it resumes on reconnect).
    outbox_limit: int = field(default_factory=lambda: _env_int("SAMTAL_OUTBOX_LIMIT", OUTBOX_LIMIT))
    # Attachments are stored as ciphertext in the database; this bounds one upload.
    max_attachment_bytes: int = field(default_factory=lambda: _env_int("SAMTAL_MAX_ATTACHMENT_BYTES",
                                                                       10 * 1024 * 1024))
    # How long audit rows are kept (`samtal audit prune`): five years, as case records as a rule.
    audit_retention_days: int = field(default_factory=lambda: _env_int("SAMTAL_AUDIT_RETENTION_DAYS", 1826))
    # synchronous=FULL makes every acknowledged message survive a power cut, not only a crash.
    sqlite_synchronous: str = field(default_factory=lambda: os.environ.get("SAMTAL_SQLITE_SYNCHRONOUS", "FULL"))
    log_level: str = field(default_factory=lambda: os.environ.get("SAMTAL_LOG_LEVEL", "INFO"))
    # The agency exchange (docs/exchange.md).
    exchange_issuer: str = field(default_factory=lambda: os.environ.get("SAMTAL_EXCHANGE_ISSUER", "samtal"))
    exchange_audience: str = field(default_factory=lambda: os.environ.get("SAMTAL_EXCHANGE_AUDIENCE",
                                                                          "samtal-exchange"))
    exchange_max_bytes: int = field(default_factory=lambda: _env_int("SAMTAL_EXCHANGE_MAX_BYTES", 30 * 1024 * 1024))
    exchange_max_skew_seconds: int = field(default_factory=lambda: _env_int("SAMTAL_EXCHANGE_MAX_SKEW_SECONDS", 300))
    # Requests to the exchange handled at once; more are told 503 with Retry-After instead of queueing.
    exchange_max_concurrent: int = field(default_factory=lambda: _env_int("SAMTAL_EXCHANGE_MAX_CONCURRENT", 16))
    exchange_urgent_seconds: int = field(default_factory=lambda: _env_int("SAMTAL_EXCHANGE_URGENT_SECONDS", 15 * 60))
    exchange_alert_check_seconds: int = field(default_factory=lambda: _env_int(
        "SAMTAL_EXCHANGE_ALERT_CHECK_SECONDS", 30))
    smtp_host: str = field(default_factory=lambda: os.environ.get("SAMTAL_SMTP_HOST", ""))
    smtp_port: int = field(default_factory=lambda: _env_int("SAMTAL_SMTP_PORT", 25))
    smtp_from: str = field(default_factory=lambda: os.environ.get("SAMTAL_SMTP_FROM", "samtal@localhost"))

    @property
    def database_path(self) -> Path:
        return self.data_dir / "samtal.sqlite3"

    def validate(self) -> None:
        if self.sqlite_synchronous.upper() not in {"FULL", "NORMAL", "EXTRA"}:
            raise SystemExit("SAMTAL_SQLITE_SYNCHRONOUS must be FULL, NORMAL or EXTRA")
        if self.outbox_limit < 10 or self.send_rate < 1 or self.send_burst < 1:
            raise SystemExit("SAMTAL_OUTBOX_LIMIT must be at least 10; send rate and burst at least 1")
        if not 0 < self.port < 65536:
            raise SystemExit("the port must be between 1 and 65535")
