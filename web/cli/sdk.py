"""`samtal sdk`: tools for integrators of SDK (Säker digital kommunikation), docs/sdk.md.

check validates an XHE envelope, an SDK message or a receipt against Digg's XSDs and Schematron rules and
prints each problem with its path (exit 0 valid, 1 not); build makes a signed and encrypted envelope
(tm-base-ext-sigenc) from a document file with the sender's key and certificate and the recipient's certificate."""
from __future__ import annotations

import argparse
import base64
import json
import mimetypes
import sys
from pathlib import Path
from typing import Any

USAGE = 2


def cmd_check(args: argparse.Namespace) -> int:
    from chat.exchange.sdk.validation import check

    data = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    report = check(data)
    for problem in report.problems:
        print(f"{args.file}: {problem}")
    if report.ok:
        print(f"{args.file}: valid {report.kind} (XSD and Schematron)")
    return 0 if report.ok else 1


def cmd_build(args: argparse.Namespace) -> int:
    from chat.exchange.documents import validate
    from chat.exchange.sdk import envelope, security
    from chat.exchange.sdk.mapping import Party
    from chat.exchange.sdk.validation import check

    source = Path(args.document).read_bytes()
    sender = Party(args.sender, args.sender_function)
    recipient = Party(args.recipient, args.recipient_function)
    if args.type:
        try:
            content = json.loads(source)
            problems = validate(args.type, content)
        except ValueError as error:
            problems = [str(error)]
        if problems:
            print(f"{args.document}: not a valid {args.type} document: {'; '.join(problems)}", file=sys.stderr)
            return USAGE
    else:  # any file: sent as an attachment of a free-text message, whose text says what it is
        name = Path(args.document).name
        media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        content = {"subject": args.label, "text": args.text or args.label, "confidential": not args.public,
                   "attachments": [{"name": name, "media_type": media_type,
                                    "data": base64.urlsafe_b64encode(source).decode()}]}
    message = envelope.new_message(args.type or "message/v1", content, label=args.label, sender=sender,
                                   recipient=recipient, conversation_id=args.conversation,
                                   ref_to_message_id=args.ref_to)
    payload = envelope.build_message(message)
    xhe = envelope.build_xhe(payload, from_org=args.sender, to_org=args.recipient,
                             handling_service_id=args.recipient_function, federation=args.federation)
    sealed = security.seal(xhe, sender_key_pem=Path(args.key).read_bytes(),
                           sender_cert_pem=Path(args.cert).read_bytes(),
                           recipient_cert_pem=Path(args.recipient_cert).read_bytes())
    # What Samtal sends is what Digg's rules accept: checked before it is written.
    for part in (payload, sealed):
        report = check(part)
        if not report.ok:
            for problem in report.problems:
                print(f"built {report.kind}: {problem}", file=sys.stderr)
            return 1
    if args.out == "-":
        sys.stdout.buffer.write(sealed)
    else:
        Path(args.out).write_bytes(sealed)
        print(json.dumps({"envelope": args.out, "message_id": message.message_id,
                          "conversation_id": message.conversation_id}))
    return 0


def cmd_open(args: argparse.Namespace) -> int:
    from lxml import etree

    from chat.exchange.sdk import envelope, receipts, security

    data = Path(args.file).read_bytes()
    key = Path(args.key).read_bytes()
    cas = [Path(p).read_bytes() for p in args.ca]
    try:
        is_receipt = envelope.parse_xhe(data).document_type == envelope.RECEIPT_DOCUMENT_TYPE
    except (ValueError, etree.XMLSyntaxError):  # not even an envelope: receive() answers with a schema receipt
        is_receipt = False
    if is_receipt:
        try:
            receipt = receipts.open_receipt(data, recipient_key_pem=key, trusted_ca_pems=cas)
        except (ValueError, security.SignatureError, security.DecryptionError) as error:
            print(json.dumps({"receipt": None, "error": str(error)}, ensure_ascii=False))
            return 1
        print(json.dumps(_receipt_json(receipt), ensure_ascii=False))
        return 0
    signers: dict[str, list[str]] | None = None
    if args.signer:
        signers = {}
        for entry in args.signer:
            org, _, fingerprint = entry.partition("=")
            signers.setdefault(org, []).append(fingerprint)
    got = receipts.receive(data, our_org=args.organisation, recipient_key_pem=key, trusted_ca_pems=cas,
                           signers=signers)
    if args.receipt:
        Path(args.receipt).write_bytes(got.receipt_xml)
    if args.out and got.message_xml:
        Path(args.out).write_bytes(got.message_xml)
    summary = {"message": {"id": got.message.message_id, "conversation": got.message.conversation_id,
                           "ref_to": got.message.ref_to_message_id, "label": got.message.label,
                           "sender": got.message.sender.organisation, "sender_function": got.message.sender.function,
                           "confidential": got.message.confidential} if got.message else None,
               **_receipt_json(got.receipt)}
    print(json.dumps(summary, ensure_ascii=False))
    return 0 if got.receipt.accepted else 1


def _receipt_json(receipt: Any) -> dict[str, Any]:
    return {"receipt": "ACCEPTED" if receipt.accepted else "REJECTED", "ref_id": receipt.ref_id,
            "lines": [{"code": line.code, "path": line.path, "reason": line.reason, "rule": line.rule}
                      for line in receipt.lines]}


def add_parser(sub: Any) -> None:
    sdk = sub.add_parser("sdk", help="SDK (Säker digital kommunikation) tools for integrators",
                         description="Validate and build SDK messages and XHE envelopes (docs/sdk.md).")
    acts = sdk.add_subparsers(dest="sdk_action", required=True)
    check = acts.add_parser("check", help="validate an XHE envelope, SDK message or receipt",
                            description="Validate an XHE envelope, an SDK message or a receipt (or the payloads of "
                            "a Domibus submitRequest) against Digg's XSDs and Schematron rules. Prints each problem "
                            "with its path; exit 0 when valid, 1 when not.")
    check.add_argument("file", help="the XML file, or - for standard input")
    check.set_defaults(func=cmd_check)
    build = acts.add_parser("build", help="make a signed and encrypted XHE envelope from a document",
                            description="Make an SDK message from a document file, put it in an XHE envelope, "
                            "encrypt it for the recipient's certificate and sign it with the sender's key "
                            "(transport model tm-base-ext-sigenc). Certificates and keys are PEM files.")
    build.add_argument("document", help="with --type: the exchange document's content as JSON "
                       "(docs/exchange.md); without: any file, sent as an attachment")
    build.add_argument("--type", help="an exchange document type, e.g. orosanmalan/v1")
    build.add_argument("--label", required=True, help="the message's subject (label)")
    build.add_argument("--text", help="without --type: the message's text (default: the label)")
    build.add_argument("--public", action="store_true", help="without --type: not confidential")
    build.add_argument("--sender", required=True, help="the sender's participant id, 0203:<organisation>")
    build.add_argument("--sender-function", required=True, help="the sender's functional address")
    build.add_argument("--recipient", required=True, help="the recipient's participant id, 0203:<organisation>")
    build.add_argument("--recipient-function", required=True, help="the recipient's functional address")
    build.add_argument("--ref-to", help="the message id this one answers (refToMessageId)")
    build.add_argument("--conversation", help="the conversation id (default: a new one)")
    build.add_argument("--federation", default="urn:fdc:digg.se:edelivery:federation:sdk",
                       help="FEDERATIONID (…:federation:test in Digg's test federation)")
    build.add_argument("--key", required=True, help="the sender organisation's private key (PEM)")
    build.add_argument("--cert", required=True, help="the sender organisation's certificate (PEM)")
    build.add_argument("--recipient-cert", required=True, help="the recipient organisation's certificate (PEM)")
    build.add_argument("--out", default="-", help="where to write the envelope (default: standard output)")
    build.set_defaults(func=cmd_build)
    opened = acts.add_parser("open", help="verify, decrypt and check an envelope sent to you; make its receipt",
                             description="Check a received XHE envelope (XSD, Schematron), verify its signature "
                             "against the trusted CA certificates, decrypt it with your key and check the message "
                             "inside, as Samtal does on receipt. Prints JSON (the message's header and Digg's "
                             "receipt: ACCEPTED, or REJECTED with each problem); exit 0 accepted, 1 rejected. A "
                             "receipt envelope is opened and its receipt printed.")
    opened.add_argument("file", help="the envelope")
    opened.add_argument("--key", required=True, help="your organisation's private key (PEM)")
    opened.add_argument("--ca", action="append", required=True,
                        help="a trusted CA certificate (PEM); repeat for several")
    opened.add_argument("--organisation", required=True, help="your participant id, 0203:<organisation> "
                        "(an envelope to another is rejected)")
    opened.add_argument("--signer", action="append", help="ORG=SHA256: a signing certificate registered for a "
                        "participant id (hex fingerprint of the DER); when given, an envelope signed by a certificate "
                        "not registered for its sender is rejected. Repeat for several")
    opened.add_argument("--out", help="write the decrypted SDK message here")
    opened.add_argument("--receipt", help="write the receipt (ApplicationResponse XML) here")
    opened.set_defaults(func=cmd_open)
