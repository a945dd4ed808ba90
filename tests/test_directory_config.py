"""The directory log-in's configuration (``[directory]`` of the instance's ``inkl.toml``):
validated with every error naming its key, in German; groups mapped to roles and recipients."""
from __future__ import annotations

import pytest

from ledger.core.directory import Grant, grant_for
from ledger.core.directory_config import DirectoryConfigError, load_directory_config, normal_dn

BASE = """\
[directory]
uri = "ldaps://dc1.kreis.example:636"
bind = "upn"
upn_suffix = "kreis.example"
base_dn = "DC=kreis,DC=example"
user_filter = "(sAMAccountName={username})"

[[directory.groups]]
dn = "CN=Inklusion Sachbearbeitung,OU=Gruppen,DC=kreis,DC=example"
role = "sachbearbeitung"
recipients = ["kreis-x", "kreis-y"]

[[directory.groups]]
dn = "CN=Inklusion Pruefung,OU=Gruppen,DC=kreis,DC=example"
role = "pruefung"
recipients = ["kreis-x"]

[[directory.groups]]
dn = "CN=Rechnungspruefung,OU=Gruppen,DC=kreis,DC=example"
role = "auditor"
all_recipients = true

[[directory.groups]]
dn = "CN=Inklusion Admin,OU=Gruppen,DC=kreis,DC=example"
role = "administration"
"""


def load(tmp_path, text: str):
    path = tmp_path / "inkl.toml"
    path.write_text(text, encoding="utf-8")
    return load_directory_config(path)


def refused(tmp_path, text: str) -> DirectoryConfigError:
    with pytest.raises(DirectoryConfigError) as caught:
        load(tmp_path, text)
    return caught.value


def test_an_active_directory_configuration_is_read_with_defaults(tmp_path):
    config = load(tmp_path, BASE)
    assert (config.bind, config.upn_suffix, config.groups_from, config.timeout) == ("upn", "kreis.example", "memberof", 5)
    assert (config.starttls, config.ca_file, config.bind_dn, config.bind_password) == (False, None, None, None)
    assert config.groups[0].dn == "cn=inklusion sachbearbeitung,ou=gruppen,dc=kreis,dc=example"
    assert [(g.role, g.recipients, g.all_recipients) for g in config.groups] == [
        ("officer", ("kreis-x", "kreis-y"), False), ("auditor", ("kreis-x",), False), ("auditor", (), True),
        ("admin", (), False)]


def test_plain_ldap_needs_starttls_unless_the_directory_runs_on_this_machine(tmp_path):
    remote = BASE.replace('uri = "ldaps://dc1.kreis.example:636"', 'uri = "ldap://dc1.kreis.example:389"')
    assert load(tmp_path, remote.replace('bind = "upn"', 'bind = "upn"\nstarttls = true')).starttls is True
    for local in ("ldap://127.0.0.1:389", "ldap://localhost", "ldap://[::1]:389"):
        assert load(tmp_path, BASE.replace("ldaps://dc1.kreis.example:636", local)).uri == local


def test_no_file_or_no_directory_table_means_local_accounts_only(tmp_path):
    assert load_directory_config(tmp_path / "fehlt.toml") is None
    assert load(tmp_path, "") is None


def test_groups_map_to_the_first_role_by_precedence_with_that_roles_recipients(tmp_path):
    config = load(tmp_path, BASE)
    officers, auditors, all_auditors, admins = (g.dn for g in config.groups)
    assert grant_for(config, (auditors, officers)) == Grant("officer", ("kreis-x", "kreis-y"), False)
    assert grant_for(config, (auditors, all_auditors)) == Grant("auditor", ("kreis-x",), True)
    assert grant_for(config, (officers, admins)) == Grant("admin", (), False)
    assert grant_for(config, (normal_dn("cn=Kantine,OU=Gruppen,DC=kreis,DC=example"),)) is None
    assert grant_for(config, ()) is None


def test_group_dns_compare_without_case_and_spaces():
    assert normal_dn("CN=Inklusion Admin, OU=Gruppen , DC=kreis,DC=example") == \
        "cn=inklusion admin,ou=gruppen,dc=kreis,dc=example"


@pytest.mark.parametrize(("change", "key", "message"), [
    (('role = "sachbearbeitung"', 'role = "chef"'), "directory.groups[0].role", "Rolle muss eine von"),
    (('uri = "ldaps://dc1.kreis.example:636"', 'uri = "http://dc1"'), "directory.uri", "ldap://"),
    (('bind = "upn"', 'bind = "kerberos"'), "directory.bind", "Bindung muss eine von"),
    (('upn_suffix = "kreis.example"\n', ""), "directory.upn_suffix", "Pflichtangabe für bind = \"upn\""),
    (('user_filter = "(sAMAccountName={username})"', 'user_filter = "(sAMAccountName=x)"'),
     "directory.user_filter", "Platzhalter {username} fehlt"),
    (('user_filter = "(sAMAccountName={username})"', 'user_filter = "sAMAccountName={username}"'),
     "directory.user_filter", "in Klammern"),
    (('recipients = ["kreis-x"]\n', 'recipients = ["kreis-x"]\nall_recipients = "ja"\n'),
     "directory.groups[1].all_recipients", "true oder false"),
    (('role = "administration"', 'role = "administration"\nall_recipients = true'),
     "directory.groups[3].all_recipients", "nur für die Prüfung"),
    (('bind = "upn"', 'bind = "upn"\nstarttls = true'), "directory.starttls", "StartTLS nur mit ldap://"),
    (('uri = "ldaps://dc1.kreis.example:636"', 'uri = "ldap://dc1.kreis.example:389"'), "directory.starttls",
     "Passwörter im Klartext"),
    (('bind = "upn"', 'bind = "upn"\nca_file = "/gibt/es/nicht.pem"'), "directory.ca_file", "nicht gefunden"),
    (('bind = "upn"', 'bind = "upn"\ntimeout = 0'), "directory.timeout", "1 bis 60"),
    (('bind = "upn"', 'bind = "upn"\nbind_dn = "CN=inkl,DC=kreis,DC=example"'), "directory.bind_password_env",
     "Pflichtangabe zu bind_dn"),
    (('bind = "upn"', 'bind = "upn"\npasswort = "geheim"'), "directory.passwort", "Unbekannter Schlüssel"),
    (('dn = "CN=Inklusion Admin,OU=Gruppen,DC=kreis,DC=example"', 'dn = "Inklusion Admin"'),
     "directory.groups[3].dn", "kein gültiger Distinguished Name"),
    (('recipients = ["kreis-x"]\n', 'recipients = ["Kreis X!"]\n'), "directory.groups[1].recipients[0]",
     "ungültiger Empfänger-Schlüssel"),
])
def test_errors_name_the_key(tmp_path, change, key, message):
    old, new = change
    assert old in BASE
    error = refused(tmp_path, BASE.replace(old, new, 1))
    assert error.key == key and message in error.message, str(error)


def test_the_service_accounts_password_comes_from_the_environment(tmp_path, monkeypatch):
    text = BASE.replace('bind = "upn"', 'bind = "search"\nbind_dn = "CN=inkl,DC=kreis,DC=example"\n'
                                        'bind_password_env = "INKL_LDAP_PASSWORT"')
    monkeypatch.delenv("INKL_LDAP_PASSWORT", raising=False)
    error = refused(tmp_path, text)
    assert (error.key, error.message) == ("directory.bind_password_env",
                                          "Umgebungsvariable INKL_LDAP_PASSWORT ist nicht gesetzt.")
    monkeypatch.setenv("INKL_LDAP_PASSWORT", "Dienst-Geheimnis")
    assert load(tmp_path, text).bind_password == "Dienst-Geheimnis"


def test_other_tables_and_syntax_errors_are_named(tmp_path):
    assert refused(tmp_path, BASE + "\n[verzeichnis]\nx = 1\n").key == "verzeichnis"
    assert "TOML-Syntaxfehler" in str(refused(tmp_path, "[directory\n"))
    assert refused(tmp_path, "[directory]\nuri = \"ldap://x\"\n").key == "directory.groups"


def test_an_invalid_configuration_stops_the_app_at_start(tmp_path, monkeypatch, database_url):
    from webapp import create_app

    path = tmp_path / "inkl.toml"
    path.write_text(BASE.replace('role = "pruefung"', 'role = "chef"'), encoding="utf-8")
    monkeypatch.setenv("INKL_CONFIG", str(path))
    with pytest.raises(DirectoryConfigError, match=r"directory\.groups\[1\]\.role"):
        create_app({"TESTING": True, "DATABASE_URL": database_url})
    path.write_text(BASE, encoding="utf-8")
    app = create_app({"TESTING": True, "DATABASE_URL": database_url})
    assert app.config["DIRECTORY"].bind == "upn"
    app.extensions["inkl_jobs"].shutdown()
