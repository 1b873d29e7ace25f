"""SDK, Säker digital kommunikation (#16; docs/sdk.md): Samtal's exchange documents to and from the national
federation's organisations, as SDK messages (MessageWithAttachments:3).

    mapping      our six document types and free text <-> SDK messages, and the REST API's JSON
    addresses    the units' SDK functional addresses and the look-up of recipients (a file)
    rest_client  Samtal as a message client of a message service's REST API (send, poll, fetch, delete)
    bridge       SDK messages into a unit's Myndighetspost and the unit's documents out, on a schedule
    envelope     SDK messages as XML, and the XHE 1.0 envelope around them
    security     the envelope signed and encrypted organisation to organisation (tm-base-ext-sigenc; xmlsec)
    validation   Digg's XSDs (lxml) and Schematron rules (Saxon-HE) for envelopes, messages and receipts
    receipts     Meddelandekvittens: the receipt a received envelope gets, and receipts in their own envelope
"""
