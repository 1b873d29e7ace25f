"""The agency exchange's storage (docs/exchange.md): the directory, messages, receipts and used token ids, the
address key wraps; the records and the interface the SQL implementation (chat/storage/sql/exchange.py) keeps.
An envelope or receipt and the audit row that records it commit together."""
from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chat.audit.chain import AuditEvent, AuditRow
from chat.exchange.envelope import Envelope


@dataclass(frozen=True)
class Address:
    """A functional address (funktionsadress) of a unit, or an agency's address, with its public keys."""

    address: str
    kind: str  # agency | unit
    name: str
    unit_id: str | None
    document_types: list[str]
    max_bytes: int
    rate_per_minute: int
    oncall: list[str] = field(default_factory=list)
    keys: list[dict[str, Any]] = field(default_factory=list)  # active public JWKs

    def key(self, use: str) -> dict[str, Any] | None:
        """The newest active key for `use` (sig or enc)."""
        return next((k for k in reversed(self.keys) if k.get("use") == use), None)


@dataclass(frozen=True)
class Message:
    row: int
    msg_id: str
    sender: str
    recipient: str
    conversation: str
    in_reply_to: str | None
    doc_type: str
    priority: str
    label: str
    created: int
    expires: int
    envelope: str
    envelope_sha256: str
    content: str
    stored_at: int
    audit_id: int
    acked_at: int | None
    alerted_at: int | None


@dataclass(frozen=True)
class Receipt:
    status: str
    jws: str
    at: int
    audit_id: int
    by_user: str | None


@dataclass(frozen=True)
class AddressKeyWrap:
    """An address's private key (`kid`) HPKE-wrapped to unit key epoch `unit_epoch` by a staff device, which
    signed it (crypto/wrap.py): its X25519 decryption key (use "enc", wrap kind "address") or its Ed25519
    signing key (use "sig", wrap kind "address-sign"). The server cannot open it."""

    kid: str
    unit_epoch: int
    address: str
    unit_id: str
    key_version: int
    enc: bytes
    ct: bytes
    wrapped_by_device: str
    signature: bytes
    use: str = "enc"

    @property
    def kind(self) -> str:
        """The wrap record's kind (crypto/wrap.py) for this key's use."""
        return "address-sign" if self.use == "sig" else "address"


@dataclass(frozen=True)
class AddressKeyBehind:
    """An address key of the unit that is wrapped to an older unit key epoch but not yet to the current one:
    a task for a staff device that holds both (after a unit key rotation)."""

    address: str
    kid: str
    use: str
    key_version: int


SignWithLog = Callable[[int, str], str]  # (audit row id, its hash hex) -> a signed receipt


class ExchangeStore(abc.ABC):
    @abc.abstractmethod
    async def put_address(self, a: Address, audit: AuditEvent) -> None:
        """Register or update an address and add its keys, with the audit row that records who did it."""

    @abc.abstractmethod
    async def retire_key(self, kid: str, audit: AuditEvent) -> bool:
        """Stop using a key; the audit row records the attempt, and whether there was such a key."""

    @abc.abstractmethod
    async def addresses(self, address: str | None = None) -> list[Address]: ...

    @abc.abstractmethod
    async def address(self, address: str) -> Address | None: ...

    @abc.abstractmethod
    async def store_message(self, env: Envelope, envelope: str, envelope_sha256: str, content: str,
                            audit: AuditEvent, sign: SignWithLog) -> tuple[Message, Receipt, bool]:
        """Store a new message and its `received` receipt with its audit row. When the id exists, returns
        the stored message and its first receipt with created=False and stores nothing."""

    @abc.abstractmethod
    async def add_receipt(self, message: Message, status: str, audit: AuditEvent, sign: SignWithLog,
                          by_user: str | None) -> Receipt: ...

    @abc.abstractmethod
    async def message(self, msg_id: str) -> Message | None: ...

    @abc.abstractmethod
    async def receipts(self, message: Message) -> list[Receipt]: ...

    @abc.abstractmethod
    async def messages_to(self, recipients: list[str], only_new: bool, limit: int = 100) -> list[Message]: ...

    @abc.abstractmethod
    async def messages_from(self, senders: list[str], limit: int = 100) -> list[Message]: ...

    @abc.abstractmethod
    async def ack(self, message: Message, at: int) -> None: ...

    @abc.abstractmethod
    async def count_since(self, sender: str, since_ms: int) -> int: ...

    @abc.abstractmethod
    async def use_token(self, address: str, jti: str, expires_at: int) -> bool:
        """Remember a bearer token id until it expires; False when it was used before."""

    @abc.abstractmethod
    async def unit_epoch_public(self, unit_id: str, epoch: int) -> bytes | None: ...

    @abc.abstractmethod
    async def put_address_key_wrap(self, wrap: AddressKeyWrap, audit: AuditEvent) -> None:
        """Store (or replace) the wrap of one address key to one unit key epoch, with its audit row."""

    @abc.abstractmethod
    async def address_key_wraps(self, unit_id: str) -> list[AddressKeyWrap]:
        """The unit's address key wraps whose key is still active, newest unit epoch first."""

    @abc.abstractmethod
    async def address_keys_behind(self, unit_id: str, unit_epoch: int) -> list[AddressKeyBehind]:
        """The unit's active address keys that have a wrap, but none to `unit_epoch` (derived, like the other
        pending key tasks: nothing is stored about them)."""

    @abc.abstractmethod
    async def unread_urgent(self, stored_before: int) -> list[Message]: ...

    @abc.abstractmethod
    async def mark_alerted(self, message: Message, audit: AuditEvent) -> None: ...

    @abc.abstractmethod
    async def audit_anchor(self) -> tuple[int, bytes, int] | None:
        """Where the kept audit log starts after `samtal audit prune`: the last removed row's id and hash,
        and when it was pruned (ms); None when nothing was pruned."""

    @abc.abstractmethod
    async def audit_prune_rule(self) -> str | None:
        """The retention rule the newest prune of the audit log ran under, as the deletion register names it
        (e.g. audit:1826d); None when the register has none (a prune from before the register)."""

    @abc.abstractmethod
    async def audit_rows(self, ids: list[int]) -> list[AuditRow]: ...

    @abc.abstractmethod
    async def append_audit(self, event: AuditEvent) -> int:
        """Append an audit row on its own (a refused request, which stores nothing else)."""
