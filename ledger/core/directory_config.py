"""The configuration of the directory log-in (LDAP / Active Directory): the ``[directory]``
table of the instance's configuration file (``ledger.core.settings.config_path()``).

Read with ``tomllib`` and validated with marshmallow like the rule packs; every error names
the key (``"directory.groups[0].role"``, list indexes from 0) in German. Without a
``[directory]`` table only local accounts log in. Keys (``docs/directory-login.md``):

- ``uri``: ``ldap://host:389`` or ``ldaps://host:636``; ``starttls`` (``ldap://`` only, and
  required for it unless the host is this machine: no password goes over the network in clear),
  ``ca_file`` (PEM of the CA that signed the server's certificate; certificates are always
  verified), ``timeout`` (seconds, 1–60, default 5).
- ``bind``: how the user's password is checked —
  ``search`` (the service account ``bind_dn`` with the password from the environment
  variable named by ``bind_password_env``, or anonymous without ``bind_dn``, searches
  ``base_dn`` with ``user_filter``, then the user binds with their DN); ``template``
  (``user_dn_template`` with ``{username}``); ``upn`` (Active Directory: binds as
  ``username@upn_suffix``, then reads its own entry with ``user_filter`` under ``base_dn``).
- ``groups_from``: ``memberof`` (the entry's ``memberOf`` attribute; Active Directory,
  OpenLDAP's memberof overlay) or ``member`` (a search under ``group_base_dn`` for groups
  with ``group_filter`` whose ``member`` is the user's DN).
- ``[[directory.groups]]``: ``dn`` of a directory group, ``role`` (``sachbearbeitung`` /
  ``officer``, ``pruefung`` / ``auditor``, ``land`` / ``ministry``, ``administration`` / ``admin``), ``recipients``
  (keys of the recipients it works on), ``all_recipients`` (auditors: read every recipient).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from ldap3.core.exceptions import LDAPInvalidDnError
from ldap3.utils.dn import parse_dn
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from ledger.core.recipients import valid_key
from ledger.core.tomldata import DataFileError, read_toml, validated

#: Role names a group may grant: the German ones of the user interface and the stored ones.
ROLE_NAMES = {"sachbearbeitung": "officer", "officer": "officer", "pruefung": "auditor", "prüfung": "auditor",
              "auditor": "auditor", "land": "ministry", "ministry": "ministry", "administration": "admin",
              "admin": "admin"}
BIND_STYLES = ("search", "template", "upn")
GROUP_SOURCES = ("memberof", "member")
USERNAME = "{username}"


class DirectoryConfigError(DataFileError):
    """The configuration file's ``[directory]`` table is invalid or unreadable (``file``,
    ``key``, ``message``, ``errors`` as ``ledger.core.tomldata.DataFileError``)."""


@dataclass(frozen=True)
class GroupGrant:
    """What membership of the directory group ``dn`` (normalised, ``normal_dn``) grants:
    ``role`` (stored name: officer, auditor, ministry, admin), the ``recipients`` (keys) and, for
    auditors, ``all_recipients``."""

    dn: str
    role: str
    recipients: tuple[str, ...]
    all_recipients: bool


@dataclass(frozen=True)
class DirectoryConfig:
    """The validated ``[directory]`` table (see the module's docstring for the keys).
    ``bind_password`` is the service account's password read from the environment at load
    time (None: anonymous search or no search)."""

    uri: str
    bind: str
    base_dn: str
    user_filter: str
    bind_dn: str | None
    bind_password: str | None
    user_dn_template: str
    upn_suffix: str
    groups_from: str
    group_base_dn: str
    group_filter: str
    starttls: bool
    ca_file: str | None
    timeout: int
    groups: tuple[GroupGrant, ...]


def normal_dn(dn: str) -> str:
    """``dn`` for comparison: attribute types and values lower-case, no spaces around ``,``
    and ``=`` (``"CN=Kreis X, OU=Gruppen"`` → ``"cn=kreis x,ou=gruppen"``)."""
    parts = []
    for part in re.split(r"(?<!\\),", dn):
        kind, _, value = part.partition("=")
        parts.append(f"{kind.strip().lower()}={value.strip().lower()}")
    return ",".join(parts)


def load_directory_config(path: Path) -> DirectoryConfig | None:
    """The directory log-in configured in the TOML file ``path``; None if the file does not
    exist or has no ``[directory]`` table. Raises DirectoryConfigError naming the first
    invalid key (also an unknown key, a missing file of ``ca_file`` or a missing
    environment variable of ``bind_password_env``)."""
    if not path.exists():
        return None
    raw = read_toml(path, DirectoryConfigError)
    unknown = sorted(set(raw) - {"directory", "accessibility"})   # accessibility: ledger.core.accessibility_config
    if unknown:
        raise DirectoryConfigError(path, unknown[0], "Unbekannter Schlüssel.")
    if "directory" not in raw:
        return None
    data = validated(path, {"directory": raw["directory"]}, _FileSchema(), DirectoryConfigError)["directory"]
    password = None
    if data["bind_password_env"]:
        password = os.environ.get(data["bind_password_env"])
        if not password:
            raise DirectoryConfigError(path, "directory.bind_password_env",
                                       f"Umgebungsvariable {data['bind_password_env']} ist nicht gesetzt.")
    groups = tuple(GroupGrant(normal_dn(g["dn"]), ROLE_NAMES[g["role"].lower()], tuple(g["recipients"]),
                              g["all_recipients"]) for g in data["groups"])
    return DirectoryConfig(
        uri=data["uri"], bind=data["bind"], base_dn=data["base_dn"], user_filter=data["user_filter"],
        bind_dn=data["bind_dn"] or None, bind_password=password, user_dn_template=data["user_dn_template"],
        upn_suffix=data["upn_suffix"], groups_from=data["groups_from"],
        group_base_dn=data["group_base_dn"] or data["base_dn"], group_filter=data["group_filter"],
        starttls=data["starttls"], ca_file=data["ca_file"] or None, timeout=data["timeout"], groups=groups)


# --- validation schemas (marshmallow) ------------------------------------------------

_MESSAGES = {"required": "Pflichtangabe fehlt.", "null": "Wert darf nicht leer sein."}


def _text(required: bool = False, default: str = "", *more) -> fields.String:
    checks = [validate.Length(min=1, error="Darf nicht leer sein.")] if required else []
    optional = {} if required else {"load_default": default}
    return fields.String(required=required, validate=checks + list(more), **optional,
                         error_messages={**_MESSAGES, "invalid": "Text in Anführungszeichen erwartet."})


def _flag() -> fields.Boolean:
    return fields.Boolean(load_default=False, truthy={True}, falsy={False},
                          error_messages={**_MESSAGES, "invalid": "true oder false erwartet."})


def _check_dn(value: str) -> None:
    try:
        parse_dn(normal_dn(value))
    except LDAPInvalidDnError as exc:
        raise ValidationError(f"kein gültiger Distinguished Name: {value!r}") from exc


def _check_uri(value: str) -> None:
    if not re.match(r"^ldaps?://[^/\s]+/?$", value):
        raise ValidationError("ldap://Rechner:Port oder ldaps://Rechner:Port erwartet.")


def _check_filter(value: str) -> None:
    if not (value.startswith("(") and value.endswith(")")):
        raise ValidationError("LDAP-Filter in Klammern erwartet, z. B. \"(uid={username})\".")


def _check_key(value: str) -> None:
    if not valid_key(value):
        raise ValidationError(f"ungültiger Empfänger-Schlüssel {value!r}")


class _Schema(Schema):
    error_messages = {"unknown": "Unbekannter Schlüssel.", "type": "Tabelle erwartet."}


class _GroupSchema(_Schema):
    dn = _text(True, "", _check_dn)
    role = _text(True, "", validate.OneOf(list(ROLE_NAMES), error="Rolle muss eine von {choices} sein."))
    recipients = fields.List(_text(True, "", _check_key), load_default=list,
                             error_messages={**_MESSAGES, "invalid": "Liste von Empfänger-Schlüsseln erwartet."})
    all_recipients = _flag()

    @validates_schema
    def _all_for_auditors(self, data, **kwargs):
        if data.get("all_recipients") and ROLE_NAMES.get(str(data.get("role")).lower()) != "auditor":
            raise ValidationError({"all_recipients": ["Lesezugriff auf alle Empfänger gibt es nur für die Prüfung."]})


class _DirectorySchema(_Schema):
    uri = _text(True, "", _check_uri)
    bind = _text(False, "search", validate.OneOf(BIND_STYLES, error="Bindung muss eine von {choices} sein."))
    base_dn = _text(False, "", _check_dn)
    user_filter = _text(False, "", _check_filter)
    bind_dn = _text(False, "", _check_dn)
    bind_password_env = _text(False, "", validate.Regexp(r"^[A-Z_][A-Z0-9_]*$", error="Name einer Umgebungsvariablen "
                                                                                    "erwartet (A–Z, 0–9, _)."))
    user_dn_template = _text(False, "")
    upn_suffix = _text(False, "", validate.Regexp(r"^[A-Za-z0-9.-]+$", error="Domäne erwartet, z. B. kreis.example."))
    groups_from = _text(False, "memberof", validate.OneOf(GROUP_SOURCES, error="Muss eine von {choices} sein."))
    group_base_dn = _text(False, "", _check_dn)
    group_filter = _text(False, "(|(objectClass=groupOfNames)(objectClass=group))", _check_filter)
    starttls = _flag()
    ca_file = _text(False, "")
    timeout = fields.Integer(load_default=5, strict=True, validate=validate.Range(1, 60, error="1 bis 60 Sekunden."),
                             error_messages={**_MESSAGES, "invalid": "Ganze Zahl erwartet."})
    groups = fields.List(fields.Nested(_GroupSchema), required=True,
                         validate=validate.Length(min=1, error="Mindestens eine Gruppe angeben."),
                         error_messages={**_MESSAGES, "invalid": "Liste von Tabellen [[directory.groups]] erwartet."})

    @validates_schema
    def _complete(self, data, **kwargs):
        errors = _missing_for_bind(data)
        uri = str(data.get("uri", ""))
        if data.get("starttls") and uri.startswith("ldaps://"):
            errors["starttls"] = ["StartTLS nur mit ldap://; ldaps:// ist bereits verschlüsselt."]
        if uri.startswith("ldap://") and not data.get("starttls") and not _loopback(uri):
            errors["starttls"] = ["Ohne Verschlüsselung gingen Passwörter im Klartext über das Netz: "
                                  "starttls = true oder ldaps:// (ldap:// ohne StartTLS nur auf diesem Rechner)."]
        if data.get("ca_file") and not Path(data["ca_file"]).is_file():
            errors["ca_file"] = [f"Datei {data['ca_file']} nicht gefunden."]
        if data.get("bind_dn") and not data.get("bind_password_env"):
            errors["bind_password_env"] = ["Pflichtangabe zu bind_dn (das Passwort kommt aus der Umgebung)."]
        if errors:
            raise ValidationError(errors)


def _loopback(uri: str) -> bool:
    """Whether ``uri``'s host is this machine (127.0.0.1, ::1, localhost)."""
    return urlsplit(uri).hostname in ("127.0.0.1", "localhost", "::1")


def _missing_for_bind(data: dict) -> dict[str, list[str]]:
    """The keys the bind style needs but lacks: search and upn search ``user_filter`` under
    ``base_dn``; template needs ``user_dn_template``; upn ``upn_suffix``."""
    bind, errors = data.get("bind"), {}
    needs = {"search": ("base_dn", "user_filter"), "template": ("user_dn_template",),
             "upn": ("base_dn", "user_filter", "upn_suffix")}.get(bind, ())
    for key in needs:
        if not data.get(key):
            errors[key] = [f"Pflichtangabe für bind = \"{bind}\"."]
    for key in ("user_filter", "user_dn_template"):
        if key in needs and data.get(key) and USERNAME not in data[key]:
            errors[key] = [f"Platzhalter {USERNAME} fehlt."]
    if data.get("groups_from") == "member" and not (data.get("group_base_dn") or data.get("base_dn")):
        errors["group_base_dn"] = ["Pflichtangabe für groups_from = \"member\" (oder base_dn)."]
    return errors


class _FileSchema(_Schema):
    directory = fields.Nested(_DirectorySchema, required=True)
