"""The fingerprint of a statement's content: equal content, equal fingerprint, whenever it is made.

Two statements of one school year say the same when everything a statement shows is equal
except the moment it was produced and its issue number: every figure of the computation
(``result``: grant, spending by category and status, overhead cap, excluded, unclassified,
agreement, notice, tranches, interest, the evaluation run behind the figures), the payouts,
every voucher line with its classification, the targets, the pass-through and its
verifications, the officers' overrides (withdrawn ones included), the forecast (while the
year is open; it is computed as of the statement's day, so the same books on another day may
give another forecast and then another fingerprint), the bank details, the hash-chain head,
the rule pack and the Sachbericht (text, who, when). ``content_fingerprint`` therefore takes
the whole ``StatementData`` and leaves out only ``created_at`` and ``issue_number``.

The content is written as canonical JSON, not as ``repr``: ``repr`` of frozen dataclasses of
``Decimal``, ``date`` and tuples is deterministic, but a ``set`` or ``frozenset`` inside would
print in an order that depends on ``PYTHONHASHSEED``, and a ``dict`` keyed by tuples
(``Totals.cells``) cannot be sorted by JSON. So each value is turned into JSON types
explicitly (``_canonical``): dataclasses as objects of their fields (with the class name),
``Decimal`` as its exact string (``"1000.00"``, never a float), dates and date-times in ISO
format, enums by their value, tuples and lists as arrays, sets and dicts sorted by the
canonical JSON of their items and keys. Any other type raises TypeError, so a new field of
an unknown kind cannot slip in unhashed. The version prefix ``FORMAT`` changes if this
encoding ever does.
"""
from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
from datetime import date, datetime
from decimal import Decimal

from ledger.reports.statement import StatementData

#: The encoding's name and version, hashed before the content.
FORMAT = "inkl-statement-content/1"
#: The fields of ``StatementData`` that are not content: when it was produced, and its number.
NOT_CONTENT = frozenset({"created_at", "issue_number"})
_JSON = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def content_fingerprint(data: StatementData) -> str:
    """SHA-256 (64 hex digits) of the content of ``data`` without ``created_at`` and ``issue_number``.

    Equal content gives an equal fingerprint in any process and on any day. Raises TypeError
    for a value of a type the encoding does not know (see the module docstring).
    """
    content = {f.name: _canonical(getattr(data, f.name)) for f in dataclasses.fields(data)
               if f.name not in NOT_CONTENT}
    return hashlib.sha256(f"{FORMAT}\n{_JSON.encode(content)}".encode()).hexdigest()


def _canonical(value):
    """``value`` as JSON types, deterministically (see the module docstring)."""
    if value is None or isinstance(value, (bool, int, str)) and not isinstance(value, enum.Enum):
        return value
    if isinstance(value, enum.Enum):
        return _canonical(value.value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: _canonical(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {"type": type(value).__name__, "fields": fields}
    if isinstance(value, (tuple, list)):
        return [_canonical(item) for item in value]
    if isinstance(value, (set, frozenset)):
        return sorted((_canonical(item) for item in value), key=_JSON.encode)
    if isinstance(value, dict):
        pairs = [[_canonical(k), _canonical(v)] for k, v in value.items()]
        return sorted(pairs, key=lambda pair: _JSON.encode(pair[0]))
    raise TypeError(f"statement content: no canonical form for {type(value).__name__}")
