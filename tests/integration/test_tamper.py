"""Every stored field is covered by a check (issue 15, item 2;
docs/auditing.md, "What each check covers").

A database with a settle run that quarantines a row, a settle run that
supersedes another (reversal lines), the settle runs of a month and a
distribute run over it (steps, member allocations with capital interest,
cash and retained refunds). Then, one at a time, every column of every
table the engine writes -- and every field of the run record -- is edited
the way someone with database access would edit it (the append-only
trigger bypassed with session_replication_role = replica), on one row of
each run that has rows there; `verify --run` of that row's run, or
`verify --chain`, must then exit 5. The edit is undone before the next.
The only columns allowed to go unnoticed are those docs/auditing.md lists,
each with the reason it needs no check; the test reads that list from the
doc, and fails when a listed column is in fact caught (the list must stay
exact) or when the schema has a column the test does not know.

Also: a member_allocations row that carries only a patronage basis, and a
row added to each table (an orphan or an extra row of a run).
"""
import os
import re
import sys

import psycopg2

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from harness import Runner, TestDB  # noqa: E402

CONFIG = {
    "version": 1,
    "cooperative": "Tamper eG",
    "currency": "EUR",
    "currencies": {"EUR": 2, "CHF": 2},
    "timezone": "Europe/Berlin",
    "on_invalid": "quarantine",
    "fees": [
        {"id": "guests", "when": {"consumer_member": False}, "rate": "9%",
         "borne_by": {"producer": "2/3", "consumer": "1/3"}},
        {"id": "standard", "rate": "8%", "fixed": "0.10",
         "borne_by": {"producer": "1/2", "consumer": "1/2"}},
    ],
    "surplus": {
        "costs": {"amount": {"EUR": "1.00", "CHF": "0.10"}},
        "steps": [
            {"id": "legal", "type": "account", "share": "10%", "account": "equity:reserves:legal"},
            {"id": "interest", "type": "capital_interest", "rate": "3%", "cap_share": "20%"},
            {"id": "refund", "type": "patronage", "share": "remaining",
             "classes": {"producer": "60%", "consumer": "40%"}, "cash_fraction": "20%"},
        ],
    },
}
MEMBERS = [
    (1, "producer", "2020-01-01", None, 100000),
    (2, "producer", "2026-11-16", None, 50000),
    (10, "consumer", "2020-01-01", None, 0),
    (11, "consumer", "2020-01-01", None, 0),
]
ROWS = [
    (1, "2026-11-03 10:00:00+01", 1, 10, 100000, "EUR", "crafts"),
    (2, "2026-11-17 10:00:00+01", 2, 11, 60000, "EUR", "crafts"),
    (3, "2026-11-20 10:00:00+01", 1, None, 40000, "EUR", "food"),
    (4, "2026-11-25 10:00:00+01", 2, 11, -8000, "EUR", "crafts"),
    (5, "2026-11-26 10:00:00+01", 1, 11, 12345, "CHF", "crafts"),
    (6, "2026-11-27 10:00:00+01", 1, 10, 777, "USD", "crafts"),  # quarantined
]

# Config version 2 (time-true records): memberships over time, a member of
# both classes, capital movements, costs from a relation -- so that the
# snapshot tables and the version 2 columns hold rows to edit.
CONFIG_V2 = dict(CONFIG, version=2)
CONFIG_V2["surplus"] = dict(CONFIG["surplus"], costs={"relation": "coopsettle.operating_costs"})
MEMBERSHIPS_V2 = [
    (1, "producer", "2020-01-01", None, None),
    (2, "producer", "2026-11-16", None, None),
    (2, "consumer", "2020-01-01", "2026-11-10", None),
    (2, "consumer", "2026-11-20", None, None),
    (10, "consumer", "2020-01-01", None, None),
    (11, "consumer", "2020-01-01", None, None),
]
CAPITAL_V2 = [(1, "2025-01-01", 100000), (1, "2026-11-15", -20000), (2, "2026-11-16", 50000)]
COSTS_V2 = [("2026-11-05", "EUR", 50), ("2026-11-20", "CHF", 7)]

# The tables the engine writes, and the columns that name a row's run.
TABLES = {
    "runs": "id",
    "ledger_lines": "run_id",
    "party_totals": "run_id",
    "currency_totals": "run_id",
    "settlement_rejects": "run_id",
    "distribution_steps": "run_id",
    "member_allocations": "run_id",
    "run_input_chunks": "run_id",
    "run_memberships": "run_id",
    "run_capital": "run_id",
    "run_costs": "run_id",
}
# Columns whose edit swaps between the values a CHECK allows.
SWAPS = {
    ("runs", "kind"): ("settle", "distribute"),
    ("runs", "status"): ("committed", "superseded"),
    ("ledger_lines", "entry"): ("post", "reversal"),
    ("party_totals", "side"): ("producer", "consumer"),
    ("run_memberships", "class"): ("producer", "consumer"),
}


def setup(db, v2=False):
    if v2:
        db.add_members(MEMBERSHIPS_V2)
        for row in CAPITAL_V2:
            db.sql("INSERT INTO coopsettle.capital_movements VALUES (%s, %s, %s)", row)
        for row in COSTS_V2:
            db.sql("INSERT INTO coopsettle.operating_costs VALUES (%s, %s, %s)", row)
    else:
        db.add_members(MEMBERS)
    db.add_transactions(ROWS)
    path = db.write_config(CONFIG_V2 if v2 else CONFIG)
    # run 1: November 3 alone, then superseded by run 2 after a correction
    for day in range(1, 31):
        r = db.run("settle", "--config", path, "--period", "2026-11-%02d" % day)
        assert r.code == 0, r
    db.sql("UPDATE coopsettle.transactions SET amount_minor = 100100 WHERE id = 1")
    r = db.run("settle", "--config", path, "--period", "2026-11-03", "--supersede", "--reason", "test correction")
    assert r.code == 0, r
    r = db.run("distribute", "--config", path, "--period", "2026-11")
    assert r.code == 0, r
    return path


def exceptions_from_docs():
    """The `table.column` names listed in docs/auditing.md's table of
    columns no check covers."""
    root = os.environ.get("CS_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
    with open(os.path.join(root, "docs", "auditing.md"), encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"### Fields no check covers\n(.*?)(\n#|\Z)", text, re.S)
    assert m, "docs/auditing.md has no section 'Fields no check covers'"
    return set(re.findall(r"^\| `(\w+\.\w+)` \|", m.group(1), re.M))


def columns(db, table):
    return db.sql("SELECT column_name, data_type FROM information_schema.columns"
                  " WHERE table_schema = 'coopsettle' AND table_name = %s"
                  " ORDER BY ordinal_position", (table,))


def edited(table, col, dtype):
    """SQL for the edited value of col (its old value is `col`)."""
    q = '"%s"' % col
    if (table, col) in SWAPS:
        a, b = SWAPS[(table, col)]
        return "CASE WHEN %s = '%s' THEN '%s' ELSE '%s' END" % (q, a, b, a)
    if col == "currency":
        return "'JPY'"  # configured by no run, so no key of another row
    if dtype in ("bigint", "integer", "numeric"):
        # far enough not to meet another row's key
        return "COALESCE(%s, 0) + 1000003" % q
    if dtype == "text":
        return "COALESCE(%s, '') || 'x'" % q
    if dtype == "boolean":
        return "COALESCE(NOT %s, true)" % q
    if dtype == "timestamp with time zone":
        return "%s + interval '1 second'" % q
    if dtype == "date":
        return "COALESCE(%s, DATE '2000-01-01') + 1" % q
    if dtype == "ARRAY":
        return None  # per element type, below
    raise AssertionError("unknown type %s of %s.%s" % (dtype, table, col))


def array_edit(db, table, col):
    et = db.sql("SELECT e.data_type FROM information_schema.columns c JOIN"
                " information_schema.element_types e ON (c.table_catalog, c.table_schema,"
                " c.table_name, 'TABLE', c.dtd_identifier) = (e.object_catalog,"
                " e.object_schema, e.object_name, e.object_type, e.collection_type_identifier)"
                " WHERE c.table_schema = 'coopsettle' AND c.table_name = %s"
                " AND c.column_name = %s", (table, col))[0][0]
    q = '"%s"' % col
    first = {"bigint": "%s[1] + 1", "text": "%s[1] || 'x'", "boolean": "NOT %s[1]"}[et] % q
    return "ARRAY[%s] || %s[2:]" % (first, q)


def verify_catches(db, run_id, by_run=True):
    """Which verify notices the edit: 'run', 'chain', or None. by_run 0: the
    row's run does not verify untouched (a superseded run, whose inputs
    changed): only the chain is asked."""
    if by_run and run_id is not None and db.run("verify", "--run", str(run_id)).code == 5:
        return "run"
    if db.run("verify", "--chain").code == 5:
        return "chain"
    return None


def as_replica(db, sql, params=None):
    with db.conn.cursor() as cur:
        cur.execute("SET session_replication_role = replica")
        try:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else None
        finally:
            cur.execute("SET session_replication_role = DEFAULT")


def tamper_columns(t, db, runs_of_table, chain_only):
    listed = exceptions_from_docs()
    missed = set()
    for table, run_col in TABLES.items():
        for col, dtype in columns(db, table):
            name = "%s.%s" % (table, col)
            value = edited(table, col, dtype) if dtype != "ARRAY" else array_edit(db, table, col)
            caught_all = True
            for run_id in runs_of_table[table]:
                rows = as_replica(db, 'UPDATE coopsettle.%s SET "%s" = %s WHERE ctid = (SELECT'
                                  ' ctid FROM coopsettle.%s WHERE "%s" = %%s ORDER BY ctid'
                                  ' LIMIT 1) RETURNING ctid, (SELECT "%s"::text FROM'
                                  ' coopsettle.%s WHERE "%s" = %%s ORDER BY ctid LIMIT 1)'
                                  % (table, col, value, table, run_col, col, table, run_col),
                                  (run_id, run_id))
                if not rows:
                    continue
                ctid, old = rows[0]
                who = verify_catches(db, run_id, run_id not in chain_only)
                as_replica(db, 'UPDATE coopsettle.%s SET "%s" = %%s WHERE ctid = %%s'
                           % (table, col), (old, ctid))
                if who is None:
                    caught_all = False
                    if name not in listed:
                        t.check(False, "an edit of %s in a row of run %s goes unnoticed"
                                % (name, run_id))
            if not caught_all:
                missed.add(name)
            elif name in listed:
                t.check(False, "%s is listed in docs/auditing.md as unchecked, but every edit "
                               "of it is caught: take it off the list" % name)
            else:
                t.check(True, name)
    t.check(db.run("verify", "--chain").code == 0, "every edit was undone")
    for name in listed - missed:
        t.check("." in name, name)


def added_rows(t, db, dist_run, settle_run):
    """A row that carries only a patronage basis, and an extra row in each
    table of a run."""
    as_replica(db, "INSERT INTO coopsettle.member_allocations VALUES (%s, 999, 'EUR', 0, 0, 0,"
               " 0, 100000)", (dist_run,))
    t.eq(verify_catches(db, dist_run), "run", "a member_allocations row with only a basis")
    as_replica(db, "DELETE FROM coopsettle.member_allocations WHERE member_id = 999")
    extra = {
        "ledger_lines": "INSERT INTO coopsettle.ledger_lines VALUES (%s, 'post', 99, 1, NULL,"
                        " NULL, 'assets:x', NULL, 'EUR', 0)",
        "party_totals": "INSERT INTO coopsettle.party_totals VALUES (%s, 999, 'producer', 'EUR',"
                        " 0, 0, 0)",
        "currency_totals": "INSERT INTO coopsettle.currency_totals VALUES (%s, 'USD', 0, 0, 0,"
                           " 0, 0)",
        "settlement_rejects": "INSERT INTO coopsettle.settlement_rejects VALUES (%s, 99, NULL,"
                              " 'x')",
    }
    for table, sql in extra.items():
        as_replica(db, sql, (settle_run,))
        t.check(verify_catches(db, settle_run) is not None, "an extra row in %s" % table)
        as_replica(db, "DELETE FROM coopsettle.%s WHERE run_id = %%s AND ctid = (SELECT max(ctid)"
                   " FROM coopsettle.%s WHERE run_id = %%s)" % (table, table),
                   (settle_run, settle_run))
    as_replica(db, "INSERT INTO coopsettle.distribution_steps VALUES (%s, 'EUR', 99, 'x', 0)",
               (dist_run,))
    t.check(verify_catches(db, dist_run) is not None, "an extra row in distribution_steps")
    as_replica(db, "DELETE FROM coopsettle.distribution_steps WHERE ordinal = 99")
    t.eq(db.run("verify", "--chain").code, 0, "the extra rows are gone")


def main(t, v2=False):
    db = TestDB()
    setup(db, v2)
    runs = db.sql("SELECT id, kind, status FROM coopsettle.runs ORDER BY id")
    dist_run = max(r[0] for r in runs if r[1] == "distribute")
    superseded = [r[0] for r in runs if r[2] == "superseded"][0]
    superseding = db.sql("SELECT id FROM coopsettle.runs WHERE supersedes = %s",
                         (superseded,))[0][0]
    quarantined = db.sql("SELECT DISTINCT run_id FROM coopsettle.settlement_rejects"
                         " ORDER BY 1 DESC LIMIT 1")[0][0]
    t.eq(db.run("verify", "--chain").code, 0, "the untouched chain verifies")
    for rid in (superseding, quarantined, dist_run):
        t.eq(db.run("verify", "--run", str(rid)).code, 0, "run %d verifies untouched" % rid)
    # the superseded run's input changed (that is why it was superseded)
    t.eq(db.run("verify", "--run", str(superseded)).code, 5, "run %d: its input changed"
         % superseded)
    settle_runs = [superseding, quarantined, superseded]
    runs_of_table = {
        "runs": [superseded, superseding, dist_run],
        "ledger_lines": [superseding, dist_run],
        "party_totals": [quarantined],
        "currency_totals": [quarantined],
        "settlement_rejects": [quarantined],
        "distribution_steps": [dist_run],
        "member_allocations": [dist_run],
        "run_input_chunks": [quarantined],
        "run_memberships": [superseding, dist_run],
        "run_capital": [dist_run],
        "run_costs": [dist_run],
    }
    known = set(TABLES)
    schema_tables = {r[0] for r in db.sql(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'coopsettle'"
        " AND table_type = 'BASE TABLE'")} - {"transactions", "members", "operating_costs",
                                              "capital_movements", "schema_version"}
    t.eq(schema_tables - known, set(), "every output table is in this test")
    tamper_columns(t, db, runs_of_table, {superseded})
    added_rows(t, db, dist_run, settle_runs[1])
    db.drop()


def main_v2(t):
    main(t, v2=True)


if __name__ == "__main__":
    t = Runner()
    t.case(main)
    t.case(main_v2)
    t.finish()
