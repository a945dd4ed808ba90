"""Issued statements of use (Verwendungsnachweise) through the API: the list of a school year and
the download of one, byte for byte as issued (``ledger.workflows.issued``). Drafts and issuing
stay with the web UI and the command line.
"""
from __future__ import annotations

from flask import url_for

from ledger.core.money import format_plain
from ledger.workflows.issued import get_issued, list_issued
from webapp.api.access import recipient
from webapp.api.base import ApiBlueprint
from webapp.api.schemas import IssuedSchema, YearQuery
from webapp.db import get_session
from webapp.problems import API_PREFIX
from webapp.views import issued_pdf_response

bp = ApiBlueprint("api_statements", __name__, url_prefix=f"{API_PREFIX}/recipients/<key>/statements",
                  description="Ausgestellte Verwendungsnachweise auflisten und herunterladen.")


@bp.route("", methods=["GET"])
@bp.arguments(YearQuery, location="query")
@bp.response(200, IssuedSchema(many=True))
def index(query: dict, key: str):
    """Die ausgestellten Verwendungsnachweise des Schuljahres, der neueste zuerst, mit dem Pfad zum Herunterladen."""
    target = recipient(key)
    return [{"id": i.id, "number": i.number, "school_year": i.school_year, "sha256": i.sha256,
             "created_by": i.created_by, "created_at": i.created_at.isoformat(), "chain_seq": i.chain_seq,
             "chain_hash": i.chain_hash, "repayment_due": format_plain(i.repayment_due), "size": i.size,
             "pdf": url_for("api_statements.pdf", key=key, statement_id=i.id)}
            for i in list_issued(get_session(), target, query["school_year"])]


@bp.route("/<int(max=2147483647):statement_id>/pdf", methods=["GET"])
@bp.response(200, {"format": "binary", "type": "string"}, content_type="application/pdf",
             description="Der Verwendungsnachweis als PDF, wie ausgestellt.")
def pdf(key: str, statement_id: int):
    """Einen ausgestellten Verwendungsnachweis herunterladen (PDF, Byte für Byte wie ausgestellt)."""
    target = recipient(key)
    return issued_pdf_response(target, get_issued(get_session(), target, statement_id))
