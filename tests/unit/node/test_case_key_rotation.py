"""Case key generations (issue 13, `node.backoffice.case_keys`): after someone leaves a case
and its key is rotated, the copy of the key they may have kept opens nothing written on the
case since; the remaining holders, the coordinators (intake key) and the reporter (with
their receipt) read old and new. Real stores, real SQLite.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto import passphrase as pw
from crypto.errors import DecryptionError
from crypto.keys import BoxPublicKey, BoxSecretKey, CaseKey, DataKey
from node import accounts, errors
from node.backoffice import case_keys
from node.backoffice.incidents import IncidentCoding
from node.backoffice.ledger import aead_context
from node.context import NodeContext, open_node
from node.datadir import DataDir
from node.demo import tiny_png
from node.intake.models import AdditionInput, Consent, ReportInput
from node.intake.service import Receipt
from node.key_certificates import KeyNotAuthentic
from tests.conftest import CANARY
from tests.team import Team, make_team


@pytest.fixture
def ctx(node_dir: DataDir) -> Iterator[NodeContext]:
    context = open_node(node_dir, staff_params=pw.INSECURE_FAST_FOR_TESTS,
                        receipt_params=pw.INSECURE_FAST_FOR_TESTS)
    yield context
    context.close()


@pytest.fixture
def team(ctx: NodeContext) -> Team:
    return make_team(ctx)


def submit(ctx: NodeContext) -> Receipt:
    key = DataKey.generate()
    w = ctx.intake.attachment_writer(key, ctx.intake.allowance(), "before.png")
    w.feed(tiny_png(1))
    return ctx.intake.submit(ReportInput(narrative=f"{CANARY} what happened", consent=Consent(
        care=True, referral=True, statistics=True)), key, [w.finish()], "test")


def add_file(ctx: NodeContext, r: Receipt, name: str) -> str:
    """The reporter adds a file (with their receipt); returns its item id."""
    access = ctx.intake.open_receipt(r.code, r.secret)
    w = ctx.intake.attachment_writer(access.data_key, ctx.intake.allowance(), name)
    w.feed(tiny_png(2) + CANARY.encode())
    ctx.intake.add_information(access, AdditionInput(text=f"{name} added"), [w.finish()])
    return str(ctx.db.read().execute(
        "SELECT id FROM report_items WHERE report_id = ? AND kind = 'attachment'"
        " ORDER BY rowid DESC LIMIT 1", (r.report_id,)).fetchone()[0])


def read_file(ctx: NodeContext, key: DataKey, r: Receipt, item_id: str) -> bytes:
    _meta, chunks = ctx.intake.open_attachment_with_key(key, r.report_id, item_id)
    return b"".join(chunks)


def texts(entries: list) -> list[str]:  # type: ignore[type-arg]
    return [e.body["text"] for e in entries]


def test_a_departed_caseworkers_copy_opens_nothing_written_after_rotation(
        ctx: NodeContext, team: Team) -> None:
    r = submit(ctx)
    rid = r.report_id
    ctx.case_access.assign(team.coordinator, rid, team.caseworker.member.id)
    ctx.case_access.assign(team.coordinator, rid, team.other_caseworker.member.id)
    ctx.timeline.add_note(team.caseworker, rid, "note before")
    ctx.conversations.send(team.caseworker, rid, "message before")
    old_file = add_file(ctx, r, "before2.png")
    coded = ctx.incidents.code(team.caseworker, rid, IncidentCoding(category="rape"))
    # what the caseworker may keep: the case key as their wrap opens it (generation 0)
    saved = ctx.case_access.case_key(team.caseworker, rid)
    assert saved.generation == 0
    saved_incident_key = saved.open_data_key(*ctx.db.read().execute(
        "SELECT wrapped_key, ? FROM incident_links WHERE incident_id = ?",
        (aead_context("incident-key", coded, rid), coded)).fetchone())

    ctx.case_access.unassign(team.coordinator, rid, team.caseworker.member.id)
    assert ctx.case_access.rotation_due(rid)
    assert case_keys.left_unrotated(ctx.db.read(), team.caseworker.member.id) == [rid]
    assert ctx.case_access.rotate_key(team.coordinator, rid) == 1
    assert not ctx.case_access.rotation_due(rid)
    assert case_keys.left_unrotated(ctx.db.read(), team.caseworker.member.id) == []
    entry = ctx.db.read().execute(
        "SELECT actor, detail FROM audit_log WHERE action = 'case.rotate_key'"
        " AND object_id = ?", (rid,)).fetchone()
    assert entry[0] == team.coordinator.member.id and entry[1].startswith("generation=1 ")

    # written after the rotation, by staff and by the reporter
    ctx.timeline.add_note(team.other_caseworker, rid, "note after")
    ctx.conversations.send(team.other_caseworker, rid, "message after")
    access = ctx.intake.open_receipt(r.code, r.secret)
    assert access.data_key.generation == 1  # sealed to the reporter's receipt key
    ctx.conversations.reply(rid, access.data_key, "reply after")
    new_file = add_file(ctx, r, "after.png")
    incident = ctx.incidents.code(team.coordinator, rid, IncidentCoding(category="rape"))
    ctx.incidents.code(team.coordinator, rid, IncidentCoding(category="sexual_slavery"),
                       incident_id=coded)  # an edit, after, of a coding made before

    # the departed copy: what was there before still opens (they had it), nothing after
    with pytest.raises(DecryptionError):
        ctx.timeline.notes(rid, saved)
    with pytest.raises(DecryptionError):
        ctx.conversations.of_case(rid, saved)
    note_after = ctx.db.read().execute(
        "SELECT body_ct FROM case_notes WHERE report_id = ? ORDER BY at DESC, rowid DESC",
        (rid,)).fetchone()[0]
    assert not saved.holds(note_after)
    for table, before, after in (("case_notes", 1, 1), ("messages", 1, 2)):
        held = [saved.holds(b[0]) for b in ctx.db.read().execute(
            f"SELECT body_ct FROM {table} WHERE report_id = ?", (rid,))]
        assert (held.count(True), held.count(False)) == (before, after)
    assert read_file(ctx, saved, r, old_file).endswith(CANARY.encode())
    with pytest.raises(DecryptionError):
        read_file(ctx, saved, r, new_file)
    wrapped = ctx.db.read().execute(
        "SELECT wrapped_key FROM incident_links WHERE incident_id = ?", (incident,)).fetchone()[0]
    assert not saved.holds(wrapped)
    with pytest.raises(DecryptionError):
        ctx.incidents.of_case(rid, saved)
    # the incident coded before got a new key at the rotation: the old one, which the
    # departed person could open, opens neither the edit nor the history
    for (blob,) in ctx.db.read().execute(
            "SELECT coding_ct FROM incidents WHERE id = ?1 UNION ALL"
            " SELECT entry_ct FROM incident_history WHERE incident_id = ?1", (coded,)):
        assert not saved_incident_key.holds(blob)
    # even with the generation table in hand: generation 0 opens no newer generation
    for (wrap,) in ctx.db.read().execute(
            "SELECT previous_wrap FROM case_key_generations WHERE report_id = ?", (rid,)):
        assert not saved.holds(wrap)

    # the remaining caseworker, a coordinator (intake key) and the reporter read it all
    for key in (ctx.case_access.case_key(team.other_caseworker, rid),
                ctx.case_access.case_key(team.coordinator, rid)):
        assert key.generation == 1
        assert texts(ctx.timeline.notes(rid, key)) == ["note before", "note after"]
        assert texts(ctx.conversations.of_case(rid, key)) == [
            "message before", "message after", "reply after"]
        assert read_file(ctx, key, r, old_file).endswith(CANARY.encode())
        assert read_file(ctx, key, r, new_file).endswith(CANARY.encode())
        assert sorted(i.coding.category for i in ctx.incidents.of_case(rid, key)) == [
            "rape", "sexual_slavery"]
    access = ctx.intake.open_receipt(r.code, r.secret)
    assert texts(ctx.conversations.for_reporter(rid, access.data_key)) == [
        "message before", "message after", "reply after"]
    view = ctx.intake.view_for_reporter(access)
    assert str(view.record["narrative"]).startswith(CANARY)
    assert len([i for i in view.items if i.kind == "attachment"]) == 3

    # assigned again later, they get the newest generation
    ctx.case_access.assign(team.coordinator, rid, team.caseworker.member.id)
    assert ctx.case_access.case_key(team.caseworker, rid).generation == 1


def test_a_second_rotation_keeps_every_generation_readable(ctx: NodeContext,
                                                           team: Team) -> None:
    r = submit(ctx)
    rid = r.report_id
    ctx.case_access.assign(team.coordinator, rid, team.other_caseworker.member.id)
    notes = []
    for n in range(3):
        notes.append(f"note {n}")
        ctx.timeline.add_note(team.other_caseworker, rid, notes[-1])
        if n < 2:
            ctx.case_access.rotate_key(team.coordinator, rid)
    key = ctx.case_access.case_key(team.other_caseworker, rid)
    assert key.generation == 2
    assert texts(ctx.timeline.notes(rid, key)) == notes
    assert ctx.case_access.case_key(team.coordinator, rid) == key
    access = ctx.intake.open_receipt(r.code, r.secret)
    assert access.data_key.generation == 2
    # a missing generation fails closed, it does not hand out a shorter key
    with ctx.db.write() as w:
        w.execute("DELETE FROM case_key_generations WHERE report_id = ? AND generation = 1",
                  (rid,))
    with pytest.raises(DecryptionError):
        ctx.case_access.case_key(team.other_caseworker, rid)


def test_a_reporter_whose_key_was_unknown_reads_staff_messages_after_their_visit(
        ctx: NodeContext, team: Team) -> None:
    """A report made before the reporter's key existed (as after the upgrade): rotated
    before their next visit, they read the new generation once staff write again."""
    r = submit(ctx)
    rid = r.report_id
    with ctx.db.write() as w:  # as a report of schema 29 is
        w.execute("UPDATE reports SET reporter_public = NULL WHERE id = ?", (rid,))
        w.execute("DELETE FROM key_certificates WHERE subject = ?",
                  (case_keys.reporter_subject(rid),))
    ctx.conversations.send(team.coordinator, rid, "before")
    ctx.case_access.rotate_key(team.coordinator, rid)
    ctx.conversations.send(team.coordinator, rid, "sealed to nobody yet")
    access = ctx.intake.open_receipt(r.code, r.secret)  # the visit stores their key
    assert access.data_key.generation == 0
    assert texts(ctx.conversations.for_reporter(rid, access.data_key)) == ["before"]
    ctx.conversations.reply(rid, access.data_key, "still writes")
    ctx.conversations.send(team.coordinator, rid, "after the visit")
    access = ctx.intake.open_receipt(r.code, r.secret)
    assert access.data_key.generation == 1
    assert texts(ctx.conversations.for_reporter(rid, access.data_key)) == [
        "before", "sealed to nobody yet", "still writes", "after the visit"]


def test_a_swapped_reporter_key_or_seal_gives_nothing_away(ctx: NodeContext,
                                                          team: Team) -> None:
    """A database writer who puts their own public key in place of the reporter's gets no
    generation sealed to it (its certificate fails); one who seals a key of their own to
    the reporter does not make the reporter write under it."""
    r = submit(ctx)
    rid = r.report_id
    attacker = BoxSecretKey.generate()
    with ctx.db.write() as w:
        w.execute("UPDATE reports SET reporter_public = ? WHERE id = ?",
                  (attacker.public_key.raw(), rid))
    ctx.case_access.rotate_key(team.coordinator, rid)
    assert ctx.db.read().execute("SELECT reporter_sealed FROM reports WHERE id = ?",
                                 (rid,)).fetchone()[0] is None
    access = ctx.intake.open_receipt(r.code, r.secret)  # puts back the real key
    mine = DataKey.generate()
    with ctx.db.write() as w:
        w.execute("UPDATE reports SET reporter_sealed = ? WHERE id = ?",
                  (access_public(ctx, rid).seal_generation(1, mine), rid))
    access = ctx.intake.open_receipt(r.code, r.secret)
    assert access.data_key.generation == 0 and access.data_key != mine


def access_public(ctx: NodeContext, rid: str) -> BoxPublicKey:
    return BoxPublicKey(bytes(ctx.db.read().execute(
        "SELECT reporter_public FROM reports WHERE id = ?", (rid,)).fetchone()[0]))


def test_rotating_needs_the_assign_role_and_a_certified_holder(ctx: NodeContext,
                                                               team: Team) -> None:
    r = submit(ctx)
    rid = r.report_id
    ctx.case_access.assign(team.coordinator, rid, team.caseworker.member.id)
    with pytest.raises(errors.Forbidden):
        ctx.case_access.rotate_key(team.caseworker, rid)
    ctx.case_access.assign(team.coordinator, rid, team.other_caseworker.member.id)
    with ctx.db.write() as w:  # swap a holder's public key: refuse, disable the account
        w.execute("UPDATE staff SET box_public_key = ? WHERE id = ?",
                  (BoxSecretKey.generate().public_key.raw(), team.other_caseworker.member.id))
    with pytest.raises(KeyNotAuthentic):
        ctx.case_access.rotate_key(team.coordinator, rid)
    assert case_keys.newest_generation(ctx.db.read(), rid) == 0
    assert ctx.db.read().execute("SELECT disabled FROM staff WHERE id = ?",
                                 (team.other_caseworker.member.id,)).fetchone()[0] == 1


def test_disabling_offers_to_rotate_every_case_the_person_held(ctx: NodeContext,
                                                              team: Team) -> None:
    reports = [submit(ctx).report_id for _ in range(2)]
    for rid in reports:
        ctx.case_access.assign(team.coordinator, rid, team.caseworker.member.id)
    accounts.set_disabled(ctx.db, ctx.audit, team.root.member.id, team.caseworker.member.id,
                          True, 0)
    assert sorted(case_keys.left_unrotated(ctx.db.read(), team.caseworker.member.id)
                  ) == sorted(reports)
    with pytest.raises(errors.Forbidden):  # an admin who cannot assign cannot rotate
        ctx.case_access.rotate_after_departure(team.admin, team.caseworker.member.id)
    assert sorted(ctx.case_access.rotate_after_departure(
        team.coordinator, team.caseworker.member.id)) == sorted(reports)
    assert [case_keys.newest_generation(ctx.db.read(), rid) for rid in reports] == [1, 1]
    assert case_keys.left_unrotated(ctx.db.read(), team.caseworker.member.id) == []


@settings(max_examples=40, deadline=None)
@given(generation=st.integers(0, 2**32 - 1), flip=st.integers(0, 8 * (48 + 4 + 32) - 1))
def test_a_reporter_seal_with_a_flipped_bit_does_not_open(generation: int, flip: int) -> None:
    box = BoxSecretKey.generate()
    key = DataKey.generate()
    sealed = box.public_key.seal_generation(generation, key)
    assert box.open_generation(sealed) == (generation, key)
    bad = bytearray(sealed)
    bad[flip // 8] ^= 1 << (flip % 8)
    with pytest.raises(DecryptionError):
        box.open_generation(bytes(bad))


@settings(max_examples=40, deadline=None)
@given(flip=st.integers(0, 8 * (1 + 24 + 32 + 32 + 16) - 1))
def test_a_generation_wrap_with_a_flipped_bit_does_not_open(flip: int) -> None:
    older, newer = DataKey.generate(), DataKey.generate()
    wrap = newer.wrap_data_key(older, case_keys.previous_context("r", 1))
    assert newer.open_data_key(wrap, case_keys.previous_context("r", 1)) == older
    with pytest.raises(DecryptionError):  # bound to its report and generation
        newer.open_data_key(wrap, case_keys.previous_context("r", 2))
    bad = bytearray(wrap)
    bad[flip // 8] ^= 1 << (flip % 8)
    with pytest.raises(DecryptionError):
        CaseKey([older, newer]).open_data_key(bytes(bad), case_keys.previous_context("r", 1))
