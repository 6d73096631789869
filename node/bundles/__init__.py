"""Court-ready evidence bundles (issue 4): the export of one case as a ZIP a lawyer can hand
to a court, which ``backup-evidence verify`` checks offline with nothing else.

* `export`: `BundleExporter`, gathering a case's evidence, proofs, checkpoint, custody and
  consent, with the services and keys it is given;
* `writer`: the deterministic ZIP with its signed manifest;
* `summary`: the readable account for a lawyer without tools.

The format itself (paths, manifest signature) is `backup_evidence.bundle_format`, shared
with the verifier.
"""
