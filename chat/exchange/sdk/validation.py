"""Validation of SDK documents against Digg's XSDs (lxml, libxml2) and Schematron rules (Saxon-HE).

Each document is recognised by its root element: an XHE envelope, an SDK message (messagePayload), a receipt
(ApplicationResponse), or a Domibus backend submitRequest in a SOAP envelope, whose base64 payloads are checked
in turn. An unencrypted XHE payload that is an SDK message is checked too. Every problem names a path in the
document, so that an integrator can find it and so that a negative receipt can point at it."""
from __future__ import annotations

import base64
import binascii
import re
import threading
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

from lxml import etree

SCHEMAS = Path(__file__).parent / "schemas"

XHE_NS = "http://docs.oasis-open.org/bdxr/ns/XHE/1/ExchangeHeaderEnvelope"
XHA_NS = "http://docs.oasis-open.org/bdxr/ns/XHE/1/AggregateComponents"
XHB_NS = "http://docs.oasis-open.org/bdxr/ns/XHE/1/BasicComponents"
MSG_NS = "urn:riv:infrastructure:messaging:MessageWithAttachments:3"
RECEIPT_NS = "urn:oasis:names:specification:ubl:schema:xsd:ApplicationResponse-2"
SOAP_NS = "http://www.w3.org/2003/05/soap-envelope"
SVRL_NS = "http://purl.oclc.org/dsdl/svrl"

Kind = Literal["envelope", "message", "receipt"]
ProblemKind = Literal["syntax", "schema", "schematron"]

_ROOTS: dict[str, Kind] = {f"{{{XHE_NS}}}XHE": "envelope", f"{{{MSG_NS}}}messagePayload": "message",
                           f"{{{RECEIPT_NS}}}ApplicationResponse": "receipt"}
_XSD = {"envelope": "xhe/XHE-1.0.xsd", "message": "message/infrastructure_messaging_MessageWithAttachments_3.0.xsd",
        "receipt": "receipt/Response-2.1.xsd"}
# Digg ships the envelope's and the receipt's rules compiled to XSLT; the message's only as Schematron.
_RULES = {"envelope": "xhe/DIGG-XHE-Business-Rules.xslt", "message": "message/MessageConstraints.sch.xml",
          "receipt": "receipt/DIGG-AppRes-Business-Rules.xslt"}
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


@dataclass(frozen=True)
class Problem:
    kind: ProblemKind      # syntax: not well-formed or not an SDK document; schema: XSD; schematron: business rule
    path: str
    message: str
    rule: str = ""         # the Schematron rule's id (R3-XHE, ...), when it has one

    def __str__(self) -> str:
        rule = f" [{self.rule}]" if self.rule else ""
        return f"{self.kind}{rule}: {self.path}: {self.message}"


@dataclass
class Report:
    kind: Kind | None
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def parse(xml: bytes) -> etree._ElementTree:
    """Parse without entities or network access (a received document is untrusted). A DOCTYPE is refused
    (ValueError): no SDK document has one, and Saxon, which gets the document later, would expand its entities."""
    tree = etree.fromstring(xml, _PARSER).getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise ValueError("a DOCTYPE is not allowed in an SDK document")
    return tree


def check(xml: bytes) -> Report:
    """Every XSD and Schematron problem of an SDK document (or of each payload of a Domibus submitRequest)."""
    try:
        tree = parse(xml)
    except etree.XMLSyntaxError as error:
        return Report(None, [Problem("syntax", f"line {error.lineno}", str(error.msg))])
    except ValueError as error:
        return Report(None, [Problem("syntax", "/", str(error))])
    return check_tree(tree)


def check_tree(tree: etree._ElementTree, prefix: str = "") -> Report:
    root = tree.getroot()
    if root.tag == f"{{{SOAP_NS}}}Envelope":
        return _check_submit_request(root)
    tag = str(root.tag)
    kind = _ROOTS.get(tag)
    if kind is None:
        return Report(None, [Problem("syntax", "/", f"{tag} is not an XHE envelope, an SDK message "
                                                    "(messagePayload) or a receipt (ApplicationResponse)")])
    report = Report(kind, [*schema_problems(tree, kind, prefix), *rule_problems(tree, kind, prefix)])
    if kind == "envelope":
        for payload in root.iterfind(f"{{{XHA_NS}}}Payloads/{{{XHA_NS}}}Payload/"
                                     f"{{{XHA_NS}}}PayloadContent/{{{MSG_NS}}}messagePayload"):
            content = payload.getparent()
            assert content is not None
            inner = check_tree(etree.ElementTree(_detached(payload)), prefix + tree.getpath(content))
            report.problems += inner.problems
    return report


def _detached(element: etree._Element) -> etree._Element:
    """A copy of `element` as a document of its own, with the namespaces it inherits declared on it."""
    return etree.fromstring(etree.tostring(element), _PARSER)


def _check_submit_request(root: etree._Element) -> Report:
    """A Domibus WS plugin submitRequest (as in Digg's AS4 examples): each payload's value is a document."""
    values = root.findall(f"{{{SOAP_NS}}}Body/*/payload/value")
    if not values:
        return Report(None, [Problem("syntax", "/", "a SOAP envelope without a Domibus submitRequest payload")])
    report = Report("envelope")
    for value in values:
        holder = value.getparent()
        where = f"payload {holder.get('payloadId', '?') if holder is not None else '?'}: "
        try:
            inner = parse(base64.b64decode(value.text or "", validate=True))
        except (binascii.Error, ValueError, etree.XMLSyntaxError) as error:
            report.problems.append(Problem("syntax", where.rstrip(": "), f"not a base64 XML document: {error}"))
            continue
        report.problems += check_tree(inner, where).problems
    return report


# An XMLSchema keeps the errors of its last run on itself, so two threads (the bridge validates in a thread)
# must not run the same one at once.
_SCHEMA_LOCK = threading.Lock()


def schema_problems(tree: etree._ElementTree, kind: Kind, prefix: str = "") -> list[Problem]:
    with _SCHEMA_LOCK:
        schema = _schema(kind)
        if schema.validate(tree):
            return []
        errors = [(e.path, e.line, e.message) for e in schema.error_log]
    return [Problem("schema", prefix + (path or f"line {line}"), message) for path, line, message in errors]


def rule_problems(tree: etree._ElementTree, kind: Kind, prefix: str = "") -> list[Problem]:
    """Failed asserts and successful reports of the Schematron rules, in Saxon-HE (the rules are XPath 2)."""
    svrl = etree.fromstring(_saxon().apply(kind, etree.tostring(tree, encoding="unicode")).encode(), _PARSER)
    names = _prefixes(tree)
    problems = []
    # svrl:error is a rule that could not be evaluated (SchXslt2 reports it and goes on): a problem too, not a pass.
    for finding in svrl.iter(f"{{{SVRL_NS}}}failed-assert", f"{{{SVRL_NS}}}successful-report", f"{{{SVRL_NS}}}error"):
        text = " ".join("".join(finding.itertext()).split()) or f"a rule could not be evaluated ({finding.get('code')})"
        problems.append(Problem("schematron", prefix + _readable(finding.get("location", ""), names), text,
                                finding.get("id", "")))
    return problems


@cache
def _schema(kind: Kind) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMAS / _XSD[kind]), _schema_parser()))


def _schema_parser() -> etree.XMLParser:
    parser = etree.XMLParser(no_network=True)
    parser.resolvers.add(_RenamedFragments())
    return parser


class _RenamedFragments(etree.Resolver):
    """Digg's receipt XSDs import each other as 'DIGG UBL-ApplicationResponse-2.1_…' but are published as
    'Response-2.1_…'; this finds them under the published names."""

    def resolve(self, system_url: str | None, public_id: str | None, context: Any) -> Any:
        name = (system_url or "").rsplit("/", 1)[-1].replace("%20", " ")
        if name.startswith("DIGG UBL-ApplicationResponse-2.1_"):
            local = SCHEMAS / "receipt" / name.replace("DIGG UBL-ApplicationResponse-2.1_", "Response-2.1_")
            return self.resolve_filename(str(local), context)
        return None


# Steps as fn:path() writes them (SchXslt2), and as the ISO skeleton that compiled Digg's XSLT writes them.
_QNAME_STEP = re.compile(r"Q\{([^}]*)\}([\w.-]+)")
_SKELETON_STEP = re.compile(r"\*:([\w.-]+)\[namespace-uri\(\)='([^']*)'\]")


def _prefixes(tree: etree._ElementTree) -> dict[str, str]:
    names: dict[str, str] = {}
    for element in tree.iter():
        for short, uri in (element.nsmap or {}).items():
            names.setdefault(uri, short or "")
    return names


def _readable(location: str, names: dict[str, str]) -> str:
    """fn:path()'s Q{uri}name steps written with the document's own prefixes (as lxml's XSD errors are)."""
    def step(match: re.Match[str]) -> str:
        short = names.get(match[1], "")
        return f"{short}:{match[2]}" if short else match[2]
    location = _SKELETON_STEP.sub(lambda m: f"Q{{{m[2]}}}{m[1]}", location)
    return _QNAME_STEP.sub(step, location) or "/"


class _Saxon:
    """One Saxon-HE processor per process (SaxonC allows one), its compiled rules kept; calls are serialised."""

    def __init__(self) -> None:
        from saxonche import PySaxonProcessor

        self._lock = threading.Lock()
        self._processor = PySaxonProcessor(license=False)
        self._xslt = self._processor.new_xslt30_processor()
        self._compiled: dict[str, Any] = {}

    def _rules(self, kind: Kind) -> Any:
        if kind not in self._compiled:
            source = SCHEMAS / _RULES[kind]
            if source.suffix == ".xslt":
                self._compiled[kind] = self._xslt.compile_stylesheet(stylesheet_file=str(source))
            else:  # Schematron: compiled once with SchXslt2, then run like Digg's own compiled rules
                transpiler = self._xslt.compile_stylesheet(stylesheet_file=str(SCHEMAS / "schxslt2/transpile.xsl"))
                stylesheet = transpiler.transform_to_string(source_file=str(source))
                self._compiled[kind] = self._xslt.compile_stylesheet(stylesheet_text=stylesheet)
        return self._compiled[kind]

    def apply(self, kind: Kind, document: str) -> str:
        with self._lock:
            rules = self._rules(kind)
            node = self._processor.parse_xml(xml_text=document)
            result: str = rules.transform_to_string(xdm_node=node)
            return result


_SAXON: list[_Saxon] = []
_SAXON_LOCK = threading.Lock()


def _saxon() -> _Saxon:
    """The process's one Saxon processor, made on first use (by whichever thread comes first)."""
    with _SAXON_LOCK:
        if not _SAXON:
            _SAXON.append(_Saxon())
        return _SAXON[0]
