#!/usr/bin/env python3
"""Monatsimport: den Monatsexport des Finanzverfahrens über die Schnittstelle der Buchführung
der Inklusionspauschale hochladen, im Probelauf prüfen und buchen.

Nur Python 3.8+ mit der Standardbibliothek (urllib); läuft so auf jedem Rechner, auch per cron.
Beschreibung: docs/import-script.md.

    INKL_API_TOKEN_FILE=/etc/inkl/zugangstoken \\
    python3 monatsimport.py --url https://inkl.kreis.example --recipient musterhausen 2024-07.csv

Ablauf: 1. Probelauf (nichts wird gebucht), Zusammenfassung ausgeben; 2. enthält die Datei
Fehler, jeden Fehler mit Zeile und Spalte ausgeben und abbrechen; 3. ist nichts Neues darin,
fertig; 4. sonst den Probelauf buchen (alles oder nichts) und das Ergebnis ausgeben.

Das Zugangstoken (Seite „Zugangstoken für Importskripte“) kommt aus der Datei in
``INKL_API_TOKEN_FILE`` oder aus der Umgebungsvariable ``INKL_API_TOKEN``, nie von der
Kommandozeile (dort sähe es jeder Benutzer des Rechners in der Prozessliste).

Exit-Codes: 0 gebucht oder nichts Neues (mit ``--nur-pruefen``: Probelauf fehlerfrei);
1 Aufruf oder Verbindung fehlgeschlagen (Adresse, Token, Rechte, Server); 2 die Datei enthält
Fehler, nichts gebucht.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

API = "/api/v1"
TIMEOUT_SECONDS = 600  # the API imports synchronously: a large month takes a while


class ApiError(Exception):
    """An answer of the API that is not a success: its status and problem details (RFC 7807)."""

    def __init__(self, status: int, problem: dict) -> None:
        super().__init__(problem.get("detail") or f"HTTP {status}")
        self.status = status
        self.problem = problem


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Monatsexport prüfen (Probelauf) und buchen.")
    parser.add_argument("datei", type=Path, help="der Monatsexport (z. B. 2024-07.csv)")
    parser.add_argument("--url", default=os.environ.get("INKL_API_URL"),
                        help="Adresse der Buchführung, z. B. https://inkl.kreis.example (oder INKL_API_URL)")
    parser.add_argument("--recipient", default=os.environ.get("INKL_RECIPIENT"),
                        help="Schlüssel des Empfängers, z. B. musterhausen (oder INKL_RECIPIENT)")
    parser.add_argument("--profile", default="", help="Importprofil, z. B. datev-extf oder camt053 (leer: der Journalexport der Buchführung)")
    parser.add_argument("--nur-pruefen", action="store_true", help="nur den Probelauf, nichts buchen")
    args = parser.parse_args(argv)
    if not args.url or not args.recipient:
        parser.error("--url und --recipient (oder INKL_API_URL und INKL_RECIPIENT) sind nötig")
    try:
        token = read_token()
        base = f"{args.url.rstrip('/')}{API}/recipients/{urllib.parse.quote(args.recipient, safe='')}"
        dry = request("POST", f"{base}/imports", token, fields={"dry_run": "true", "profile": args.profile},
                      upload=args.datei)
        show("Probelauf", dry)
        if dry["id"] is None:
            print("Nichts Neues zu buchen.")
            return 0
        if args.nur_pruefen:
            print(f"Nur geprüft; zum Buchen: POST {dry['commit']}")
            return 0
        booked = request("POST", urllib.parse.urljoin(args.url, dry["commit"]), token)
        show("Gebucht", booked)
        return 0
    except ApiError as exc:
        print(f"Fehler ({exc.status}): {exc}", file=sys.stderr)
        for error in exc.problem.get("errors", []):
            column = f", Spalte {error['column']}" if error.get("column") else ""
            print(f"  Zeile {error['line']}{column}: {error['message']}", file=sys.stderr)
        for param in exc.problem.get("invalid_params", []):
            print(f"  {param['name']}: {param['reason']}", file=sys.stderr)
        return 2 if exc.status == 422 and exc.problem.get("errors") else 1
    except (OSError, ValueError) as exc:   # no token, file missing, server unreachable, not JSON
        print(f"Fehler: {exc}", file=sys.stderr)
        return 1


def read_token() -> str:
    """The access token from the file ``INKL_API_TOKEN_FILE`` or the variable ``INKL_API_TOKEN``."""
    path = os.environ.get("INKL_API_TOKEN_FILE")
    token = Path(path).read_text(encoding="utf-8").strip() if path else os.environ.get("INKL_API_TOKEN", "").strip()
    if not token:
        raise ValueError("kein Zugangstoken: INKL_API_TOKEN_FILE oder INKL_API_TOKEN setzen")
    return token


def request(method: str, url: str, token: str, *, fields: dict | None = None, upload: Path | None = None) -> dict:
    """Send a request with the token; the JSON answer, or ApiError with the problem details."""
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    body = None
    if upload is not None:
        body, content_type = multipart(fields or {}, upload)
        headers["Content-Type"] = content_type
    call = urllib.request.Request(url, data=body, headers=headers, method=method)
    try:
        with urllib.request.urlopen(call, timeout=TIMEOUT_SECONDS) as answer:
            return json.load(answer)
    except urllib.error.HTTPError as exc:
        try:
            problem = json.load(exc)
        except ValueError:
            problem = {"detail": exc.reason}
        raise ApiError(exc.code, problem) from None


def multipart(fields: dict, upload: Path) -> tuple[bytes, str]:
    """A multipart/form-data body (RFC 7578) with ``fields`` and the file ``upload`` as ``file``."""
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    filename = upload.name.replace('"', "")
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                 "Content-Type: text/csv\r\n\r\n".encode() + upload.read_bytes() + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def show(step: str, summary: dict) -> None:
    """One line per import: file, rows, new, already booked, recognised payouts."""
    print(f"{step} {summary['file']}: {summary['rows']} Zeilen, {summary['imported']} neu, "
          f"{summary['duplicates']} bereits gebucht, {summary['payouts_recognised']} als Auszahlung erkannt "
          f"(SHA-256 {summary['sha256']})")


if __name__ == "__main__":
    sys.exit(main())
