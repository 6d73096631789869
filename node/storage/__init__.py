"""Persistence: one SQLite file (WAL, one writer) and a directory of encrypted blobs."""
