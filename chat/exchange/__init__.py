"""The agency exchange (DESIGN.md section 6): functional addresses that agencies send signed, encrypted
documents to, with signed receipts, in standard JOSE formats. See docs/exchange.md.

    jose       JWS/JWE wrapping with a maintained library (joserfc), algorithm allow-lists, key files
    envelope   the envelope and receipt formats, and the checks on an incoming envelope
    documents  the document types: schemas, validation and a plain-text rendering
    (storage)  its tables behind chat/storage/exchange.py, reached as `store.exchange`
    service    receiving, fetching, acknowledging, receipts and proofs
    alerts     e-mail to on-call contacts when an urgent document is not read in time
"""
