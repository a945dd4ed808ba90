"""The feedback contact of the accessibility statement (Erklärung zur Barrierefreiheit,
§ 10b BGG NRW, BITV NRW): the ``[accessibility]`` table of the instance's configuration file
(``ledger.core.settings.config_path()``), each key overridable by an environment variable.

Keys (all optional text): ``contact_name`` (``INKL_A11Y_CONTACT_NAME``), ``contact_email``
(``INKL_A11Y_CONTACT_EMAIL``), ``contact_phone`` (``INKL_A11Y_CONTACT_PHONE``),
``prepared_on`` (``INKL_A11Y_PREPARED_ON``, the date the statement was prepared or last
reviewed, ``YYYY-MM-DD``). Read with ``tomllib`` and validated with marshmallow like the
``[directory]`` table; errors name the key (``"accessibility.contact_email"``) in German.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from marshmallow import Schema, fields, validate

from ledger.core.tomldata import DataFileError, read_toml, validated

#: Environment variables that override the file's keys.
ENVIRONMENT = {"contact_name": "INKL_A11Y_CONTACT_NAME", "contact_email": "INKL_A11Y_CONTACT_EMAIL",
               "contact_phone": "INKL_A11Y_CONTACT_PHONE", "prepared_on": "INKL_A11Y_PREPARED_ON"}


class AccessibilityConfigError(DataFileError):
    """The ``[accessibility]`` table (or an environment variable overriding it) is invalid."""


@dataclass(frozen=True)
class AccessibilityContact:
    """Who takes feedback on barriers: ``name``, ``email``, ``phone`` (each None if not
    configured) and ``prepared_on`` (the statement's date, None: not configured)."""

    name: str | None = None
    email: str | None = None
    phone: str | None = None
    prepared_on: date | None = None

    @property
    def configured(self) -> bool:
        """True if at least one way to reach the contact (e-mail or phone) is configured."""
        return bool(self.email or self.phone)


class _Schema(Schema):
    contact_name = fields.String(load_default=None, validate=validate.Length(min=1, max=200))
    contact_email = fields.Email(load_default=None, error_messages={"invalid": "Keine gültige E-Mail-Adresse."})
    contact_phone = fields.String(load_default=None, validate=validate.Regexp(
        r"^\+?[0-9 ()/\-]{3,40}$", error="Keine gültige Telefonnummer (Ziffern, Leerzeichen, + ( ) / -)."))
    prepared_on = fields.Date(load_default=None, error_messages={"invalid": "Kein Datum (JJJJ-MM-TT)."})

    class Meta:
        unknown = "raise"


def load_accessibility_contact(path: Path, environ: dict | None = None) -> AccessibilityContact:
    """The feedback contact configured in the TOML file ``path`` (its ``[accessibility]``
    table; the file need not exist), each key overridden by its environment variable
    (``ENVIRONMENT``; ``environ`` defaults to ``os.environ``). Raises AccessibilityConfigError
    naming the first invalid key (``"accessibility.contact_email"``)."""
    environ = os.environ if environ is None else environ
    table = {}
    if path.exists():
        raw = read_toml(path, AccessibilityConfigError)
        table = dict(raw.get("accessibility") or {})
    for key, variable in ENVIRONMENT.items():
        if environ.get(variable):
            table[key] = environ[variable]
    if isinstance(table.get("prepared_on"), date):        # TOML dates arrive as dates
        table["prepared_on"] = table["prepared_on"].isoformat()
    errors_path = {"accessibility": table}
    data = validated(path, errors_path, _FileSchema(), AccessibilityConfigError)["accessibility"]
    return AccessibilityContact(name=data["contact_name"], email=data["contact_email"],
                                phone=data["contact_phone"], prepared_on=data["prepared_on"])


class _FileSchema(Schema):
    accessibility = fields.Nested(_Schema, required=True)
