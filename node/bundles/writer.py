"""Writing a bundle's ZIP: every file at a fixed time, in a fixed order, so that a bundle's
bytes depend on its content only; a manifest listing the SHA-256 of every file that is not
evidence (evidence is bound by its leaves), signed by the node."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Callable
from typing import Any

from backup_evidence.bundle_format import MANIFEST, MANIFEST_SIG, manifest_message

FIXED_TIME = (2000, 1, 1, 0, 0, 0)  # ZIP entry times: the bundle's bytes depend on content only


def canonical_json(data: Any) -> bytes:
    """The JSON files of a bundle: sorted keys, indented, UTF-8, one trailing newline."""
    return json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True).encode() + b"\n"


class BundleWriter:
    """Collects files, then writes the ZIP with its manifest and signature."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}

    def add(self, path: str, data: bytes) -> None:
        if path in self.files:
            raise ValueError(f"duplicate bundle path {path}")
        self.files[path] = data

    def finish(self, manifest: dict[str, Any], sign: Callable[[bytes], bytes]) -> bytes:
        manifest = dict(manifest)
        manifest["files"] = {path: hashlib.sha256(data).hexdigest()
                             for path, data in sorted(self.files.items())
                             if not path.startswith("evidence/")}
        manifest_bytes = canonical_json(manifest)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for path, data in [(MANIFEST, manifest_bytes),
                               (MANIFEST_SIG, sign(manifest_message(manifest_bytes)).hex()
                                .encode() + b"\n"),
                               *sorted(self.files.items())]:
                info = zipfile.ZipInfo(path, FIXED_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                z.writestr(info, data)
        return buf.getvalue()
