"""How a ``backup-node`` command reaches what it needs: the secrets it is given (from the
environment, or asked on the terminal, never as an option that would show in the process
list or the shell's history) and a node's database and keys."""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path

from node import keyring
from node.datadir import DataDir
from node.storage.database import Database

PASSPHRASE_ENV = "BACKUP_ADMIN_PASSPHRASE"  # noqa: S105 -- a variable name, not a secret
EXPORT_PASSPHRASE_ENV = "BACKUP_PASSPHRASE"  # noqa: S105 -- a variable name, not a secret
RECOVERY_KEY_ENV = "BACKUP_RECOVERY_KEY"


def read_passphrase(prompt_for: str) -> str:
    env = os.environ.get(PASSPHRASE_ENV)
    if env:
        return env
    if not sys.stdin.isatty():
        raise SystemExit(f"no terminal to ask for the passphrase: set {PASSPHRASE_ENV}")
    first = getpass.getpass(f"Passphrase for {prompt_for} (at least 12 characters): ")
    second = getpass.getpass("Repeat the passphrase: ")
    if first != second:
        raise SystemExit("the two passphrases differ; nothing was created")
    return first


def read_secret(env: str, prompt: str, what: str) -> str:
    value = os.environ.get(env)
    if value:
        return value
    if not sys.stdin.isatty():
        raise SystemExit(f"no terminal to ask for {what}: set {env}")
    return getpass.getpass(prompt)


def staff_passphrase(username: str) -> str:
    """A staff member's passphrase for a command acting as them: from the environment, or
    asked on the terminal."""
    passphrase = os.environ.get(EXPORT_PASSPHRASE_ENV)
    if not passphrase:
        if not sys.stdin.isatty():
            raise SystemExit(f"set {EXPORT_PASSPHRASE_ENV} or run from a terminal")
        passphrase = getpass.getpass(f"Passphrase of '{username}': ")
    return passphrase


def open_for_admin(data: str) -> tuple[Database, keyring.NodeKeys]:
    datadir = DataDir(Path(data))
    if not datadir.is_initialised():
        raise SystemExit(f"{datadir.root} is not a node; nothing was changed")
    db = Database(datadir.database)
    return db, keyring.load(datadir, db)
