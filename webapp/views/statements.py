"""Statements of use (Verwendungsnachweise): the draft PDF, the Sachbericht, issuing one, and the issued ones.

The page shows the year's Sachbericht (ANBest-G NRW, Nachweis der Verwendung): officers edit it (every save is
a new version, ``ledger.core.narrative``), auditors read it. Issuing asks for confirmation
first: the button leads to a page naming what will be issued (school year, the number it
will get, repayment due, chain head, whether a Sachbericht is written), and only "Jetzt
verbindlich ausstellen" there issues, with the content fingerprint it showed, so a change of
the books in between is refused rather than issued unseen. Issuing runs as a background job
(``webapp.jobs``): if it takes longer than ``JOB_WAIT_SECONDS``, the officer sees its progress
page (building, setting the PDF, storing) until the statement is stored, then the list of
issued statements, each with its number.
"""
from __future__ import annotations

from datetime import datetime
from functools import partial

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import Engine
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from ledger.core.db import session_scope
from ledger.core.errors import LedgerError
from ledger.core.grants import INKLUSIONSPAUSCHALE
from ledger.core.models import Recipient, User
from ledger.core.narrative import MAX_LENGTH, narrative_history, write_narrative
from ledger.core.schoolyear import SchoolYear
from ledger.core.users import can_write
from ledger.reports.statement import build_statement
from ledger.rules.packs import NoRulePack, RulePack, pack_for
from ledger.workflows.issued import get_issued, issue_statement, list_issued, preview_issue
from ledger.write.statement_pdf import render_statement
from webapp import jobs
from webapp.auth import recipient_for
from webapp.clock import timestamp
from webapp.db import get_engine, get_packs, get_session, write_session
from webapp.errors import as_sentence
from webapp.views import issued_pdf_response, pdf_response, require_year

bp = Blueprint("statements", __name__, url_prefix="/r/<key>")
#: Job kind: issuing a statement.
ISSUE = "statement_issue"


@bp.get("/<int:start_year>/statement.pdf")
def pdf(key: str, start_year: int):
    """The statement of school year ``start_year``/``start_year + 1`` as of now (not stored: a draft,
    ENTWURF on every page), as an attachment ``Verwendungsnachweis_<key>_<2023-24>_Entwurf.pdf``."""
    session = get_session()
    recipient = recipient_for(key)
    year, _years = require_year(recipient, start_year)
    data = build_statement(session, recipient, year, now=timestamp(), packs=get_packs())
    return pdf_response(render_statement(data), f"Verwendungsnachweis_{recipient.key}_{str(year).replace('/', '-')}_Entwurf.pdf")


#: Status of the page shown again with an error (nothing was written).
FORM_ERROR_STATUS = 422


class NarrativeForm(FlaskForm):
    """The Sachbericht as one text (line breaks kept), at most ``MAX_LENGTH`` characters."""

    text = TextAreaField("Sachbericht", validators=[
        DataRequired("Bitte den Sachbericht eingeben."),
        Length(max=MAX_LENGTH, message=f"Der Sachbericht ist zu lang (höchstens {MAX_LENGTH:,} Zeichen)."
               .replace(",", "."))], render_kw={"rows": 14, "maxlength": MAX_LENGTH})


@bp.get("/<int:start_year>/abrechnungen")
def index(key: str, start_year: int):
    """The Sachbericht and the statements issued for the school year (newest first) with SHA-256 and chain head."""
    recipient = recipient_for(key)
    year, years = require_year(recipient, start_year)
    return _index_page(recipient, year, years, NarrativeForm())


def _index_page(recipient: Recipient, year: SchoolYear, years: list[SchoolYear], form: NarrativeForm,
                error: str | None = None):
    session = get_session()
    versions = narrative_history(session, recipient, year)
    may_write = can_write(current_user.user, recipient)
    if may_write and not form.is_submitted() and versions:
        form.text.data = versions[0].text
    return render_template("statements.html", recipient=recipient, year=year, years=years,
                           issued=list_issued(session, recipient, year), may_issue=may_write,
                           pack_missing=_pack_missing(year), versions=versions, form=form, narrative_error=error)


def _pack_missing(year: SchoolYear) -> str | None:
    """Why no statement can be issued for ``year`` (German: no rule pack in force), None if one can."""
    try:
        pack_for(INKLUSIONSPAUSCHALE, year, get_packs())
    except NoRulePack as exc:
        return as_sentence(exc)
    return None


@bp.post("/<int:start_year>/sachbericht")
def narrative(key: str, start_year: int):
    """Save the Sachbericht as a new version (nothing is written if it is unchanged); officers only."""
    recipient = recipient_for(key, write=True)
    year, years = require_year(recipient, start_year)
    form = NarrativeForm()
    error = None
    if form.validate_on_submit():
        try:
            with write_session() as session:
                saved = write_narrative(session, session.get(Recipient, recipient.id), year, form.text.data,
                                        user=session.get(User, current_user.user.id), now=timestamp())
        except LedgerError as exc:
            error = str(exc)
        else:
            flash("Sachbericht gespeichert." if saved else "Der Sachbericht ist unverändert; nichts gespeichert.")
            return redirect(url_for("statements.index", key=recipient.key, start_year=year.start_year)
                            + "#sachbericht")
    return _index_page(recipient, year, years, form, error), FORM_ERROR_STATUS


@bp.get("/<int:start_year>/abrechnungen/ausstellen")
def confirm(key: str, start_year: int):
    """What issuing now would give, to confirm: school year, number, repayment due, chain head,
    the Sachbericht (a warning if none is written); refused at once if nothing changed."""
    recipient = recipient_for(key, write=True)
    year, years = require_year(recipient, start_year)
    preview = preview_issue(get_session(), recipient, year, now=timestamp(), packs=get_packs())
    return render_template("statement_confirm.html", recipient=recipient, year=year, years=years, preview=preview)


@bp.post("/<int:start_year>/abrechnungen")
def issue(key: str, start_year: int):
    """Issue (render and keep) the statement as of now, as a background job; officers only. Issues
    only what the confirmation page showed (its content fingerprint ``inhalt``); without it, the
    confirmation page."""
    recipient = recipient_for(key, write=True)
    year, _years = require_year(recipient, start_year)
    expected = request.form.get("inhalt", "")
    if not expected:
        return redirect(url_for("statements.confirm", key=recipient.key, start_year=start_year))
    job = jobs.start(ISSUE, f"Verwendungsnachweis {year} ausstellen", recipient.key,
                     partial(_issue, get_engine(), get_packs(), recipient.id, year,
                             current_user.user.id, timestamp(), expected))
    return jobs.answer(job, partial(_job_page, recipient, year),
                       url_for("statements.job", key=recipient.key, start_year=start_year, job_id=job.id))


@bp.get("/<int:start_year>/abrechnungen/vorgang/<job_id>")
def job(key: str, start_year: int, job_id: str):
    """The progress page of issuing a statement; when it is done, the list of issued statements."""
    recipient = recipient_for(key, write=True)
    year, _years = require_year(recipient, start_year)
    return _job_page(recipient, year, jobs.own_job(job_id, (ISSUE,), recipient.key))


def _issue(engine: Engine, packs: tuple[RulePack, ...], recipient_id: int, year: SchoolYear, user_id: int,
           now: datetime, expected: str, job: jobs.Job) -> list:
    """The job: issue the statement in one write transaction if its content is still ``expected``;
    returns [its number, its SHA-256 (hex)]."""
    job.report("wartet auf die Schreibsperre der Bücher")
    with session_scope(engine, write=True) as session:
        issued = issue_statement(session, session.get(Recipient, recipient_id), year, user=session.get(User, user_id),
                                 now=now, packs=packs, progress=lambda step, _number, _of: job.report(step),
                                 expected_content=expected)
        return [issued.number, issued.sha256]


def _job_page(recipient: Recipient, year: SchoolYear, job: jobs.Job):
    return jobs.page(job, partial(_issued, recipient, year), recipient=recipient, year=year, nav="statements")


def _issued(recipient: Recipient, year: SchoolYear, job: jobs.Job):
    """The issued statement: its number and hash as a message above the list."""
    number, digest = job.result
    flash(f"Verwendungsnachweis Nr. {number} ausgestellt (SHA-256 {digest}).")
    return redirect(url_for("statements.index", key=recipient.key, start_year=year.start_year))


@bp.get("/abrechnung/<int:statement_id>.pdf")
def issued_pdf(key: str, statement_id: int):
    """An issued statement, byte for byte as stored."""
    recipient = recipient_for(key)
    return issued_pdf_response(recipient, get_issued(get_session(), recipient, statement_id))
