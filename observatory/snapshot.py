"""The public statistics as a static, signed snapshot that survives takedown (issue 21).

`write` renders the public site (dashboard, a page per country, methodology, open data page,
in every configured language, for the latest published period) and copies the open data
(CSV and JSON, every period) into a directory of plain files that any web host or mirror
can serve. ``SHA256SUMS`` lists every file with its SHA-256 (the `sha256sum` format) and
``SHA256SUMS.sig`` is the observatory identity key's Ed25519 signature over
``DOMAIN || SHA256SUMS`` (hex). `verify` checks a copy of a mirror against the key that the
federation knows the observatory by: the signature, every listed file, and no file that is
not listed. Pages of earlier periods are not in the snapshot (their links carry a query
string a static host ignores); their figures are in the open data files.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path

from crypto.errors import FormatError, SignatureError
from crypto.keys import VerifyKey
from observatory.context import ObservatoryContext
from observatory.statistics.opendata import Files
from observatory.statistics.publication import PublicationCache
from observatory.web.site_render import SiteRenderer

SUMS = "SHA256SUMS"
SIGNATURE = "SHA256SUMS.sig"
DOMAIN = b"backup-observatory-snapshot-v1\n"


@dataclass(frozen=True)
class Snapshot:
    directory: Path
    files: int


def _pages(ctx: ObservatoryContext) -> dict[str, bytes]:
    pub = PublicationCache(ctx.db, ctx.config.statistics).get()
    site = SiteRenderer(ctx.config, ctx.catalogues)
    out: dict[str, str] = {}
    default = ctx.config.languages[0]
    out["index.html"] = (f'<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" '
                         f'content="0; url=/{default}/"><a href="/{default}/">{ctx.config.name}'
                         "</a>\n")
    for lang in ctx.config.languages:
        out[f"{lang}/index.html"] = site.statistics(pub, lang, pub.overall, None)
        out[f"{lang}/methodology/index.html"] = site.methodology(pub, lang)
        out[f"{lang}/data/index.html"] = site.data(pub, lang)
        for code, scope in pub.countries.items():
            if scope.periods:
                out[f"{lang}/countries/{code}/index.html"] = site.statistics(
                    pub, lang, scope, None)
    files = {name: text.encode("utf-8") for name, text in out.items()}
    opendata = Files(ctx.datadir.root / "published", ctx.config.name)
    for kind in ("csv", "json"):
        files[f"data/statistics.{kind}"] = opendata.path(pub, kind).read_bytes()
    return files


def write(ctx: ObservatoryContext, out: Path) -> Snapshot:
    """Write the snapshot into `out` (which must not exist), signed."""
    if out.exists():
        raise FileExistsError(f"{out} exists; nothing was written")
    files = _pages(ctx)
    work = out.with_name(out.name + ".partial")
    shutil.rmtree(work, ignore_errors=True)
    try:
        lines = []
        for name in sorted(files):
            path = work / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(files[name])
            lines.append(f"{hashlib.sha256(files[name]).hexdigest()}  {name}\n")
        sums = "".join(lines).encode("ascii")
        (work / SUMS).write_bytes(sums)
        (work / SIGNATURE).write_text(ctx.identity.signing_key.sign(DOMAIN + sums).hex() + "\n",
                                      encoding="ascii")
        work.rename(out)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return Snapshot(out, len(files))


def verify(directory: Path, identity_key_hex: str) -> list[str]:
    """What is wrong with this copy of a snapshot; empty when it is exactly what the
    observatory with this identity key signed."""
    try:
        key = VerifyKey(bytes.fromhex(identity_key_hex))
    except (ValueError, FormatError):
        return ["the identity key is not 64 hex digits (an Ed25519 public key)"]
    try:
        sums = (directory / SUMS).read_bytes()
        signature = bytes.fromhex((directory / SIGNATURE).read_text(encoding="ascii").strip())
        key.verify(DOMAIN + sums, signature)
    except FileNotFoundError:
        return [f"{SUMS} or {SIGNATURE} is missing: this is not a signed snapshot"]
    except (SignatureError, ValueError, UnicodeDecodeError):
        return [f"{SUMS} is not signed by this observatory's key: do not trust this copy"]
    problems = []
    listed: set[str] = set()
    for line in sums.decode("ascii").splitlines():
        digest, _, name = line.partition("  ")
        listed.add(name)
        path = directory / name
        if ".." in Path(name).parts or not path.is_file():
            problems.append(f"missing: {name}")
        elif hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            problems.append(f"changed: {name}")
    for path in sorted(directory.rglob("*")):
        name = path.relative_to(directory).as_posix()
        if path.is_file() and name not in listed | {SUMS, SIGNATURE}:
            problems.append(f"not in the signed list: {name}")
    return problems
