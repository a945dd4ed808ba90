"""A real directory for the tests: Debian's OpenLDAP server (``/usr/sbin/slapd``, package
slapd; ``ldapadd`` from ldap-utils) started on 127.0.0.1 and two free ports (``ldap://``
with StartTLS, ``ldaps://``) with a temporary ``slapd.conf`` (mdb backend, memberof
overlay) and a server certificate for IP 127.0.0.1 signed by a test CA made with
``openssl``, filled with the users and groups below.

Without slapd the directory tests are skipped locally and fail in CI (``.ci/run`` installs it).

People (password ``PASSWORDS[uid]``): ``dora`` (group inkl-sachbearbeitung-testland → officer
of Kreis Testland), ``pia`` (group inkl-pruefung → auditor of all recipients), ``otto``
(only the group kantine, which grants no role), ``fritz`` (both groups: officer wins).
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

SLAPD = Path("/usr/sbin/slapd")
LDAPADD = shutil.which("ldapadd") or "/usr/bin/ldapadd"
SUFFIX = "dc=kreis,dc=example"
ROOT_DN, ROOT_PASSWORD = f"cn=admin,{SUFFIX}", "Wurzel-Passwort-2026"
SERVICE_DN, SERVICE_PASSWORD = f"cn=inkl-dienst,ou=dienste,{SUFFIX}", "Dienst-Passwort-2026"
OFFICERS = f"cn=inkl-sachbearbeitung-testland,ou=gruppen,{SUFFIX}"
AUDITORS = f"cn=inkl-pruefung,ou=gruppen,{SUFFIX}"
CANTEEN = f"cn=kantine,ou=gruppen,{SUFFIX}"
PASSWORDS = {"dora": "Doras-Verzeichnis-2026", "pia": "Pias-Verzeichnis-2026", "otto": "Ottos-Verzeichnis-2026",
             "fritz": "Fritz-Verzeichnis-2026"}
MEMBERS = {OFFICERS: ("dora", "fritz"), AUDITORS: ("pia", "fritz"), CANTEEN: ("otto", "dora")}

CONFIG = """\
include /etc/ldap/schema/core.schema
TLSCACertificateFile {folder}/ca.pem
TLSCertificateFile {folder}/server.pem
TLSCertificateKeyFile {folder}/server.key
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
pidfile {folder}/slapd.pid
database mdb
suffix "{suffix}"
rootdn "{root_dn}"
rootpw {root_password}
directory {folder}/data
maxsize 10485760
access to attrs=userPassword by self write by anonymous auth by * none
access to * by users read by * none
overlay memberof
"""


def require_slapd() -> None:
    """Skip the calling test module without slapd, ldapadd or openssl; in CI (``CI`` set) fail instead."""
    if SLAPD.exists() and Path(LDAPADD).exists() and shutil.which("openssl"):
        return
    if os.environ.get("CI"):
        pytest.fail("CI: /usr/sbin/slapd, ldapadd or openssl is missing (Debian packages slapd, ldap-utils, openssl)",
                    pytrace=False)
    pytest.skip("Debian's slapd (with ldap-utils and openssl) is not installed", allow_module_level=True)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on (just now)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class Directory:
    """A running slapd: ``uri`` (``ldap://``, StartTLS offered), ``ldaps_uri``, and the PEM
    file of the test CA that signed its certificate (``ca_file``)."""

    uri: str
    ldaps_uri: str
    ca_file: Path


@contextmanager
def running_slapd(folder: Path) -> Iterator[Directory]:
    """slapd serving ``SUFFIX`` on 127.0.0.1 (yielded ``Directory``) from ``folder``, filled
    with ``entries()``; stopped (and waited for) after the block."""
    (folder / "data").mkdir(parents=True)
    make_certificates(folder)
    (folder / "slapd.conf").write_text(CONFIG.format(folder=folder, suffix=SUFFIX, root_dn=ROOT_DN,
                                                     root_password=ROOT_PASSWORD), encoding="utf-8")
    directory = Directory(f"ldap://127.0.0.1:{free_port()}", f"ldaps://127.0.0.1:{free_port()}", folder / "ca.pem")
    log = (folder / "slapd.log").open("wb")
    process = subprocess.Popen([str(SLAPD), "-f", str(folder / "slapd.conf"), "-h",
                                f"{directory.uri}/ {directory.ldaps_uri}/", "-d", "0"],
                               stdout=log, stderr=subprocess.STDOUT)
    try:
        for uri in (directory.uri, directory.ldaps_uri):
            _wait_until_listening(uri, process, folder)
        (folder / "entries.ldif").write_text(entries(), encoding="utf-8")
        subprocess.run([LDAPADD, "-x", "-H", directory.uri, "-D", ROOT_DN, "-w", ROOT_PASSWORD, "-f",
                        str(folder / "entries.ldif")], check=True, capture_output=True, timeout=30)
        yield directory
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def make_certificates(folder: Path) -> None:
    """``ca.pem`` (a test CA, valid two days) and ``server.pem``/``server.key`` (signed by it,
    for IP 127.0.0.1) in ``folder``, made with the ``openssl`` command."""
    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True, timeout=60)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=Test-CA Kreis", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
            "-subj", "/CN=127.0.0.1")
    (folder / "server.ext").write_text("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
                                       "extendedKeyUsage=serverAuth\n", encoding="ascii")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "server.pem", "-days", "2", "-extfile", "server.ext")


def _wait_until_listening(uri: str, process: subprocess.Popen, folder: Path) -> None:
    port = int(uri.rsplit(":", 1)[1])
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"slapd ended: {(folder / 'slapd.log').read_text(errors='replace')}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("slapd did not start listening within 15 s")


def entries() -> str:
    """The directory's entries as LDIF: the base, the service account, the people and the
    groups (added after the people, so the memberof overlay fills their ``memberOf``)."""
    blocks = [f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: kreis\no: Kreis Testland",
              f"dn: ou=dienste,{SUFFIX}\nobjectClass: organizationalUnit\nou: dienste",
              f"dn: ou=personen,{SUFFIX}\nobjectClass: organizationalUnit\nou: personen",
              f"dn: ou=gruppen,{SUFFIX}\nobjectClass: organizationalUnit\nou: gruppen",
              f"dn: {SERVICE_DN}\nobjectClass: person\ncn: inkl-dienst\nsn: Dienst\nuserPassword: {SERVICE_PASSWORD}"]
    for uid, password in PASSWORDS.items():
        blocks.append(f"dn: uid={uid},ou=personen,{SUFFIX}\nobjectClass: inetOrgPerson\nuid: {uid}\n"
                      f"cn: {uid.title()} Beispiel\nsn: Beispiel\nuserPassword: {password}")
    for group, uids in MEMBERS.items():
        name = group.split(",")[0].removeprefix("cn=")
        members = "".join(f"\nmember: uid={uid},ou=personen,{SUFFIX}" for uid in uids)
        blocks.append(f"dn: {group}\nobjectClass: groupOfNames\ncn: {name}{members}")
    return "\n\n".join(blocks) + "\n"


def config_toml(uri: str, *, bind: str = "search", groups_from: str = "memberof", tls: str = "") -> str:
    """An instance configuration file's text with the ``[directory]`` table for this directory:
    search-then-bind with the service account (password in ``INKL_TEST_LDAP_PASSWORD``) or a
    DN template; officers of Testland, auditors of all recipients; kantine maps to nothing.
    ``tls``: further lines of the table (``starttls``, ``ca_file``)."""
    how = {"search": f'bind_dn = "{SERVICE_DN}"\nbind_password_env = "INKL_TEST_LDAP_PASSWORD"',
           "template": f'bind = "template"\nuser_dn_template = "uid={{username}},ou=personen,{SUFFIX}"'}[bind]
    return f"""\
[directory]
uri = "{uri}"
base_dn = "{SUFFIX}"
user_filter = "(&(objectClass=inetOrgPerson)(uid={{username}}))"
{how}
groups_from = "{groups_from}"
{tls}
group_base_dn = "ou=gruppen,{SUFFIX}"
timeout = 3

[[directory.groups]]
dn = "{OFFICERS}"
role = "sachbearbeitung"
recipients = ["testland"]

[[directory.groups]]
dn = "{AUDITORS}"
role = "pruefung"
all_recipients = true
"""
