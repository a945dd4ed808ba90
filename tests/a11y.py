"""Accessibility checks with axe-core in the browser tests (BITV 2.0, i.e. WCAG 2.x level A and AA).

axe-core comes from the npm registry as one pinned tarball (``AXE_URL``), checked against the
registry's ``dist.integrity`` (sha512, ``AXE_INTEGRITY``) and cached in ``tests/vendor/``
(ignored by git), so later runs need no network. ``package/axe.min.js`` is extracted from the
verified tarball next to it and injected into the page by Playwright; the app's
Content-Security-Policy forbids injected scripts, so the checking browser context is created
with ``bypass_csp=True`` (``new_context(**CONTEXT_OPTIONS)``).

Without network on the first run the check is skipped locally and fails in CI (``CI`` set);
a tarball that does not match the pinned integrity always fails.
"""
from __future__ import annotations

import base64
import hashlib
import io
import os
import tarfile
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import pytest

#: ``curl -s https://registry.npmjs.org/axe-core/latest``: version and dist.integrity.
AXE_VERSION = "4.14.1"
AXE_INTEGRITY = "sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ=="
AXE_URL = f"https://registry.npmjs.org/axe-core/-/axe-core-{AXE_VERSION}.tgz"
VENDOR = Path(__file__).parent / "vendor"
#: WCAG 2.0, 2.1 and 2.2 success criteria of levels A and AA (BITV 2.0 via EN 301 549).
WCAG_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa")
#: Impacts that fail a test; "minor" and "moderate" findings are not reported.
FAILING_IMPACTS = ("serious", "critical")
#: Browser context options for pages axe checks.
CONTEXT_OPTIONS = {"bypass_csp": True}

_RUN_AXE = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
    nodes: v.nodes.map(n => ({target: n.target.map(String), html: n.html, summary: n.failureSummary})),
  }));
}"""


def integrity_of(data: bytes) -> str:
    """npm's Subresource-Integrity form of ``data``: ``"sha512-" + base64(sha512)``."""
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode("ascii")


def axe_script() -> Path:
    """Path of ``axe.min.js`` extracted from the verified, cached tarball (downloaded once)."""
    tarball = VENDOR / f"axe-core-{AXE_VERSION}.tgz"
    data = tarball.read_bytes() if tarball.exists() else b""
    if integrity_of(data) != AXE_INTEGRITY:
        data = _download()
        if integrity_of(data) != AXE_INTEGRITY:
            pytest.fail(f"axe-core {AXE_VERSION}: the tarball from {AXE_URL} has integrity {integrity_of(data)}, "
                        f"expected {AXE_INTEGRITY}", pytrace=False)
        _write(tarball, data)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        script = archive.extractfile("package/axe.min.js").read()
    target = VENDOR / f"axe-core-{AXE_VERSION}.min.js"
    if not target.exists() or target.read_bytes() != script:
        _write(target, script)
    return target


def violations(page) -> list[dict]:
    """Run axe-core on ``page``'s current document with ``WCAG_TAGS``; its violations
    (``id``, ``impact``, ``help``, ``helpUrl``, ``nodes`` with ``target``, ``html``, ``summary``)."""
    page.add_script_tag(path=str(axe_script()))
    return page.evaluate(_RUN_AXE, list(WCAG_TAGS))


def serious(found: list[dict]) -> list[dict]:
    """The violations of impact serious or critical."""
    return [v for v in found if v["impact"] in FAILING_IMPACTS]


def report(page_name: str, found: list[dict]) -> str:
    """``found`` on ``page_name`` as text for a test failure: one line per violation (impact,
    rule id, help, link), then one per offending node (CSS target, start of its HTML)."""
    lines = []
    for v in found:
        lines.append(f"{page_name}: [{v['impact']}] {v['id']}: {v['help']} ({v['helpUrl']})")
        lines.extend(f"    {' '.join(n['target'])}  {n['html'][:160]}" for n in v["nodes"])
    return "\n".join(lines)


def _download() -> bytes:
    try:
        with urllib.request.urlopen(AXE_URL, timeout=60) as response:
            return response.read()
    except (urllib.error.URLError, OSError) as exc:
        message = f"axe-core {AXE_VERSION} cannot be downloaded from {AXE_URL}: {exc}"
        if os.environ.get("CI"):
            pytest.fail("CI: " + message, pytrace=False)
        pytest.skip(message)


def _write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (concurrent test runs never see half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".part")
    with os.fdopen(handle, "wb") as out:
        out.write(data)
    os.chmod(temporary, 0o644)
    os.replace(temporary, path)
