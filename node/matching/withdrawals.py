"""Withdrawing a case's tokens from the observatory (issue 18): when its report is deleted,
when staff take back a confirmation, or when the reporter withdraws consent to matching.

The case's reference goes to ``matching_withdrawals`` (without the report's id), to be sent
first in the next `TokenSubmission`; the tokens still wanted are marked unsent, so that they
go again after it under the same reference.
"""

from __future__ import annotations

import sqlite3


def withdraw_case(conn: sqlite3.Connection, report_id: str) -> None:
    conn.execute("INSERT OR IGNORE INTO matching_withdrawals (case_ref)"
                 " SELECT DISTINCT case_ref FROM matching_tokens WHERE report_id = ?"
                 " AND submitted_at IS NOT NULL", (report_id,))
    conn.execute("UPDATE matching_tokens SET submitted_at = NULL WHERE report_id = ?",
                 (report_id,))
