"""`flask points verify`: does every stored number agree with the ledger?"""

from sqlalchemy import text

from baojing.extensions import db

# Each check returns offending rows; any row is an inconsistency.
CHECKS = {
    "negative balance": "SELECT member_id, balance FROM point_accounts WHERE balance < 0",
    # One pass over both tables (a FULL OUTER JOIN on a derived table is quadratic here).
    "stored balance differs from the ledger": """
        SELECT member_id, sum(stored), sum(ledger) FROM (
            SELECT member_id, balance AS stored, 0 AS ledger FROM point_accounts
            UNION ALL
            SELECT member_id, 0, points FROM point_entries
        ) AS both_sides GROUP BY member_id HAVING sum(stored) <> sum(ledger)
    """,
    "negative stock": "SELECT id, stock FROM catalog_items WHERE stock < 0",
    "session places out of range": """
        SELECT id, taken, capacity FROM item_sessions WHERE taken < 0 OR taken > capacity
    """,
    "redemption without exactly one matching debit": """
        SELECT r.id, r.points, count(e.id), sum(e.points)
        FROM redemptions r
        LEFT JOIN point_entries e ON e.redemption_id = r.id AND e.kind = 'redeem'
        GROUP BY r.id HAVING count(e.id) <> 1 OR sum(e.points) <> -r.points
    """,
    "session places differ from live redemptions": """
        SELECT s.id, s.taken, count(r.id)
        FROM item_sessions s
        LEFT JOIN redemptions r ON r.session_id = s.id AND NOT EXISTS (
            SELECT 1 FROM point_entries v WHERE v.redemption_id = r.id AND v.kind = 'reverse')
        GROUP BY s.id HAVING s.taken <> count(r.id)
    """,
    "reversal that does not mirror its entry": """
        SELECT v.id FROM point_entries v JOIN point_entries o ON o.id = v.reverses_id
        WHERE v.member_id <> o.member_id OR (o.points > 0) = (v.points > 0)
           OR abs(v.points) > abs(o.points)
    """,
}


def problems(conn=None) -> list[str]:
    """Human-readable inconsistencies; empty when the ledger verifies.

    conn: another database to check (a backup being verified); the app's by default.
    """
    found = []
    conn = conn if conn is not None else db.session.connection()
    for label, sql in CHECKS.items():
        rows = conn.execute(text(sql)).fetchall()
        found.extend(f"{label}: {tuple(row)}" for row in rows[:20])
        if len(rows) > 20:
            found.append(f"{label}: … {len(rows) - 20} more")
    return found
