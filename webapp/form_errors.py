"""The errors of a refused WTForms form as the items of its error summary
(``templates/_forms.html``, ``error_summary``; BITV 2.0 / WCAG 3.3.1, 3.3.3): each with the id
of its field, so the summary links to it."""
from __future__ import annotations

from flask_wtf import FlaskForm

#: The summary's text for a refused CSRF token (no field to link to).
SESSION_EXPIRED = "Die Sitzung ist abgelaufen; bitte die Seite neu laden und erneut absenden."


def error_items(form: FlaskForm | None) -> list[tuple[str | None, str]]:
    """``[(field id or None, "Label: message")]`` of every error of ``form`` in field order;
    lines of a FieldList are named ``"Label, Zeile n"`` (n from 1); the CSRF token's error is
    ``SESSION_EXPIRED`` without a field. ``[]`` for None or a form without errors."""
    if form is None:
        return []
    items: list[tuple[str | None, str]] = []
    _collect(form, "", items)
    return items


def _collect(form, suffix: str, items: list) -> None:
    for f in form:
        if f.type == "CSRFTokenField":
            if f.errors:
                items.append((None, SESSION_EXPIRED))
        elif f.type == "FieldList":
            for number, entry in enumerate(f.entries, start=1):
                if entry.type == "FormField":
                    _collect(entry.form, f", Zeile {number}", items)
                else:
                    items.extend((entry.id, f"{f.label.text}, Zeile {number}: {m}") for m in entry.errors)
        elif f.type == "FormField":
            _collect(f.form, suffix, items)
        else:
            items.extend((f.id, f"{f.label.text}{suffix}: {m}") for m in f.errors if isinstance(m, str))
