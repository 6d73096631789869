"""The observatory's SQLite storage: one database file, numbered migrations."""
