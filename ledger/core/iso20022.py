"""ISO 20022 message schemas: load one by message name, validate a document against it.

The schemas ship with the package (``ledger/core/schemas/iso20022/``, copies of the ISO 20022
message definitions as published for implementers; the README there names their origin and
checksums). Validation is lxml's (libxml2's XML Schema 1.0), no home-made checks:

- ``schema("pain.001.001.09")``: the repayment as a SEPA credit transfer (``ledger.write.sepa``);
- ``schema("camt.053.001.08")``: bank statements as German banks deliver them.
"""
from __future__ import annotations

import threading
from functools import cache
from importlib import resources

from lxml import etree

from ledger.core.errors import LedgerError

#: The messages whose schemas ship with the package, by message name (= file name without ``.xsd``).
MESSAGES = ("camt.053.001.08", "pain.001.001.09")
#: A schema's ``error_log`` belongs to the schema object, not to the call: one validation at a time
#: (the web's background jobs run in threads).
_VALIDATING = threading.Lock()


def namespace(message: str) -> str:
    """The XML namespace of ``message``'s documents: ``"urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"``."""
    return f"urn:iso:std:iso:20022:tech:xsd:{message}"


@cache
def schema(message: str) -> etree.XMLSchema:
    """The XML schema of ``message`` (one of ``MESSAGES``), parsed once per process.

    Raises LedgerError (German) for a message whose schema does not ship with the package.
    """
    if message not in MESSAGES:
        raise LedgerError(f"kein ISO-20022-Schema für die Nachricht {message!r} (vorhanden: {', '.join(MESSAGES)})")
    source = resources.files("ledger.core").joinpath("schemas", "iso20022", f"{message}.xsd")
    with source.open("rb") as xsd:
        return etree.XMLSchema(etree.parse(xsd))


def validate(message: str, data: bytes) -> list[tuple[int, str]]:
    """Validate the XML document ``data`` (bytes, any declared encoding) against ``message``'s
    schema; returns the errors as ``(line, libxml2's message)``, by line, empty if
    the document is valid.

    A document that is not well-formed XML gives its parse error (line of the error). Raises
    LedgerError for an unknown ``message``. The entity resolution of the parser is off: a
    document cannot make the validation read files or the network.
    """
    xsd = schema(message)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        document = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        return [(exc.lineno or 0, exc.msg)]
    with _VALIDATING:
        if xsd.validate(document):
            return []
        return sorted(((error.line, error.message) for error in xsd.error_log), key=lambda error: error[0])
