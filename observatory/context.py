"""Everything a running observatory needs, opened once and passed in (docs/notes/style.md, 4).

No globals: the CLI, the web app, the federation handler and the tests each get an
`ObservatoryContext` from `open_observatory` (or `init_observatory` first) and close it.
Time comes from `clock`, so tests can move it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from crypto import passphrase as pw
from observatory import admin_passphrase, identity
from observatory.checkpoints import Checkpoints
from observatory.config import ObservatoryConfig
from observatory.config import load as load_config
from observatory.config import parse as parse_config
from observatory.datadir import DataDir
from observatory.experts import ExpertRegistry
from observatory.i18n import Catalogues
from observatory.identity import ObservatoryIdentity
from observatory.members import Members
from observatory.membership_lists import MembershipLists
from observatory.storage.database import Database

Clock = Callable[[], int]


def wall_clock() -> int:
    return int(time.time())


@dataclass
class ObservatoryContext:
    datadir: DataDir
    config: ObservatoryConfig
    identity: ObservatoryIdentity
    db: Database
    clock: Clock = wall_clock
    lists: MembershipLists = field(init=False)
    members: Members = field(init=False)
    checkpoints: Checkpoints = field(init=False)
    experts: ExpertRegistry = field(init=False)  # issue 16
    catalogues: Catalogues = field(init=False)  # issue 20: the configured languages

    def __post_init__(self) -> None:
        self.lists = MembershipLists(self.db, self.identity, self.config)
        self.members = Members(self.db, self.identity, self.config, self.lists)
        self.checkpoints = Checkpoints(self.db, self.identity)
        self.experts = ExpertRegistry(self.db, self.identity)
        self.catalogues = Catalogues(self.config.languages,
                                     self.config.catalogue_folder(self.datadir.root))

    def now(self) -> int:
        return self.clock()

    def admin_passphrase_hash(self) -> str | None:
        return admin_passphrase.stored_hash(self.db.read())

    def close(self) -> None:
        self.db.close()


class AlreadyInitialised(Exception):
    """`init` on a directory that already holds an observatory: nothing is changed."""


def init_observatory(root: Path, passphrase: str, config_text: str,
                     params: pw.KdfParams = pw.STAFF) -> ObservatoryIdentity:
    """Create an observatory in `root`: data directory, identity, database, admin
    passphrase hash, configuration file. Refuses a weak passphrase or a bad config."""
    import tomllib

    datadir = DataDir(root)
    if datadir.is_initialised() or datadir.database.exists():
        raise AlreadyInitialised(f"{root} already holds an observatory")
    admin_passphrase.check_strength(passphrase)
    parse_config(tomllib.loads(config_text), "the configuration template")
    datadir.create()
    if not datadir.config.exists():
        datadir.config.write_text(config_text, encoding="utf-8")
    db = Database(datadir.database)
    try:
        with db.write() as conn:
            admin_passphrase.store(conn, passphrase, params)
            return identity.create(datadir, conn)
    finally:
        db.close()


def open_observatory(root: Path, clock: Clock = wall_clock) -> ObservatoryContext:
    datadir = DataDir(root)
    if not datadir.is_initialised():
        raise FileNotFoundError(f"{root} holds no observatory: run `backup-observatory init`")
    config = load_config(datadir.config)
    # issue 20: a malformed catalogue stops the observatory before the database opens
    Catalogues(config.languages, config.catalogue_folder(datadir.root))
    db = Database(datadir.database)
    try:
        ident = identity.load(datadir, db.read())
        return ObservatoryContext(datadir, config, ident, db, clock)
    except BaseException:
        db.close()
        raise
