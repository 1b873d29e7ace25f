/**
 * The errors thrown on purpose by the browser crypto, one hierarchy like Python's crypto/errors.py:
 *
 *     CryptoError            anything this package refuses to do
 *      ├── DecryptionError   an AEAD tag that does not verify: wrong key, wrong AAD, tampering
 *      └── MalformedError    bytes or text that do not have the specified shape
 *
 * Signature checks return false instead of throwing, as in Python.
 * @module crypto/errors
 */

export class CryptoError extends Error {
  /** @param {string} message @param {{cause?: unknown}} [options] */
  constructor(message, options) {
    super(message, options);
    // `name` is what callers (and the tests, across the Playwright boundary) can see of the class.
    this.name = new.target.name;
  }
}

/** Authenticated decryption failed; no plaintext is ever returned in this case. */
export class DecryptionError extends CryptoError {}

/** Input has the wrong length, encoding or format. */
export class MalformedError extends CryptoError {}
