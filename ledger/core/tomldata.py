"""Data files in TOML validated with marshmallow: rule packs (``ledger.rules.packs``) and
import profiles (``ledger.read.profiles``).

Read with the standard library's ``tomllib``; every error names the file and the key path
(``"overhead.rate"``, ``"rules[3].if"``; list indexes count from 0) in German.
"""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

from marshmallow import Schema, ValidationError

from ledger.core.errors import LedgerError


class DataFileError(LedgerError):
    """A TOML data file is unreadable or invalid.

    Attributes: ``file`` (the path, or a folder for errors between files), ``key`` (dotted
    key path of the first error; ``""`` for the whole file), ``message`` (German, of the
    first error), ``errors`` (all errors: key path → list of German messages).
    ``str()`` is ``"<file>: <key>: <message>"``.
    """

    def __init__(self, file: str | Path, key: str, message: str, errors: dict | None = None):
        self.file = str(file)
        self.key = key
        self.message = message
        self.errors = errors if errors is not None else {key: [message]}
        super().__init__(str(self))

    def __str__(self) -> str:
        return ": ".join(part for part in (self.file, self.key, self.message) if part)

    @property
    def without_file(self) -> str:
        """``"<key>: <message>"``: the error as users of a web page or the API see it, without
        the server's file path (that goes to the log)."""
        return ": ".join(part for part in (self.key, self.message) if part)


def read_toml(path: Path, error: type[DataFileError] = DataFileError) -> dict:
    """The TOML file as a dict; raises ``error`` on syntax errors (with line and column)
    and on unreadable files."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"at line (\d+), column (\d+)", str(exc))
        where = f" in Zeile {found.group(1)}, Spalte {found.group(2)}" if found else ""
        detail = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise error(path, "", f"TOML-Syntaxfehler{where}: {detail}") from exc
    except UnicodeDecodeError as exc:
        raise error(path, "", f"Datei ist nicht in UTF-8 kodiert (Byte {exc.start + 1}); TOML-Dateien sind UTF-8") from exc
    except OSError as exc:
        raise error(path, "", f"Datei nicht lesbar: {exc}") from exc


def validated(path: Path, raw: dict, schema: Schema, error: type[DataFileError] = DataFileError) -> dict:
    """``raw`` loaded with ``schema``; raises ``error`` naming the first key and listing all."""
    try:
        return schema.load(raw)
    except ValidationError as exc:
        errors = flatten(exc.messages)
        key, messages = next(iter(errors.items()))
        raise error(path, key, messages[0], errors) from exc


def flatten(messages, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested messages → {"overhead.rate": [...], "categories[3].status": [...]}."""
    if not isinstance(messages, dict):
        return {prefix: list(messages) if isinstance(messages, list) else [str(messages)]}
    flat: dict[str, list[str]] = {}
    for key, value in messages.items():
        if key == "_schema":
            path = prefix
        elif isinstance(key, int):
            path = f"{prefix}[{key}]"
        else:
            path = f"{prefix}.{key}" if prefix else str(key)
        for sub_key, sub_messages in flatten(value, path).items():
            flat.setdefault(sub_key, []).extend(sub_messages)
    return flat


def folder_state(directory: Path) -> tuple[Path, tuple[tuple[str, float, int], ...]]:
    """The folder and (name, modification time, size) of each ``*.toml`` in it, by name (no files
    if the folder does not exist): a cache key, so that data files are validated again only when
    one was added, removed or changed."""
    if not directory.is_dir():
        return directory, ()
    return directory, tuple((p.name, p.stat().st_mtime, p.stat().st_size) for p in sorted(directory.glob("*.toml")))
