"""Log-in against the municipality's directory (LDAP / Active Directory) with ldap3.

``authenticate`` checks a user's password by binding to the directory as that user (the
password goes to the directory only; it is never stored) and reads the user's groups;
``grant_for`` maps the groups to a role and recipients (``ledger.core.directory_config``);
``log_in`` does both and creates or updates the user's local account, marked as a directory
account (``User.directory_dn``, no password hash), with the role and recipients of this
log-in, and writes the log-in to the audit log.

Input from the log-in form reaches the directory only escaped (``escape_filter_chars`` in
search filters, ``escape_rdn`` in a DN), and only a name valid for a local account
(``ledger.core.users``). An empty password is refused before any bind: to an LDAP server a
simple bind with a DN and no password is an unauthenticated (anonymous) bind that succeeds.
"""
from __future__ import annotations

import logging
import ssl
from dataclasses import dataclass
from datetime import datetime

from ldap3 import BASE, NONE, SIMPLE, SUBTREE, Connection, Server, Tls
from ldap3.core.exceptions import LDAPException
from ldap3.utils.conv import escape_filter_chars
from ldap3.utils.dn import escape_rdn
from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.core import audit
from ledger.core.directory_config import USERNAME, DirectoryConfig, normal_dn
from ledger.core.errors import LedgerError
from ledger.core.models import Recipient, User
from ledger.core.users import valid_username

LOG = logging.getLogger(__name__)
#: Roles by precedence: a user in groups of several roles gets the first, with the recipients
#: of that role's groups only (an auditor's recipients never become an officer's).
PRECEDENCE = ("admin", "officer", "ministry", "auditor")

#: Bind results that refuse the credentials (RFC 4511: invalidDNSyntax, inappropriateAuthentication,
#: invalidCredentials, insufficientAccessRights, unwillingToPerform); any other result is a
#: directory error (busy, unavailable, …).
REFUSING_RESULTS = (34, 48, 49, 50, 53)


class DirectoryRefused(LedgerError):
    """The directory did not confirm the user name and password (unknown user, wrong or
    empty password, a name that is not unique)."""


class DirectoryUnavailable(LedgerError):
    """The directory could not be reached or answered with an error (server down, TLS
    failure, time-out, the service account refused)."""


class NoRole(LedgerError):
    """The directory confirmed the user, but none of their groups grants a role here."""


@dataclass(frozen=True)
class DirectoryIdentity:
    """A user the directory confirmed: their entry's ``dn`` and the DNs of their ``groups``
    (normalised, ``normal_dn``)."""

    dn: str
    groups: tuple[str, ...]


@dataclass(frozen=True)
class Grant:
    """What the groups grant: ``role`` (officer, auditor, ministry, admin), ``recipients`` (keys, sorted)
    and ``all_recipients`` (auditors)."""

    role: str
    recipients: tuple[str, ...]
    all_recipients: bool


def user_filter(config: DirectoryConfig, username: str) -> str:
    """The search filter for ``username``: ``config.user_filter`` with ``{username}`` replaced
    by the name escaped for a filter (RFC 4515: ``*`` → ``\\2a``, ``(`` → ``\\28`` …)."""
    return config.user_filter.replace(USERNAME, escape_filter_chars(username))


def authenticate(config: DirectoryConfig, username: str, password: str) -> DirectoryIdentity:
    """Bind to the directory as ``username`` with ``password`` and read their groups.

    Raises DirectoryRefused (empty password, a name no local account could have, unknown
    user, wrong password, a name found more than once) or DirectoryUnavailable (no
    connection, TLS, time-out, other directory errors). Never stores or logs the password.
    """
    if not password:
        raise DirectoryRefused("leeres Passwort")
    if not valid_username(username):
        raise DirectoryRefused("ungültiger Benutzername")
    try:
        if config.bind == "search":
            return _search_then_bind(config, username, password)
        return _bind_then_read(config, username, password)
    except LDAPException as exc:
        LOG.warning("Verzeichnis %s: %s: %s", config.uri, type(exc).__name__, exc)
        raise DirectoryUnavailable(f"Verzeichnis nicht erreichbar: {type(exc).__name__}") from exc


def grant_for(config: DirectoryConfig, groups: tuple[str, ...]) -> Grant | None:
    """The role and recipients that membership of ``groups`` (normalised DNs) grants; None
    if no configured group is among them. Precedence of roles: ``PRECEDENCE``."""
    member = [g for g in config.groups if g.dn in set(groups)]
    for role in PRECEDENCE:
        mine = [g for g in member if g.role == role]
        if mine:
            return Grant(role, tuple(sorted({key for g in mine for key in g.recipients})),
                         role == "auditor" and any(g.all_recipients for g in mine))
    return None


def log_in(session: Session, config: DirectoryConfig, username: str, password: str, *, now: datetime) -> User:
    """Authenticate ``username`` at the directory and create or update their directory
    account with the role and recipients of their groups (written, not committed).

    Raises DirectoryRefused, DirectoryUnavailable (``authenticate``); NoRole if no group
    grants a role (audited; an existing directory account is locked, so its access tokens
    end too); LedgerError if the name belongs to a local account or the account is locked.
    Recipients of the mapping that do not exist are left out (logged).
    """
    identity = authenticate(config, username, password)
    name = username.lower()
    user = session.scalar(select(User).where(User.username == name))
    if user is not None and user.directory_dn is None:
        raise LedgerError(f"{name!r} ist ein lokales Konto")
    grant = grant_for(config, identity.groups)
    if grant is None:
        locked = user is not None and user.active
        if locked:
            user.active = False
        audit.record(session, actor=name, action="login_refused", now=now,
                     details={"username": name, "reason": "keine Rolle", "locked": locked})
        raise NoRole(f"keine Gruppe von {name!r} gewährt eine Rolle")
    if user is not None and not user.active:
        raise LedgerError(f"Konto {name!r} ist gesperrt")
    recipients = list(session.scalars(select(Recipient).where(Recipient.key.in_(grant.recipients))
                                      .order_by(Recipient.key)))
    if len(recipients) != len(grant.recipients):
        LOG.warning("Verzeichnis: unbekannte Empfänger %s", sorted(set(grant.recipients) - {r.key for r in recipients}))
    if user is None:
        user = User(username=name, created_at=now, active=True, password_hash=None)
        session.add(user)
    user.directory_dn, user.role, user.all_recipients, user.recipients = (
        identity.dn, grant.role, grant.all_recipients, recipients)
    session.flush()
    audit.record(session, actor=name, action="login_directory", now=now,
                 details={"username": name, "role": grant.role, "recipients": [r.key for r in recipients],
                          "all_recipients": grant.all_recipients})
    return user


def _server(config: DirectoryConfig) -> Server:
    tls = Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=config.ca_file)
    return Server(config.uri, use_ssl=config.uri.startswith("ldaps://"), tls=tls, connect_timeout=config.timeout,
                  get_info=NONE)  # no schema read: faster, and no client-side check of the filter against it


def _connect(config: DirectoryConfig, user: str | None, password: str | None) -> Connection | None:
    """An open connection bound as ``user`` (anonymous if None); None if the directory refused
    the credentials (invalid credentials and the like). Raises LDAPException when the
    directory cannot be reached."""
    connection = Connection(_server(config), user=user, password=password,
                            authentication=SIMPLE if user else None, read_only=True, raise_exceptions=False,
                            receive_timeout=config.timeout)
    connection.open()
    if config.starttls and not connection.start_tls():
        raise LDAPException(f"StartTLS abgelehnt: {connection.result.get('description')}")
    if not connection.bind():
        result = connection.result or {}
        connection.unbind()
        if result.get("result") not in REFUSING_RESULTS:
            raise LDAPException(f"Bindung gescheitert: {result.get('description')}")
        LOG.info("Verzeichnis: Bindung abgelehnt: %s", result.get("description"))
        return None
    return connection


def _search_then_bind(config: DirectoryConfig, username: str, password: str) -> DirectoryIdentity:
    service = _connect(config, config.bind_dn, config.bind_password)
    if service is None:
        raise LDAPException("das Dienstkonto wurde abgewiesen")
    try:
        dn, groups = _find_one(service, config, username)
        user = _connect(config, dn, password)
        if user is None:
            raise DirectoryRefused("falsches Passwort")
        user.unbind()
        if config.groups_from == "member":
            groups = _member_groups(service, config, dn)
        return DirectoryIdentity(dn, groups)
    finally:
        service.unbind()


def _bind_then_read(config: DirectoryConfig, username: str, password: str) -> DirectoryIdentity:
    if config.bind == "template":
        who = config.user_dn_template.replace(USERNAME, escape_rdn(username))
    else:
        who = f"{username}@{config.upn_suffix}"
    connection = _connect(config, who, password)
    if connection is None:
        raise DirectoryRefused("falsches Passwort oder unbekannt")
    try:
        if config.bind == "template":
            dn, groups = _read_entry(connection, who)
        else:
            dn, groups = _find_one(connection, config, username)
        if config.groups_from == "member":
            groups = _member_groups(connection, config, dn)
        return DirectoryIdentity(dn, groups)
    finally:
        connection.unbind()


def _find_one(connection: Connection, config: DirectoryConfig, username: str) -> tuple[str, tuple[str, ...]]:
    """The DN and memberOf groups of the one entry ``user_filter`` finds under ``base_dn``."""
    _search(connection, config.base_dn, user_filter(config, username), SUBTREE, ["memberOf"])
    entries = [e for e in connection.response or () if e.get("type") == "searchResEntry"]
    if len(entries) != 1:
        raise DirectoryRefused(f"{len(entries)} Einträge gefunden")
    return entries[0]["dn"], _groups_of(entries[0])


def _read_entry(connection: Connection, dn: str) -> tuple[str, tuple[str, ...]]:
    _search(connection, dn, "(objectClass=*)", BASE, ["memberOf"])
    entries = [e for e in connection.response or () if e.get("type") == "searchResEntry"]
    if not entries:
        raise DirectoryRefused("eigener Eintrag nicht lesbar")
    return entries[0]["dn"], _groups_of(entries[0])


def _member_groups(connection: Connection, config: DirectoryConfig, dn: str) -> tuple[str, ...]:
    query = f"(&{config.group_filter}(member={escape_filter_chars(dn)}))"
    _search(connection, config.group_base_dn, query, SUBTREE, [])
    return tuple(sorted(normal_dn(e["dn"]) for e in connection.response or () if e.get("type") == "searchResEntry"))


def _search(connection: Connection, base: str, query: str, scope, attributes: list[str]) -> None:
    """Search; a result other than success or "no such object" is a directory error."""
    connection.search(base, query, search_scope=scope, attributes=attributes, time_limit=_time_limit(connection))
    if connection.result.get("result") not in (0, 32):
        raise LDAPException(f"Suche abgelehnt: {connection.result.get('description')}")


def _time_limit(connection: Connection) -> int:
    return int(connection.receive_timeout or 5)


def _groups_of(entry: dict) -> tuple[str, ...]:
    values = entry.get("attributes", {}).get("memberOf", []) or []
    return tuple(sorted(normal_dn(v) for v in ([values] if isinstance(values, str) else values)))
