"""Settings from command-line options and SAMTAL_* environment variables, with safe defaults."""
from __future__ import annotations

import ipaddress
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from chat.mailer import MailSettingsError, SmtpServer, default_security
from chat.messaging.hub import OUTBOX_LIMIT
from web.turn import TURN_SCHEMES, parse_urls


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, not {raw!r}") from None


def _env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, "").strip() or default


def _env_networks(name: str) -> tuple[str, ...]:
    """Comma-separated IP addresses or networks; a typo stops the server at start."""
    out = []
    for item in (i.strip() for i in os.environ.get(name, "").split(",")):
        if not item:
            continue
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise SystemExit(f"{name}: {item!r} is not an IP address or network") from None
        out.append(item)
    return tuple(out)


ICE_SCHEMES = ("stun:", "stuns:", "turn:", "turns:")


def _env_ice_servers(name: str = "SAMTAL_ICE_SERVERS") -> list[dict[str, object]]:
    """STUN and TURN servers for the video call, as RTCPeerConnection's `iceServers`: a JSON list of
    {"urls": URL or [URL, ...], "username"?, "credential"?}. Checked here so a typo stops the server at
    start instead of breaking every call."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return []
    try:
        servers = json.loads(raw)
    except ValueError:
        raise SystemExit(f"{name} must be a JSON list, as RTCPeerConnection's iceServers") from None
    if not isinstance(servers, list):
        raise SystemExit(f"{name} must be a JSON list, as RTCPeerConnection's iceServers")
    for server in servers:
        urls = server.get("urls") if isinstance(server, dict) else None
        urls = [urls] if isinstance(urls, str) else urls
        if (not isinstance(urls, list) or not urls or not all(isinstance(u, str) and u.startswith(ICE_SCHEMES)
                                                               for u in urls)
                or set(server) - {"urls", "username", "credential"}
                or not all(isinstance(server.get(k, ""), str) for k in ("username", "credential"))):
            raise SystemExit(f"{name}: each server is {{\"urls\": \"stun:…\" or \"turn:…\" (or a list), "
                             "\"username\"?, \"credential\"?}")
    return servers


# The Swedish assurance levels (tillitsnivåer) of DIGG's framework, lowest first; the Swedish OIDC profile
# names them in `acr`. Level 3 is BankID-class e-identification.
SWEDISH_LOA = " ".join(f"http://id.elegnamnden.se/loa/1.0/loa{n}" for n in (1, 2, 3, 4))


def loopback_or_https(url: str) -> bool:
    """Plain http only to this machine (tests, a provider beside the server); anything else needs TLS."""
    parts = urlsplit(url)
    return parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in {"127.0.0.1", "localhost", "::1"})


def parse_unit_identity_urls(text: str) -> dict[str, str]:
    pairs = [item.partition("=") for item in text.split(",") if item.strip()]
    if any(not unit.strip() or not url.strip() for unit, _, url in pairs):
        raise SystemExit("SAMTAL_UNIT_IDENTITY_URLS is a list of unit_id=URL separated by commas")
    return {unit.strip(): url.strip() for unit, _, url in pairs}


@dataclass
class Settings:
    data_dir: Path = field(default_factory=lambda: Path(os.environ.get("SAMTAL_DATA_DIR", "data")))
    # PostgreSQL (postgresql://user@host:5432/db) instead of the SQLite file in the data folder; the data
    # folder still holds the server's key files (docs/operations.md, "Database").
    database_url: str = field(default_factory=lambda: os.environ.get("SAMTAL_DATABASE_URL", ""))
    # Several nodes on one PostgreSQL database: the bus that wakes them (nats://host:4222 or redis://host:6379,
    # chat/messaging/cluster.py). Empty: one node, as before.
    bus_url: str = field(default_factory=lambda: os.environ.get("SAMTAL_BUS_URL", ""))
    host: str = field(default_factory=lambda: os.environ.get("SAMTAL_HOST", "127.0.0.1"))
    port: int = field(default_factory=lambda: _env_int("SAMTAL_PORT", 8000))
    demo: bool = field(default_factory=lambda: os.environ.get("SAMTAL_DEMO", "") == "1")
    # 0: serve --demo starts no demo key steward, so new staff devices wait for a supervisor's approval.
    demo_steward: bool = field(default_factory=lambda: os.environ.get("SAMTAL_DEMO_STEWARD", "1") != "0")
    # 0: the demo key steward registers no demo agencies and unit addresses for the exchange (Myndighetspost).
    demo_exchange: bool = field(default_factory=lambda: os.environ.get("SAMTAL_DEMO_EXCHANGE", "1") != "0")
    # Origins allowed to open the WebSocket besides the server's own (e.g. behind a proxy).
    allowed_origins: tuple[str, ...] = field(default_factory=lambda: tuple(
        o for o in os.environ.get("SAMTAL_ALLOWED_ORIGINS", "").split(",") if o))
    session_idle_seconds: int = field(default_factory=lambda: _env_int("SAMTAL_SESSION_IDLE_SECONDS", 30 * 60))
    session_max_seconds: int = field(default_factory=lambda: _env_int("SAMTAL_SESSION_MAX_SECONDS", 12 * 3600))
    # Sends per second per connection, and the burst allowed above it.
    # A person types far slower; the headroom is for a client flushing its outbox after being offline.
    send_rate: int = field(default_factory=lambda: _env_int("SAMTAL_SEND_RATE", 50))
    send_burst: int = field(default_factory=lambda: _env_int("SAMTAL_SEND_BURST", 200))
    # WebSockets open at once per device and per person (browser tabs share their device's); more are refused
    # at the handshake, so that the per-connection send limit and outbox cannot be multiplied.
    max_sockets_per_device: int = field(default_factory=lambda: _env_int("SAMTAL_MAX_SOCKETS_PER_DEVICE", 8))
    max_sockets_per_account: int = field(default_factory=lambda: _env_int("SAMTAL_MAX_SOCKETS_PER_ACCOUNT", 32))
    # Frames queued for one connection before it is cut off as too slow (it resumes on reconnect).
    outbox_limit: int = field(default_factory=lambda: _env_int("SAMTAL_OUTBOX_LIMIT", OUTBOX_LIMIT))
    # Attachments are stored as ciphertext in the database; this bounds one upload.
    max_attachment_bytes: int = field(default_factory=lambda: _env_int("SAMTAL_MAX_ATTACHMENT_BYTES",
                                                                       10 * 1024 * 1024))
    # All the attachments one person keeps uploaded (cases, applications, the journal), and uploads a minute.
    attachment_quota_bytes: int = field(default_factory=lambda: _env_int("SAMTAL_ATTACHMENT_QUOTA_BYTES",
                                                                         200 * 1024 * 1024))
    upload_rate: int = field(default_factory=lambda: _env_int("SAMTAL_UPLOAD_RATE", 30))
    # A case attachment no message was sent with (the browser uploads first, then sends) is removed this long
    # after its upload: a day, so that a message written offline or retried later still finds its attachment.
    orphan_blob_seconds: int = field(default_factory=lambda: _env_int("SAMTAL_ORPHAN_BLOB_SECONDS", 24 * 3600))
    # How long audit rows are kept (`samtal audit prune`): five years, as case records as a rule.
    audit_retention_days: int = field(default_factory=lambda: _env_int("SAMTAL_AUDIT_RETENTION_DAYS", 1826))
    # Signed audit heads are published into this folder, kept outside the database's reach (chat/audit/witness.py),
    # every audit_witness_seconds; an edit or cut of the log after the newest head is what goes unseen.
    audit_witness_dir: str = field(default_factory=lambda: _env_str("SAMTAL_AUDIT_WITNESS_DIR"))
    audit_witness_seconds: int = field(default_factory=lambda: _env_int("SAMTAL_AUDIT_WITNESS_SECONDS", 60))
    # synchronous=FULL makes every acknowledged message survive a power cut, not only a crash.
    sqlite_synchronous: str = field(default_factory=lambda: os.environ.get("SAMTAL_SQLITE_SYNCHRONOUS", "FULL"))
    log_level: str = field(default_factory=lambda: os.environ.get("SAMTAL_LOG_LEVEL", "INFO"))
    # /metrics answers loopback clients; with a token, anyone who sends it as a bearer token (web/metrics.py).
    metrics_token: str = field(default_factory=lambda: _env_str("SAMTAL_METRICS_TOKEN"))
    # The signed release manifest of the browser code (`samtal web sign-manifest`, docs/operations.md); unset,
    # the server signs its own with a key kept in the data folder.
    release_manifest: Path | None = field(default_factory=lambda: Path(p) if (p := _env_str(
        "SAMTAL_RELEASE_MANIFEST")) else None)
    # Sign-in with OpenID Connect (docs/operations.md, "Sign-in"). A provider is enabled when its issuer is set.
    # The address browsers reach Samtal at, for the redirect_uri; by default http://HOST:PORT on loopback.
    public_url: str = field(default_factory=lambda: _env_str("SAMTAL_PUBLIC_URL").rstrip("/"))
    oidc_citizen_issuer: str = field(default_factory=lambda: _env_str("SAMTAL_OIDC_CITIZEN_ISSUER"))
    oidc_citizen_client_id: str = field(default_factory=lambda: _env_str("SAMTAL_OIDC_CITIZEN_CLIENT_ID"))
    oidc_citizen_client_secret: str = field(default_factory=lambda: _env_str("SAMTAL_OIDC_CITIZEN_CLIENT_SECRET"))
    oidc_citizen_acr: str = field(default_factory=lambda: _env_str("SAMTAL_OIDC_CITIZEN_ACR",
                                                                   "http://id.elegnamnden.se/loa/1.0/loa3"))
    oidc_citizen_scope: str = field(default_factory=lambda: _env_str(
        "SAMTAL_OIDC_CITIZEN_SCOPE", "openid profile https://id.oidc.se/scope/naturalPersonNumber"))
    oidc_staff_issuer: str = field(default_factory=lambda: _env_str("SAMTAL_OIDC_STAFF_ISSUER"))
    oidc_staff_client_id: str = field(default_factory=lambda: _env_str("SAMTAL_OIDC_STAFF_CLIENT_ID"))
    oidc_staff_client_secret: str = field(default_factory=lambda: _env_str("SAMTAL_OIDC_STAFF_CLIENT_SECRET"))
    oidc_staff_acr: str = field(default_factory=lambda: _env_str("SAMTAL_OIDC_STAFF_ACR"))
    oidc_staff_scope: str = field(default_factory=lambda: _env_str("SAMTAL_OIDC_STAFF_SCOPE", "openid profile"))
    oidc_staff_role_claim: str = field(default_factory=lambda: _env_str("SAMTAL_OIDC_STAFF_ROLE_CLAIM",
                                                                        "samtal_role"))
    oidc_staff_unit_claim: str = field(default_factory=lambda: _env_str("SAMTAL_OIDC_STAFF_UNIT_CLAIM",
                                                                        "samtal_unit"))
    # Assurance levels from lowest to highest: a sign-in's `acr` must stand at or above the required one.
    oidc_acr_levels: tuple[str, ...] = field(default_factory=lambda: tuple(
        _env_str("SAMTAL_OIDC_ACR_LEVELS", SWEDISH_LOA).replace(",", " ").split()))
    # Seconds since the person last authenticated at the provider; 0 sends no max_age.
    oidc_max_age: int = field(default_factory=lambda: _env_int("SAMTAL_OIDC_MAX_AGE", 0))
    # Key for the keyed hash of personal identity numbers; by default a key file made in the data folder.
    pnr_hmac_key: str = field(default_factory=lambda: _env_str("SAMTAL_PNR_HMAC_KEY"))
    # The reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed (addresses or networks,
    # comma-separated, e.g. 127.0.0.1 for nginx on the same host). None by default: a client cannot pick the
    # address it is rate-limited by, or claim https.
    trusted_proxies: tuple[str, ...] = field(default_factory=lambda: _env_networks("SAMTAL_TRUSTED_PROXIES"))
    # Sign-in requests per minute from one client address (kept in memory only, never logged).
    login_rate: int = field(default_factory=lambda: _env_int("SAMTAL_LOGIN_RATE", 10))
    # Where each unit's municipality publishes its signed unit identity file (docs/protocol.md §17):
    # "unit_id=https://…,unit_id=…". Clients compare it with the unit's certificates; the server only passes it on.
    unit_identity_urls: dict[str, str] = field(default_factory=lambda: parse_unit_identity_urls(
        _env_str("SAMTAL_UNIT_IDENTITY_URLS")))
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
    # SDK (docs/sdk.md): the file with the municipality's participant id, units' functional addresses, the
    # recipients to look up and the message service; unset, Samtal has no SDK connection.
    sdk_config: str = field(default_factory=lambda: _env_str("SAMTAL_SDK_CONFIG"))
    smtp_host: str = field(default_factory=lambda: os.environ.get("SAMTAL_SMTP_HOST", ""))
    smtp_port: int = field(default_factory=lambda: _env_int("SAMTAL_SMTP_PORT", 25))
    smtp_from: str = field(default_factory=lambda: os.environ.get("SAMTAL_SMTP_FROM", "samtal@localhost"))
    # starttls (the default), tls (port 465) or none (a relay on this machine only: the default for one); the
    # login, if the server wants one; a CA bundle for its certificate instead of the system's (chat/mailer.py).
    smtp_security: str = field(default_factory=lambda: _env_str("SAMTAL_SMTP_SECURITY"))
    smtp_username: str = field(default_factory=lambda: _env_str("SAMTAL_SMTP_USERNAME"))
    smtp_password: str = field(default_factory=lambda: os.environ.get("SAMTAL_SMTP_PASSWORD", ""))
    smtp_ca_file: str = field(default_factory=lambda: _env_str("SAMTAL_SMTP_CA_FILE"))

    @property
    def smtp_server(self) -> SmtpServer:
        """The mail server, checked (a setting that cannot work stops the server at start, see validate)."""
        return SmtpServer(self.smtp_host, self.smtp_port, self.smtp_security or default_security(self.smtp_host),
                          self.smtp_username, self.smtp_password, self.smtp_ca_file)
    # Tidsbokning (chat/booking/service.py): citizens change a booking until this many hours before it starts.
    booking_change_hours: int = field(default_factory=lambda: _env_int("SAMTAL_BOOKING_CHANGE_HOURS", 24))
    booking_reminder_hours: int = field(default_factory=lambda: _env_int("SAMTAL_BOOKING_REMINDER_HOURS", 24))
    booking_reminder_check_seconds: int = field(default_factory=lambda: _env_int(
        "SAMTAL_BOOKING_REMINDER_CHECK_SECONDS", 300))
    # The meeting link for video meetings, e.g. https://video.example.se/{unit}/{booking}; none: no link. A
    # supervisor may set the unit's own on /unit (chat/units/settings.py); this applies where none is set.
    video_link_template: str = field(default_factory=lambda: os.environ.get("SAMTAL_VIDEO_LINK_TEMPLATE", ""))
    # STUN/TURN servers for the built-in video call (chat/booking/calls.py); none: host candidates only, enough on one
    # network. TURN credentials in here are given only to the people of a call (GET /api/cases/…/calls/…).
    ice_servers: list[dict[str, object]] = field(default_factory=_env_ice_servers)
    # Time-limited TURN credentials (web/turn.py): the secret shared with the TURN server (coturn's
    # static-auth-secret) and its addresses; each person of a call gets a credential that expires with the call.
    turn_secret: str = field(default_factory=lambda: _env_str("SAMTAL_TURN_SECRET"))
    turn_urls: list[str] = field(default_factory=lambda: parse_urls(_env_str("SAMTAL_TURN_URLS")))
    # Calls through the TURN relay only (iceTransportPolicy "relay"): neither browser is told the other's
    # network address, which matters for a citizen with a protected identity (skyddade personuppgifter).
    call_relay_only: bool = field(default_factory=lambda: os.environ.get("SAMTAL_CALL_RELAY_ONLY", "") == "1")
    # Notifications by e-mail (chat/notifications/notices.py): one mail once something new has waited unseen this
    # long, at most one per interval per person, and how often to look.
    notify_grace_seconds: int = field(default_factory=lambda: _env_int("SAMTAL_NOTIFY_GRACE_SECONDS", 300))
    notify_min_interval_seconds: int = field(default_factory=lambda: _env_int(
        "SAMTAL_NOTIFY_MIN_INTERVAL_SECONDS", 3600))
    notify_check_seconds: int = field(default_factory=lambda: _env_int("SAMTAL_NOTIFY_CHECK_SECONDS", 30))
    # Scheduled work (reminders, notification mails, urgent alerts) is claimed per item in the database
    # (chat/scheduled.py): a claim left unfinished by a node that died is taken over after this many seconds.
    schedule_lease_seconds: int = field(default_factory=lambda: _env_int("SAMTAL_SCHEDULE_LEASE_SECONDS", 300))
    # Ansökan (docs/applications.md): a folder of the municipality's own form definitions and units.json,
    # beside (and overriding by id) the forms shipped in chat/applications/forms/; none: the shipped ones only.
    forms_dir: Path | None = field(default_factory=lambda: Path(_env_str("SAMTAL_FORMS_DIR")) if _env_str(
        "SAMTAL_FORMS_DIR") else None)

    @property
    def has_turn(self) -> bool:
        """A TURN relay is configured (time-limited credentials, or a turn: address in SAMTAL_ICE_SERVERS)."""
        urls = (u for server in self.ice_servers
                for u in (server["urls"] if isinstance(server["urls"], list) else [server["urls"]]))
        return bool(self.turn_urls) or any(str(u).startswith(TURN_SCHEMES) for u in urls)

    @property
    def database_path(self) -> Path:
        return self.data_dir / "samtal.sqlite3"

    @property
    def database(self) -> str | Path:
        """The database's address: the PostgreSQL URL when one is set, else the SQLite file."""
        return self.database_url or self.database_path

    @property
    def public_base(self) -> str:
        if self.public_url:
            return self.public_url
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def validate(self) -> None:
        if self.database_url and not self.database_url.startswith(("postgresql://", "postgres://")):
            raise SystemExit("SAMTAL_DATABASE_URL (--database) is a PostgreSQL address: postgresql://...")
        if self.bus_url and not self.bus_url.startswith(("nats://", "redis://", "rediss://", "tls://")):
            raise SystemExit("SAMTAL_BUS_URL (--bus) is nats://host:port or redis://host:port")
        if self.bus_url and not self.database_url:
            raise SystemExit("several nodes share one PostgreSQL database: --bus needs --database postgresql://...")
        if self.sqlite_synchronous.upper() not in {"FULL", "NORMAL", "EXTRA"}:
            raise SystemExit("SAMTAL_SQLITE_SYNCHRONOUS must be FULL, NORMAL or EXTRA")
        if self.audit_witness_seconds < 1:
            raise SystemExit("SAMTAL_AUDIT_WITNESS_SECONDS must be at least 1")
        if self.outbox_limit < 10 or self.send_rate < 1 or self.send_burst < 1:
            raise SystemExit("SAMTAL_OUTBOX_LIMIT must be at least 10; send rate and burst at least 1")
        if not 0 < self.port < 65536:
            raise SystemExit("the port must be between 1 and 65535")
        if self.notify_grace_seconds < 0 or self.notify_min_interval_seconds < 0 or self.notify_check_seconds < 1 \
                or self.schedule_lease_seconds < 1:
            raise SystemExit("SAMTAL_NOTIFY_GRACE_SECONDS and SAMTAL_NOTIFY_MIN_INTERVAL_SECONDS must not be "
                             "negative, and SAMTAL_NOTIFY_CHECK_SECONDS at least 1")
        if self.smtp_host:
            try:
                self.smtp_server.check()
            except MailSettingsError as error:
                raise SystemExit(str(error)) from None
        self._validate_sign_in()
        self._validate_turn()
        for url in self.unit_identity_urls.values():
            if not loopback_or_https(url):
                raise SystemExit("SAMTAL_UNIT_IDENTITY_URLS: every address must be https (or http on loopback)")

    def _validate_turn(self) -> None:
        if bool(self.turn_secret) != bool(self.turn_urls):
            raise SystemExit("SAMTAL_TURN_SECRET and SAMTAL_TURN_URLS go together: set both or neither")
        if self.turn_secret and len(self.turn_secret) < 16:
            raise SystemExit("SAMTAL_TURN_SECRET must be at least 16 characters")
        if self.call_relay_only and not self.has_turn:
            raise SystemExit("SAMTAL_CALL_RELAY_ONLY needs a TURN server (SAMTAL_TURN_URLS or a turn: address in "
                             "SAMTAL_ICE_SERVERS): without one no call could connect")

    def _validate_sign_in(self) -> None:
        if self.login_rate < 1 or self.oidc_max_age < 0:
            raise SystemExit("SAMTAL_LOGIN_RATE must be at least 1 and SAMTAL_OIDC_MAX_AGE not negative")
        if self.pnr_hmac_key and len(self.pnr_hmac_key) < 32:
            raise SystemExit("SAMTAL_PNR_HMAC_KEY must be at least 32 characters (e.g. 64 hex digits)")
        for name, issuer, client_id, secret, acr in (
                ("SAMTAL_OIDC_CITIZEN_ISSUER", self.oidc_citizen_issuer, self.oidc_citizen_client_id,
                 self.oidc_citizen_client_secret, self.oidc_citizen_acr),
                ("SAMTAL_OIDC_STAFF_ISSUER", self.oidc_staff_issuer, self.oidc_staff_client_id,
                 self.oidc_staff_client_secret, self.oidc_staff_acr)):
            if not issuer:
                continue
            if not loopback_or_https(issuer):
                raise SystemExit(f"{name} must be an https URL")
            if not client_id or not secret:
                raise SystemExit(f"{name} is set, so its client id and client secret must be set too")
            if acr and acr not in self.oidc_acr_levels and not acr.isdigit():
                raise SystemExit(f"the ACR required with {name} must be a number or one of SAMTAL_OIDC_ACR_LEVELS")
            if not loopback_or_https(self.public_base):
                raise SystemExit("set SAMTAL_PUBLIC_URL to the https address browsers reach Samtal at")
