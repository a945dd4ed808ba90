"""click in German: its own messages, the metavars of the help, dates and yes/no questions.

click writes its usage errors, help headings and prompts in English ("Error: Missing option
'--recipient'.", "Usage:", "[required]", "Aborted!"). Since click 8 each of its modules fetches
these texts through gettext (``from gettext import gettext as _`` and ``ngettext``), with
English as the msgid. Three ways to make them German were weighed:

- **The process-wide gettext domain** (``gettext.bindtextdomain``/``textdomain``): gettext
  chooses the language from ``LANGUAGE``/``LC_ALL``/``LC_MESSAGES``/``LANG`` at each call, so
  the same command would answer in English under ``LANG=C`` (cron, containers, CI) and it
  would translate every other library that uses the default domain.
- **Subclassing**: click lets an application subclass its commands, context, help formatter
  and exceptions, but most messages are raised inside click (the parser's unknown option,
  ``Choice``/``Path``/``DateTime`` conversion, missing parameters, ``main``'s "Aborted!"), so
  subclasses would have to re-parse English text.
- **Chosen: a German catalog bound to click's modules.** ``inkl/click_de.po`` translates
  click's msgids (a plain gettext catalog, reviewable and editable as text); it is compiled
  with Babel when this module is imported (about 20 ms, no binary ``.mo`` in the
  repository), and :func:`install` rebinds the ``_``/``ngettext`` names of click's modules to
  that catalog. The language is fixed whatever the environment, only click is affected, and
  ``tests/test_cli_german.py`` extracts click's msgids with Babel and fails on any the
  catalog lacks, so a click upgrade that adds or rewords a message is noticed at once.

What gettext does not reach is here too: the metavars click derives from English type names
(``TEXT``, ``INTEGER``, ``PATH``: :func:`metavar`), dates (:data:`DATE`, ``JJJJ-MM-TT`` with a
German error; ``click.DateTime`` would name the ``%Y-%m-%d`` format) and yes/no questions
(:func:`confirm`: click's ``confirm`` has a literal ``[y/N]`` and accepts only y/yes).
"""
from __future__ import annotations

import gettext
import importlib
import io
import sys
from datetime import datetime
from pathlib import Path

import click
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

#: The German catalog of click's messages (gettext PO, msgids as in click's source).
CATALOG = Path(__file__).with_name("click_de.po")
#: click's modules that fetch messages through gettext (its ``_winconsole`` too, on Windows).
CLICK_MODULES = ("click.core", "click.decorators", "click.exceptions", "click.formatting", "click.parser",
                 "click.shell_completion", "click.termui", "click.types", "click.utils", "click._termui_impl",
                 *(("click._winconsole",) if sys.platform == "win32" else ()))


def translations(path: Path = CATALOG) -> gettext.GNUTranslations:
    """The catalog at ``path`` (a PO file) compiled in memory with Babel, as gettext translations."""
    with path.open("rb") as source:
        catalog = read_po(source, locale="de")
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def install(german: gettext.NullTranslations | None = None) -> list[str]:
    """Bind ``german`` (default: :func:`translations`) as ``_`` and ``ngettext`` of every module
    of ``CLICK_MODULES`` that imports them from gettext; returns the names of the modules bound.

    Only names that are still gettext's own functions (or an earlier binding of this function)
    are replaced, so the call is idempotent and leaves other code alone."""
    german = german or translations()
    bound = []
    for name in CLICK_MODULES:
        module = importlib.import_module(name)
        for attribute, function in (("_", german.gettext), ("ngettext", german.ngettext)):
            if _replaceable(getattr(module, attribute, None)):
                setattr(module, attribute, function)
                bound.append(name)
    return sorted(set(bound))


def _replaceable(function) -> bool:
    """gettext's own ``gettext``/``ngettext``, or the method of catalog bound before."""
    return function in (gettext.gettext, gettext.ngettext) or isinstance(getattr(function, "__self__", None),
                                                                         gettext.NullTranslations)


class Date(click.DateTime):
    """A day as ``JJJJ-MM-TT`` (``2024-03-20``), converted to a ``datetime`` at midnight like
    ``click.DateTime``; a wrong value is a usage error with a German message (exit code 2)."""

    name = "datum"

    def __init__(self) -> None:
        super().__init__(["%Y-%m-%d"])

    def get_metavar(self, param, ctx) -> str:
        return "JJJJ-MM-TT"

    def convert(self, value, param, ctx):
        if isinstance(value, datetime):
            return value
        try:
            return datetime.strptime(value, "%Y-%m-%d")
        except ValueError:
            self.fail(f"{value!r} ist kein Datum der Form JJJJ-MM-TT (z. B. 2024-03-20)", param, ctx)


class GermanDate(Date):
    """A day as ``TT.MM.JJJJ`` (``31.12.2026``), also ``JJJJ-MM-TT``, converted like :class:`Date`."""

    def get_metavar(self, param, ctx) -> str:
        return "TT.MM.JJJJ"

    def convert(self, value, param, ctx):
        if isinstance(value, datetime):
            return value
        for layout in ("%d.%m.%Y", "%Y-%m-%d"):
            try:
                return datetime.strptime(value, layout)
            except ValueError:
                pass
        self.fail(f"{value!r} ist kein Datum der Form TT.MM.JJJJ (z. B. 31.12.2026)", param, ctx)


#: The date type of every date option of ``inkl``.
DATE = Date()
#: The date type of ``inkl token create --expires`` (German order, as on the web page).
GERMAN_DATE = GermanDate()


def metavar(param: click.Parameter) -> str | None:
    """The German metavar of an option whose type has only an English name (``TEXT`` stays, it is
    German too): numbers ``ZAHL``, paths ``DATEI``/``VERZEICHNIS``/``PFAD``; None where the type's
    own is right (choices ``[a|b]``, :data:`DATE`) or the option has its own."""
    kind = param.type
    if param.metavar is not None or not isinstance(param, click.Option) or param.is_flag:
        return None
    if isinstance(kind, (click.types.IntParamType, click.types.FloatParamType)):
        return "ZAHL"
    if isinstance(kind, click.Path):
        return "DATEI" if not kind.dir_okay else "VERZEICHNIS" if not kind.file_okay else "PFAD"
    return None


def confirm(text: str, *, default: bool = False) -> bool:
    """Ask ``text`` on stderr with ``[j/N]`` (``[J/n]`` if ``default``); ``j``/``ja`` → True,
    ``n``/``nein`` → False, an empty answer → ``default``, anything else asks again.
    End of input raises ``click.Abort`` ("Abgebrochen.", exit code 1)."""
    suffix = "[J/n]" if default else "[j/N]"
    while True:
        answer = click.prompt(f"{text} {suffix}", default="", show_default=False, err=True).strip().lower()
        if not answer:
            return default
        if answer in ("j", "ja"):
            return True
        if answer in ("n", "nein"):
            return False
        click.echo("Fehler: bitte j (ja) oder n (nein) eingeben", err=True)
