"""Append-only without triggers (docs/operations.md, "Append-only, twice
over"; docs/scale-out.md).

A role with exactly the runner's rights (the SQL block of docs/operations.md)
settles and supersedes, and then can neither change nor delete a posted
ledger line or run record, nor truncate, nor set a superseded run back to
committed, nor insert a run that is not committed. Checked twice: with the
owner's append-only triggers in place (plain PostgreSQL), and with every
trigger dropped, which is how a schema that Citus distributes stands (Citus
runs no triggers on distributed tables): the privileges and the row-level
security policies of runs must hold on their own, and the engine's
supersede must still work for the runner. The same checks run on a real
Citus cluster in scripts/test-citus.sh.
"""
import os
import sys
import uuid

import psycopg2

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from harness import Runner, TestDB  # noqa: E402
import test_privilege as priv  # noqa: E402

CONFIG = ("version: 1\ncooperative: Append eG\ncurrency: EUR\ncurrencies: {EUR: 2}\n"
          "timezone: UTC\nfees:\n  - id: all\n    rate: 5%\n")

TABLES = ["runs", "ledger_lines", "party_totals", "currency_totals", "settlement_rejects",
          "distribution_steps", "member_allocations", "run_input_chunks", "run_memberships",
          "run_capital", "run_costs"]


def as_role(db, role, sql):
    """Runs sql as role: (rowcount, None) or (None, SQLSTATE)."""
    conn = psycopg2.connect(dbname=db.name, user=role)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return cur.rowcount, None
    except psycopg2.Error as e:
        return None, e.pgcode
    finally:
        conn.close()


def refused(t, db, role, sql, what):
    n, code = as_role(db, role, sql)
    t.check(code == "42501", "the runner may not %s: rowcount %r, SQLSTATE %r" % (what, n, code))


def no_effect(t, db, role, sql, what):
    """The row-level security of runs hides the rows: the UPDATE changes none."""
    n, code = as_role(db, role, sql)
    t.check(code == "42501" or (code is None and n == 0),
            "the runner may not %s: rowcount %r, SQLSTATE %r" % (what, n, code))


def case(t, db, role, triggers):
    label = "with triggers" if triggers else "without triggers"
    if not triggers:
        for table in TABLES:
            db.sql("DROP TRIGGER append_only ON coopsettle.%s" % table)
            db.sql("DROP TRIGGER append_only_truncate ON coopsettle.%s" % table)
    t.eq(db.sql("SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
                " JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = 'coopsettle' AND NOT t.tgisinternal")[0][0],
         2 * len(TABLES) if triggers else 0, label + ": the triggers")
    db.add_transactions([(1, "2026-11-02 10:00:00+00", 1, None, 1000, "EUR", "x"),
                         (2, "2026-11-02 11:00:00+00", 2, None, 3000, "EUR", "x")])
    path = db.write_config(CONFIG)
    settle = ["settle", "--config", path, "--period", "2026-11-02", "--json"]
    r = priv.run_as(db, role, *settle)
    t.check(r.code == 0 and r.json()["run_id"] == 1, label + ": settle as the runner: %r" % r)
    db.sql("UPDATE coopsettle.transactions SET amount_minor = 2000 WHERE id = 1")
    r = priv.run_as(db, role, *(settle + ["--supersede", "--reason", "amount corrected"]))
    t.check(r.code == 0 and r.json()["status"] == "committed" and r.json()["run_id"] == 2,
            label + ": supersede as the runner: %r" % r)
    t.eq(db.sql("SELECT id, status, supersedes FROM coopsettle.runs ORDER BY id"),
         [(1, "superseded", None), (2, "committed", 1)], label + ": the runs")
    # 5% of 2000 + 3000 = 250, posted; the 200 of run 1 reversed
    t.eq(db.sql("SELECT run_id, entry, sum(amount_minor) FROM coopsettle.ledger_lines"
                " WHERE account = 'income:fees' GROUP BY 1, 2 ORDER BY 1, 2"),
         [(1, "post", -200), (2, "post", -250), (2, "reversal", 200)],
         label + ": fee income posted and reversed")
    before = db.sql("SELECT * FROM coopsettle.ledger_lines ORDER BY run_id, entry, journal,"
                    " line_no")

    refused(t, db, role, "UPDATE coopsettle.ledger_lines SET amount_minor = 0",
            label + ": change a posted line")
    refused(t, db, role, "UPDATE coopsettle.ledger_lines SET account = 'x' WHERE run_id = 2",
            label + ": re-book a posted line")
    refused(t, db, role, "DELETE FROM coopsettle.ledger_lines WHERE run_id = 2",
            label + ": delete a posted line")
    refused(t, db, role, "TRUNCATE coopsettle.ledger_lines", label + ": truncate the ledger")
    no_effect(t, db, role, "UPDATE coopsettle.runs SET status = 'committed' WHERE id = 1",
              label + ": set a superseded run back to committed")
    no_effect(t, db, role, "UPDATE coopsettle.runs SET status = 'superseded'"
              " WHERE status = 'superseded'", label + ": touch a superseded run")
    refused(t, db, role, "UPDATE coopsettle.runs SET status = 'committed' WHERE id = 2",
            label + ": update a committed run to anything but superseded")
    refused(t, db, role, "UPDATE coopsettle.runs SET reason = 'x' WHERE id = 2",
            label + ": change another column of a run")
    refused(t, db, role, "DELETE FROM coopsettle.runs WHERE id = 2", label + ": delete a run")
    refused(t, db, role, "TRUNCATE coopsettle.runs", label + ": truncate the runs")
    refused(t, db, role, "INSERT INTO coopsettle.runs SELECT * FROM coopsettle.runs WHERE id = 1",
            label + ": insert a superseded run (a copy of run 1)")
    refused(t, db, role, "UPDATE coopsettle.party_totals SET fees_minor = 0",
            label + ": change totals")
    refused(t, db, role, "DELETE FROM coopsettle.run_input_chunks",
            label + ": delete an input snapshot")
    t.eq(db.sql("SELECT id, status FROM coopsettle.runs ORDER BY id"),
         [(1, "superseded"), (2, "committed")], label + ": runs unchanged")
    t.eq(db.sql("SELECT * FROM coopsettle.ledger_lines ORDER BY run_id, entry, journal,"
                " line_no"), before, label + ": ledger unchanged")
    r = db.run("verify", "--chain")
    t.eq(r.code, 0, label + ": verify --chain: %r" % r)
    r = db.run("verify", "--run", "2")
    t.eq(r.code, 0, label + ": verify --run 2: %r" % r)


def main():
    t = Runner()
    dbs, roles = [], []
    try:
        for triggers in (True, False):
            db = TestDB()
            role = "cs_runner_" + uuid.uuid4().hex[:10]
            dbs.append(db)
            roles.append(role)
            db.sql(priv.grant_sql(role, db.name))
            t.case(lambda t_, d=db, r=role, tr=triggers: case(t_, d, r, tr))
    finally:
        for db in dbs:
            db.drop()
        admin = psycopg2.connect(dbname="postgres")
        admin.autocommit = True
        with admin.cursor() as cur:
            for role in roles:
                cur.execute('DROP ROLE IF EXISTS "%s"' % role)
        admin.close()
    t.finish()


if __name__ == "__main__":
    main()
