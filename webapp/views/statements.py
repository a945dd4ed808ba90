"""Settlement statements (Abrechnungen): the current PDF, issuing one, and the issued ones with their hash.

Issuing runs as a background job (``webapp.jobs``): if it takes longer than
``JOB_WAIT_SECONDS``, the officer sees its progress page (building, setting the PDF,
storing) until the statement is stored, then the list of issued statements.
"""
from __future__ import annotations

from datetime import datetime
from functools import partial

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import Engine

from ledger.core.db import session_scope
from ledger.core.models import Recipient, User
from ledger.core.schoolyear import SchoolYear
from ledger.core.users import can_write
from ledger.reports.statement import build_statement
from ledger.rules.packs import RulePack
from ledger.workflows.issued import get_issued, issue_statement, list_issued
from ledger.write.statement_pdf import render_statement
from webapp import jobs
from webapp.auth import recipient_for
from webapp.clock import timestamp
from webapp.db import get_engine, get_packs, get_session
from webapp.views import pdf_response, require_year

bp = Blueprint("statements", __name__, url_prefix="/r/<key>")
#: Job kind: issuing a statement.
ISSUE = "statement_issue"


@bp.get("/<int:start_year>/statement.pdf")
def pdf(key: str, start_year: int):
    """The statement of school year ``start_year``/``start_year + 1`` as of now (not stored), as an
    attachment ``Abrechnung_<key>_<2023-24>.pdf``."""
    session = get_session()
    recipient = recipient_for(key)
    year, _years = require_year(recipient, start_year)
    data = build_statement(session, recipient, year, now=timestamp(), packs=get_packs())
    return pdf_response(render_statement(data), f"Abrechnung_{recipient.key}_{str(year).replace('/', '-')}.pdf")


@bp.get("/<int:start_year>/abrechnungen")
def index(key: str, start_year: int):
    """The statements issued for the school year (newest first) with SHA-256 and chain head."""
    session = get_session()
    recipient = recipient_for(key)
    year, years = require_year(recipient, start_year)
    return render_template("statements.html", recipient=recipient, year=year, years=years,
                           issued=list_issued(session, recipient, year),
                           may_issue=can_write(current_user.user, recipient))


@bp.post("/<int:start_year>/abrechnungen")
def issue(key: str, start_year: int):
    """Issue (render and keep) the statement as of now, as a background job; officers only."""
    recipient = recipient_for(key, write=True)
    year, _years = require_year(recipient, start_year)
    job = jobs.start(ISSUE, f"Abrechnung {year} ausstellen", recipient.key,
                     partial(_issue, get_engine(), get_packs(), recipient.id, year,
                             current_user.user.id, timestamp()))
    return jobs.answer(job, partial(_job_page, recipient, year),
                       url_for("statements.job", key=recipient.key, start_year=start_year, job_id=job.id))


@bp.get("/<int:start_year>/abrechnungen/vorgang/<job_id>")
def job(key: str, start_year: int, job_id: str):
    """The progress page of issuing a statement; when it is done, the list of issued statements."""
    recipient = recipient_for(key, write=True)
    year, _years = require_year(recipient, start_year)
    return _job_page(recipient, year, jobs.own_job(job_id, (ISSUE,), recipient.key))


def _issue(engine: Engine, packs: tuple[RulePack, ...], recipient_id: int, year: SchoolYear, user_id: int,
           now: datetime, job: jobs.Job) -> list:
    """The job: issue the statement in one write transaction; returns [its number, its SHA-256 (hex)]."""
    job.report("wartet auf die Schreibsperre der Bücher")
    with session_scope(engine, write=True) as session:
        issued = issue_statement(session, session.get(Recipient, recipient_id), year, user=session.get(User, user_id),
                                 now=now, packs=packs, progress=lambda step, _number, _of: job.report(step))
        return [issued.id, issued.sha256]


def _job_page(recipient: Recipient, year: SchoolYear, job: jobs.Job):
    return jobs.page(job, partial(_issued, recipient, year), recipient=recipient, year=year, nav="statements")


def _issued(recipient: Recipient, year: SchoolYear, job: jobs.Job):
    """The issued statement: its number and hash as a message above the list."""
    number, digest = job.result
    flash(f"Abrechnung Nr. {number} ausgestellt (SHA-256 {digest}).")
    return redirect(url_for("statements.index", key=recipient.key, start_year=year.start_year))


@bp.get("/abrechnung/<int:statement_id>.pdf")
def issued_pdf(key: str, statement_id: int):
    """An issued statement, byte for byte as stored."""
    recipient = recipient_for(key)
    issued = get_issued(get_session(), recipient, statement_id)
    name = f"Abrechnung_{recipient.key}_{issued.school_year.replace('/', '-')}_Nr{issued.id}.pdf"
    return pdf_response(issued.pdf, name)
