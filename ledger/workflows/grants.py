"""Recording a grant's assessment notice (Festsetzungsbescheid), checked against the rules.

A grant is recorded only for a school year that a rule pack of its programme judges:
otherwise nothing could say what of it is purpose-conform, and every figure of that year
would fail later (the statute's pack covers 2014/15–2020/21, the Hinweise' pack 2021/22 on).
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from ledger.core.grants import INKLUSIONSPAUSCHALE, add_grant
from ledger.core.models import Grant, Recipient
from ledger.core.schoolyear import SchoolYear
from ledger.rules.packs import RulePack, load_packs, pack_for


def record_grant(session: Session, recipient: Recipient, school_year: SchoolYear, assessed: Decimal, *,
                 notice_date: date | None = None, actor: str, now: datetime, programme: str = INKLUSIONSPAUSCHALE,
                 packs: tuple[RulePack, ...] | None = None) -> Grant:
    """``ledger.core.grants.add_grant`` (``assessed`` EUR) once a rule pack of ``programme``
    covers ``school_year``.

    Raises RulePackError (German, naming the school year and the packs there are) if none
    does, LedgerError as ``add_grant`` does. Nothing is written on an error.
    """
    pack_for(programme, school_year, packs or load_packs())
    return add_grant(session, recipient, school_year, assessed, notice_date=notice_date, actor=actor, now=now,
                     programme=programme)
