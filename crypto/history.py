"""History links: a newer key epoch seals an older one, so that whoever is given the newest epoch of a unit key
or a case key can open every older one too (docs/protocol.md section 17). A new device needs one wrap, and
needs nobody online who still holds the old epochs.

The chain only points backwards: holding an old epoch opens nothing newer, so a revoked device that kept
its old keys gains nothing from the links of the epochs made after it was removed."""
from __future__ import annotations

import hmac
import secrets

from . import hpke
from .aead import NONCE_LEN, aead_open, aead_seal
from .encoding import epoch_bytes, lp16, require_len, utf8
from .errors import CryptoError, MalformedError
from .keys import DeviceKeys, DevicePublicKeys, is_acceptable_x25519_public, x25519_public
from .sign import verify_strict
from .wrap import KEY_LEN, WRAPPED_CT_LEN

_UNIT_HISTORY_LABEL = b"samtal/unit-history/v1"
_CASE_HISTORY_LABEL = b"samtal/case-history/v1"
_HISTORY_SIG_LABEL = b"samtal/history-sig/v1"
KINDS = ("unit", "case")
UNIT_LINK_LEN = hpke.N_ENC + WRAPPED_CT_LEN  # enc (32) || ct (48)
CASE_LINK_LEN = NONCE_LEN + WRAPPED_CT_LEN  # nonce (12) || ct (48)


def _epochs(epoch: int, sealed_epoch: int) -> bytes:
    if not 1 <= sealed_epoch < epoch:
        raise MalformedError("a history link seals an older epoch with a newer one")
    return epoch_bytes(epoch) + epoch_bytes(sealed_epoch)


def unit_history_info(unit_id: str, epoch: int, sealed_epoch: int) -> bytes:
    """HPKE info of a unit link: unit epoch `epoch`'s public key seals epoch `sealed_epoch`'s private key."""
    return _UNIT_HISTORY_LABEL + lp16(utf8(unit_id)) + _epochs(epoch, sealed_epoch)


def case_history_aad(case_id: str, epoch: int, sealed_epoch: int) -> bytes:
    """AES-GCM additional data of a case link: case key `epoch` seals case key `sealed_epoch`."""
    return _CASE_HISTORY_LABEL + lp16(utf8(case_id)) + _epochs(epoch, sealed_epoch)


def link_len(kind: str) -> int:
    if kind == "unit":
        return UNIT_LINK_LEN
    if kind == "case":
        return CASE_LINK_LEN
    raise MalformedError("history kind must be 'unit' or 'case'")


def seal_unit_history(unit_id: str, epoch: int, unit_pub: bytes, sealed_epoch: int, sealed_priv: bytes, *,
                      ikm_e: bytes | None = None) -> bytes:
    """Seal unit key `sealed_epoch`'s private key to unit key `epoch`'s public key: enc || ct, 80 bytes.
    `ikm_e` is for test vectors only."""
    if not is_acceptable_x25519_public(unit_pub):
        raise MalformedError("unit public key is of small order or not canonical")
    enc, ct = hpke.seal(unit_pub, unit_history_info(unit_id, epoch, sealed_epoch), b"",
                        require_len(sealed_priv, KEY_LEN, "unit private key"), ikm_e=ikm_e)
    return enc + ct


def open_unit_history(unit_id: str, epoch: int, unit_priv: bytes, sealed_epoch: int, link: bytes,
                      expected_sealed_pub: bytes) -> bytes:
    """Open a unit link with unit key `epoch` and check the older key against its published (signed) public
    key, as for a grant (section 6): a link cannot hand a device a unit key of someone else's choosing."""
    link = require_len(link, UNIT_LINK_LEN, "unit history link")
    priv = hpke.open(unit_priv, link[:hpke.N_ENC], unit_history_info(unit_id, epoch, sealed_epoch), b"",
                     link[hpke.N_ENC:])
    if not hmac.compare_digest(x25519_public(priv), require_len(expected_sealed_pub, KEY_LEN, "unit_pub")):
        raise CryptoError("the unit key in a history link does not match the epoch's public key")
    return priv


def seal_case_history(case_id: str, epoch: int, case_key: bytes, sealed_epoch: int, sealed_key: bytes, *,
                      nonce: bytes | None = None) -> bytes:
    """Seal case key `sealed_epoch` under case key `epoch`: nonce || ct, 60 bytes. `nonce` is for test
    vectors only."""
    nonce = secrets.token_bytes(NONCE_LEN) if nonce is None else require_len(nonce, NONCE_LEN, "nonce")
    return nonce + aead_seal(case_key, nonce, case_history_aad(case_id, epoch, sealed_epoch),
                             require_len(sealed_key, KEY_LEN, "case key"))


def open_case_history(case_id: str, epoch: int, case_key: bytes, sealed_epoch: int, link: bytes) -> bytes:
    """Open a case link with case key `epoch`; raises DecryptionError for a wrong key, case or epoch."""
    link = require_len(link, CASE_LINK_LEN, "case history link")
    return aead_open(case_key, link[:NONCE_LEN], case_history_aad(case_id, epoch, sealed_epoch), link[NONCE_LEN:])


def history_signing_bytes(kind: str, target_id: str, epoch: int, sealed_epoch: int, link: bytes) -> bytes:
    """The bytes the device that made a link signs: which chain, which two epochs, and the exact link."""
    require_len(link, link_len(kind), f"{kind} history link")
    return (_HISTORY_SIG_LABEL + lp16(utf8(kind)) + lp16(utf8(target_id)) + _epochs(epoch, sealed_epoch)
            + lp16(link))


def sign_history(keys: DeviceKeys, kind: str, target_id: str, epoch: int, sealed_epoch: int, link: bytes) -> bytes:
    return keys.sign(history_signing_bytes(kind, target_id, epoch, sealed_epoch, link))


def verify_history(signer: DevicePublicKeys, signature: bytes, kind: str, target_id: str, epoch: int,
                   sealed_epoch: int, link: bytes) -> bool:
    """Verify a link's signature strictly; False (never an exception) for malformed fields too."""
    try:
        signed = history_signing_bytes(kind, target_id, epoch, sealed_epoch, link)
    except MalformedError:
        return False
    return verify_strict(signer.sign_pub, signed, signature)
