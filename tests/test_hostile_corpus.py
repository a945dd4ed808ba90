"""The hostile-input corpus (issue 18): every file of ``tests/hostile/`` through every import
profile, on both databases, through the command line (``inkl import``), the web upload (the dry
run's page) and the API (``POST …/imports``).

What each file must give is data beside it (``tests/hostile/expected.toml``; what each file
tests: ``tests/hostile/README.md``): with its own profile it is refused with the line, the
column and a part of the German message of its first error, or accepted with that many rows;
with every other profile it is refused. A refused file writes nothing (every table's row count
and the journal's chain head are compared before and after) and no traceback reaches the user.
The very large inputs (10 MB line and field, 200 000-character quoted field, 100 000 columns,
1 500 bad rows) are made at test time from ``tests/hostile/large.toml``.

The books are set up once per database (module scope): refused files write nothing, accepted
ones are checked by dry runs on every path and booked once at the end of their case.
"""
from __future__ import annotations

import html
import io
import re
import tomllib
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy.orm import Session

from ledger.core import db, settings
from ledger.core.bank import set_account_iban
from ledger.core.models import Base, JournalEntry
from ledger.core.recipients import add_recipient
from ledger.core.tokens import create_token
from ledger.core.users import add_user, get_user
from ledger.read.importer import import_file
from ledger.read.profiles import PROFILES_DIR, ProfileError, get_profile, load_profiles
from ledger.rules.packs import load_packs
from tests.conftest import NOW, PASSWORD, csrf_token, login

HOSTILE = Path(__file__).parent / "hostile"
EXPECTED = tomllib.loads((HOSTILE / "expected.toml").read_text(encoding="utf-8"))
LARGE = tomllib.loads((HOSTILE / "large.toml").read_text(encoding="utf-8"))
PROFILES = ("inkl-csv", "infoma-sachbuch", "sap-fi-einzelposten", "datev-extf", "camt053")
IBAN = "DE89370502990000123456"
#: What must never reach a user: a traceback or a Python exception's name.
LEAK = re.compile(r"Traceback|\b[A-Z]\w*(Error|Exception)\b|File \"")


def _large_cases() -> dict[str, tuple[bytes, dict]]:
    """The large inputs of ``large.toml``: ``header``, then ``repeat`` times ``row`` with
    ``{fill}`` replaced by ``fill_char`` × ``fill_length``, then ``tail``."""
    cases = {}
    for name, recipe in LARGE.items():
        fill = recipe.get("fill_char", "") * recipe.get("fill_length", 0)
        body = (recipe.get("header", "").replace("{fill}", fill)
                + recipe.get("row", "").replace("{fill}", fill) * recipe.get("repeat", 1) + recipe.get("tail", ""))
        cases[f"large/{name}"] = (body.encode("utf-8"), recipe)
    return cases


LARGE_CASES = _large_cases()
PROFILE_FILE = "(Profildatei)"
CASES = sorted(key for key, e in EXPECTED.items() if e["profile"] != PROFILE_FILE) + sorted(LARGE_CASES)
PROFILE_CASES = sorted(key for key, e in EXPECTED.items() if e["profile"] == PROFILE_FILE)


def _case(key: str) -> tuple[bytes, dict]:
    if key in LARGE_CASES:
        return LARGE_CASES[key]
    return (HOSTILE / key).read_bytes(), EXPECTED[key]


class Books:
    """One database with Kreis Testland (its bank account 1810 carrying ``IBAN``), an officer
    ``olga`` logged in on the web and holding an API token, and the command line on it."""

    def __init__(self, url: str, folder: Path) -> None:
        import webapp

        self.url = url
        self.engine = db.make_engine(url)
        self.session = Session(self.engine, expire_on_commit=False)
        self.kreis = add_recipient(self.session, "testland", "Kreis Testland", "kreis", actor="test", now=NOW)
        set_account_iban(self.session, self.kreis, "1810", IBAN, actor="test", now=NOW)
        add_user(self.session, "olga", "officer", actor="test", now=NOW, password=PASSWORD, recipients=(self.kreis,),
                 initial_password=False)
        self.session.commit()
        self.token = create_token(self.session, get_user(self.session, "olga"), "Korpus", actor="olga", now=NOW).secret
        self.session.commit()
        self.packs = load_packs()
        self.app = webapp.create_app({"TESTING": True, "DATABASE_URL": url, "SESSION_COOKIE_SECURE": False,
                                     "JOB_WAIT_SECONDS": 120})   # the 10 MB files take longer than the default wait
        self.app.instance_path = str(folder / "instance")
        self.web = self.app.test_client()
        assert login(self.web, "olga").status_code == 302
        self.csrf = csrf_token(self.web, "/r/testland/import")
        self.api = self.app.test_client()
        self.folder = folder
        self.tables = [t.name for t in Base.metadata.sorted_tables]
        self.last: tuple | None = None

    def snapshot(self) -> tuple:
        """Every table's row count and the journal's chain head (the newest entry's hash)."""
        self.session.rollback()
        counts = " UNION ALL ".join(f"SELECT '{name}', COUNT(*) FROM {name}" for name in self.tables)
        rows = tuple(sorted(self.session.execute(sa.text(counts)).all()))
        head = self.session.scalar(sa.select(JournalEntry.entry_hash).order_by(JournalEntry.id.desc()).limit(1))
        return rows, head

    def close(self) -> None:
        from webapp.db import dispose_engines

        self.app.extensions["inkl_jobs"].shutdown()
        dispose_engines(self.app)
        self.session.close()
        self.engine.dispose()


@pytest.fixture(scope="module")
def books(migrated_url, tmp_path_factory):
    """``Books`` on an emptied database of the backend (once per backend for this module)."""
    import shutil

    folder = tmp_path_factory.mktemp("corpus")
    if migrated_url.startswith("sqlite"):
        copy = folder / "corpus.sqlite"
        shutil.copyfile(migrated_url.removeprefix("sqlite:///"), copy)
        url = f"sqlite:///{copy}"
    else:
        engine = sa.create_engine(migrated_url)
        with engine.begin() as conn:
            conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
            conn.execute(sa.text(f"TRUNCATE {', '.join(t.name for t in Base.metadata.sorted_tables)} "
                                 "RESTART IDENTITY CASCADE"))
        engine.dispose()
        url = migrated_url
    made = Books(url, folder)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("INKL_DATABASE_URL", url)
        patch.setenv("INKL_USER", "olga")
        import inkl.cli

        patch.setattr(inkl.cli, "_engine", lambda: made.engine)   # one pool for the many commands
        yield made
    made.close()


def _file(books: Books, key: str, data: bytes) -> Path:
    path = books.folder / "files" / key.replace("/", "__")
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(data)
    return path


def _core(books: Books, path: Path, profile: str, *, dry_run: bool):
    with Session(books.engine, expire_on_commit=False) as session:
        summary = import_file(session, session.get(type(books.kreis), books.kreis.id), path, created_by="olga",
                              now=NOW, dry_run=dry_run, packs=books.packs, profile=get_profile(profile))
        session.commit()
    return summary


def _first(errors: list, expected: dict):
    """The error the expectation names (its line, if not 0, and column), else None."""
    column = expected.get("column")
    for error in errors:
        if expected["line"] and error["line"] != expected["line"]:
            continue
        if column is not None and (error["column"] or "") != column:
            continue
        if expected["message"] in error["message"]:
            return error
    return None


def _check_refused(errors: list[dict], expected: dict, where: str) -> None:
    assert errors, f"{where}: accepted"
    for error in errors:
        assert not LEAK.search(error["message"]), (where, error)
        assert error["line"] >= 1, (where, error)
    assert _first(errors, expected) is not None, (where, errors[:5])


def _cli(books: Books, path: Path, profile: str, *, dry_run: bool):
    from inkl.cli import main

    args = ["import", str(path), "--recipient", "testland", "--profile", profile]
    result = CliRunner().invoke(main, args + (["--dry-run"] if dry_run else []), catch_exceptions=True)
    assert result.exception is None or isinstance(result.exception, SystemExit), (path, result.exception)
    assert not LEAK.search(result.output + result.stderr), result.output + result.stderr
    return result


def _web(books: Books, data: bytes, name: str, profile: str):
    response = books.web.post("/r/testland/import", data={
        "csrf_token": books.csrf, "profile": profile, "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 200, (response.status_code, page[:500])
    assert not LEAK.search(page), page
    return page


def _web_errors(page: str) -> list[dict]:
    rows = re.findall(r'<tr>\s*<td class="num">(\d+)</td>\s*<td>(.*?)</td>\s*<td>(.*?)</td>\s*</tr>', page, re.S)
    return [{"line": int(line), "column": None if "ganze Zeile" in column else html.unescape(column),
             "message": html.unescape(message)} for line, column, message in rows]


def _api(books: Books, data: bytes, name: str, profile: str, *, dry_run: bool):
    response = books.api.post("/api/v1/recipients/testland/imports", headers={"Authorization": f"Bearer {books.token}"},
                              data={"file": (io.BytesIO(data), name), "profile": profile,
                                    "dry_run": "true" if dry_run else "false"},
                              content_type="multipart/form-data")
    assert response.status_code in (200, 422), (response.status_code, response.get_data(as_text=True)[:500])
    assert not LEAK.search(response.get_data(as_text=True))
    return response.status_code, response.get_json()


@pytest.mark.parametrize("key", CASES)
def test_a_corpus_file_is_refused_clearly_or_accepted_correctly(books, key):
    data, expected = _case(key)
    profile, outcome = expected["profile"], expected["outcome"]
    name = Path(key).name
    if not name.endswith((".csv", ".xml", ".zip", ".txt")):
        name += ".csv"
    path = _file(books, key, data)
    before, books.last = books.last or books.snapshot(), None   # the last case's state, if it ended cleanly

    for other in PROFILES:            # every other profile refuses it (a dry run: it would book otherwise)
        if other == profile or other in expected.get("others", ()):
            continue
        summary = _core(books, path, other, dry_run=True)
        assert not summary.ok, (key, other)
        assert all(not LEAK.search(e.message) and e.line >= 1 for e in summary.errors), (key, other, summary.errors)

    if outcome == "refused":
        # the command line and the API book (not a dry run); the books only grow (no path
        # deletes), so one comparison at the end shows any write
        result = _cli(books, path, profile, dry_run=False)
        assert result.exit_code == 1, (key, result.output)
        first = _first([{"line": int(m[1]), "column": m[2], "message": m[3]} for m in re.finditer(
            r"^.*?:(\d+):(?: ([^:\n]*?):)? (.*)$", result.stderr, re.M)], {**expected, "column": None})
        assert first is not None and str(path) in result.stderr, (key, result.stderr[:2000])
        status, answer = _api(books, data, name, profile, dry_run=False)
        assert status == 422, (key, answer)
        _check_refused(answer["errors"], expected, f"{key} (API)")
        _check_refused(_web_errors(_web(books, data, name, profile)), expected, f"{key} (Web)")
        assert books.snapshot() == before, f"{key}: something was written"
        books.last = before
        return

    rows = expected["rows"]
    result = _cli(books, path, profile, dry_run=True)
    assert result.exit_code == 0, (key, result.stderr)
    status, answer = _api(books, data, name, profile, dry_run=True)
    assert (status, answer["rows"]) == (200, rows), (key, answer)
    page = _web(books, data, name, profile)
    assert "Die Datei enthält" not in page and "<script>alert" not in page, key
    assert books.snapshot() == before, f"{key}: something was written"   # dry runs and other profiles write nothing
    summary = _core(books, path, profile, dry_run=False)
    assert summary.ok and summary.rows == rows, (key, summary.errors[:3])
    assert summary.imported + summary.parked + summary.payouts_recognised + summary.duplicates == rows, summary
    books.last = books.snapshot()
    assert books.last != before, key
    if "texts" in expected:
        stored = set(books.session.scalars(sa.select(JournalEntry.text).where(JournalEntry.text.in_(expected["texts"]))))
        assert stored == set(expected["texts"]), (key, stored)


@pytest.mark.parametrize("key", PROFILE_CASES)
def test_a_broken_profile_is_refused_naming_file_and_key(books, key, tmp_path, monkeypatch):
    """A profile file in the instance folder: refused when the profiles are read (core, command
    line, the web's import page), naming the file and the key; a valid odd one is loaded and its
    title shown escaped."""
    from inkl.cli import main

    expected, name = EXPECTED[key], Path(key).name
    folder = tmp_path / "profiles"
    folder.mkdir()
    (folder / name).write_bytes((HOSTILE / key).read_bytes())
    monkeypatch.setattr(settings, "INSTANCE_DIR", tmp_path)
    result = CliRunner().invoke(main, ["profile", "list"])
    page = books.web.get("/r/testland/import")
    text = page.get_data(as_text=True)
    assert not LEAK.search(result.output + result.stderr + text), (result.output, result.stderr, text[:2000])
    status, answer = _api(books, b"", "leer.csv", "inkl-csv", dry_run=True)   # the API reads the profiles too
    if expected["outcome"] == "loaded":
        title = load_profiles((PROFILES_DIR, folder))[Path(key).stem].title
        assert result.exit_code == 0 and title in result.output
        assert page.status_code == 200 and html.escape(title) in text and title not in text
        return
    with pytest.raises(ProfileError) as raised:
        load_profiles((PROFILES_DIR, folder))
    assert (raised.value.key, expected["message"] in raised.value.message) == (expected["key"], True), raised.value
    assert result.exit_code == 1 and name in result.stderr and expected["message"] in result.stderr, result.stderr
    assert page.status_code >= 400 and name not in text, (page.status_code, text[:2000])
    reason = answer["invalid_params"][0]["reason"]                 # named by key, without the server's path
    assert status == 422 and expected["message"] in reason and str(tmp_path) not in reason, answer


def test_the_readme_lists_every_corpus_file():
    readme = (HOSTILE / "README.md").read_text(encoding="utf-8")
    files = {str(p.relative_to(HOSTILE)) for p in HOSTILE.rglob("*") if p.is_file()} - {
        "README.md", "expected.toml", "large.toml"}
    assert files == set(EXPECTED), files ^ set(EXPECTED)
    assert len(files) + len(LARGE) >= 100
    missing = [key for key in list(EXPECTED) + [f"large/{n}" for n in LARGE] if f"`{key}`" not in readme]
    assert not missing, missing
