"""verify --run N and verify --chain (spec section 7, docs/auditing.md).

Untouched runs verify; then each kind of tampering is made the way an
attacker with database access would make it, and must be detected and
named: an input transaction changed, added or removed; a ledger line changed
with the append-only trigger bypassed (session_replication_role = replica);
a run record changed or deleted the same way; a member allocation changed;
a settle run superseded under a distribute run.
"""
import os
import subprocess
import sys

import psycopg2

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import harness  # noqa: E402
from harness import Runner, TestDB  # noqa: E402

CONFIG = {
    "version": 1,
    "cooperative": "Audit Test eG",
    "currency": "EUR",
    "currencies": {"EUR": 2, "CHF": 2},
    "timezone": "Europe/Berlin",
    "on_invalid": "quarantine",
    "fees": [
        {"id": "guest-buyers", "when": {"consumer_member": False}, "rate": "9%",
         "min": "0.50", "borne_by": {"producer": "2/3", "consumer": "1/3"}},
        {"id": "standard", "tiers": [{"up_to": "100.00", "rate": "8%"}, {"rate": "5%"}],
         "fixed": "0.10", "borne_by": {"producer": "1/2", "consumer": "1/2"}},
    ],
    "surplus": {
        "costs": {"amount": {"EUR": "1.00", "CHF": "0.10"}},
        "steps": [
            {"id": "legal-reserve", "type": "account", "share": "10%",
             "account": "equity:reserves:legal"},
            {"id": "capital-interest", "type": "capital_interest", "rate": "3%",
             "cap_share": "20%"},
            {"id": "patronage-refund", "type": "patronage", "share": "remaining",
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
    (7, "2026-12-02 10:00:00+01", 1, 10, 5000, "EUR", "crafts"),
]


def setup():
    """Runs 1 (settle Nov), 2 (settle Dec), 3 (distribute Nov)."""
    db = TestDB()
    db.add_members(MEMBERS)
    db.add_transactions(ROWS)
    path = db.write_config(CONFIG)
    for args in (("settle", "--period", "2026-11"), ("settle", "--period", "2026-12", "--allow-open"),
                 ("distribute", "--period", "2026-11")):
        r = db.run(args[0], "--config", path, *args[1:])
        assert r.code == 0, r
    return db, path


def tampered(db, sql, params=None):
    """Runs sql as superuser with the append-only trigger (and foreign keys)
    bypassed, as an attacker with database access could."""
    with db.conn.cursor() as cur:
        cur.execute("SET session_replication_role = replica")
        cur.execute(sql, params)
        cur.execute("SET session_replication_role = DEFAULT")


def mismatch_line(out, text):
    return any(line.strip().startswith("MISMATCH") and text in line for line in out.splitlines())


def clean(t):
    db, _ = setup()
    for run in (1, 2, 3):
        r = db.run("verify", "--run", str(run))
        t.eq(r.code, 0, "untouched run %d verifies: %r" % (run, r))
        t.check("run %d verifies" % run in r.stdout, "run %d: closing line" % run)
        t.check("MISMATCH" not in r.stdout, "run %d: no mismatch" % run)
    r = db.run("verify", "--chain")
    t.eq(r.code, 0, "untouched chain verifies: %r" % r)
    head = db.sql("SELECT record_sha256 FROM coopsettle.runs WHERE id = 3")[0][0]
    t.check("head is run 3, record_sha256 %s" % head in r.stdout, "chain names its head")
    # the input snapshot: one row per transaction read, with member flags
    snap = db.sql("SELECT transaction_id, amount_minor, producer_member, consumer_member"
                  " FROM coopsettle.run_inputs WHERE run_id = 1 ORDER BY ordinal")
    t.eq(snap, [(1, 100000, True, True), (2, 60000, True, True), (3, 40000, True, False),
                (4, -8000, True, True), (5, 12345, True, True), (6, 777, True, True)],
         "input snapshot of run 1")
    chunks = db.sql("SELECT run_id, first_ordinal, cardinality(transaction_id)"
                    " FROM coopsettle.run_input_chunks ORDER BY 1, 2")
    t.eq(chunks, [(1, 1, 6), (2, 1, 1)], "one chunk per small settle run")
    for stmt in ("UPDATE coopsettle.run_input_chunks SET amount_minor[1] = 1 WHERE run_id = 1",
                 "DELETE FROM coopsettle.run_input_chunks WHERE run_id = 1",
                 "TRUNCATE coopsettle.run_input_chunks"):
        try:
            db.sql(stmt)
            t.check(False, "run_input_chunks is append-only: %s" % stmt)
        except Exception as e:  # noqa: BLE001
            t.check("append-only" in str(e), "run_input_chunks refuses %s: %s" % (stmt, e))

    # an auditor's role that can only read (docs/auditing.md, step 3)
    role = "aud_" + db.name
    db.sql('CREATE ROLE "%s" LOGIN' % role)
    db.sql('GRANT USAGE ON SCHEMA coopsettle TO "%s"' % role)
    db.sql('GRANT SELECT ON ALL TABLES IN SCHEMA coopsettle TO "%s"' % role)
    conninfo = "dbname=%s user=%s" % (db.name, role)
    for args in (["verify", "--run", "1"], ["verify", "--run", "3"], ["verify", "--chain"],
                 ["export", "--run", "1", "--format", "csv"],
                 ["explain", "--run", "3", "--member", "1"]):
        p = subprocess.run(harness.command(None, conninfo, args), capture_output=True,
                           text=True, timeout=120)
        t.eq(p.returncode, 0, "read-only role: %s: %s" % (" ".join(args), p.stderr))
    db.drop()
    admin = psycopg2.connect(dbname="postgres")
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute('DROP ROLE "%s"' % role)
    admin.close()


def tamper_transaction(t):
    db, _ = setup()
    db.sql("UPDATE coopsettle.transactions SET amount_minor = 60500 WHERE id = 2")
    r = db.run("verify", "--run", "1")
    t.eq(r.code, 5, "changed transaction: exit 5 %r" % r)
    t.check(mismatch_line(r.stdout, "the input changed since the run"),
            "input hash mismatch reported: %s" % r.stdout)
    t.check("transaction 2: amount_minor 60000 -> 60500" in r.stdout,
            "the changed transaction and field are named: %s" % r.stdout)
    t.check("coopsettle: run 1 does not verify: the input changed since the run" in r.stderr,
            "stderr names the first failed check: %s" % r.stderr)
    t.check("ok        the run reproduces from its snapshots" in r.stdout,
            "the run itself reproduces from its snapshots: %s" % r.stdout)
    t.check("reproduces from its snapshots, but the inputs changed since" in r.stdout,
            "the verdict tells drift from a broken run: %s" % r.stdout)
    t.check(not mismatch_line(r.stdout, "hash to output_sha256"),
            "the stored rows themselves are intact")
    t.eq(db.run("verify", "--run", "2").code, 0, "the December run is untouched")
    t.eq(db.run("verify", "--chain").code, 0, "inputs are not part of the chain")

    # added, removed, and a party's membership changed
    db.add_transactions([(42, "2026-11-05 12:00:00+01", 2, 10, 1500, "EUR", "crafts")])
    db.sql("DELETE FROM coopsettle.transactions WHERE id = 3")
    db.sql("DELETE FROM coopsettle.members WHERE id = 10")
    r = db.run("verify", "--run", "1")
    t.eq(r.code, 5, "added/removed: exit 5")
    t.check("transactions added since the run (1)" in r.stdout and "transaction 42 (" in r.stdout,
            "the added transaction is named: %s" % r.stdout)
    t.check("transactions removed since the run (1)" in r.stdout and "transaction 3 (" in r.stdout,
            "the removed transaction is named")
    t.check("transaction 1: consumer_member true -> false" in r.stdout,
            "a membership change is named on the transactions it touches")
    db.drop()


def tamper_ledger_line(t):
    db, _ = setup()
    tampered(db, "UPDATE coopsettle.ledger_lines SET amount_minor = amount_minor + 1"
                 " WHERE run_id = 1 AND journal = 2 AND line_no = 1")
    r = db.run("verify", "--run", "1")
    t.eq(r.code, 5, "tampered ledger line: exit 5 %r" % r)
    t.check(mismatch_line(r.stdout, "stored ledger lines, totals or rejects were changed after the run"),
            "stored rows no longer hash to the output hash")
    # line 1 is g + f_c = 60000 + 1655 (fee 3310 split 1/2 : 1/2)
    t.check("journal 2 line 1 (assets:clearing, party 11, EUR): amount_minor stored 61656,"
            " recomputed 61655" in r.stdout, "the tampered line is named: %s" % r.stdout)
    t.check(mismatch_line(r.stdout, "do not sum to zero"), "the run no longer balances")
    t.check(not mismatch_line(r.stdout, "the input changed"), "the input is unchanged")
    r = db.run("verify", "--chain")
    t.eq(r.code, 5, "chain: exit 5")
    t.check("first bad run 1" in r.stderr, "chain names the first bad run: %s" % r.stderr)
    t.check("run 1: its post ledger lines in EUR sum to 1, not zero" in r.stdout,
            "chain says what is wrong: %s" % r.stdout)
    r = db.run("export", "--run", "1", "--format", "hledger")
    t.eq(r.code, 5, "export refuses an unbalanced journal")
    t.check("run 1's stored rows do not hash to its output_sha256" in r.stderr,
            "export says why: %s" % r.stderr)
    db.drop()

    # a balanced tamper: money moved between two lines of one journal keeps
    # every sum at zero; only the recomputation and the output hash see it
    db, _ = setup()
    tampered(db, "UPDATE coopsettle.ledger_lines SET amount_minor = amount_minor +"
                 " CASE line_no WHEN 2 THEN -100 ELSE 100 END"
                 " WHERE run_id = 1 AND journal = 1 AND line_no IN (2, 3)")
    t.eq(db.run("verify", "--chain").code, 0,
         "a balanced tamper keeps the chain checks (docs/auditing.md says so)")
    r = db.run("verify", "--run", "1")
    t.eq(r.code, 5, "balanced tamper: verify --run exit 5")
    t.check("journal 1 line 2 (liabilities:payable:producers, party 1, EUR): amount_minor"
            " stored -97445, recomputed -97345" in r.stdout, "both lines named: %s" % r.stdout)
    t.check("journal 1 line 3" in r.stdout, "second line named")
    db.drop()


def tamper_run_record(t):
    db, _ = setup()
    tampered(db, "UPDATE coopsettle.runs SET input_sha256 = repeat('0', 64) WHERE id = 2")
    r = db.run("verify", "--chain")
    t.eq(r.code, 5, "tampered record: chain exit 5 %r" % r)
    t.check("first bad run 2" in r.stderr, "chain names run 2: %s" % r.stderr)
    t.check("run 2: the record does not hash to its record_sha256" in r.stdout,
            "chain says the record was changed")
    r = db.run("verify", "--run", "2")
    t.eq(r.code, 5, "verify --run 2 exit 5")
    t.check(mismatch_line(r.stdout, "the run record does not hash to record_sha256"), "record mismatch")
    t.check(mismatch_line(r.stdout, "the input changed since the run"),
            "the edited input hash no longer matches the recomputation")
    t.eq(db.run("verify", "--run", "1").code, 0, "run 1 is untouched")
    db.drop()

    # a run record deleted (with its rows): the next record's link breaks
    db, _ = setup()
    for table in ("ledger_lines", "party_totals", "currency_totals", "settlement_rejects",
                  "run_input_chunks", "runs"):
        tampered(db, "DELETE FROM coopsettle.%s WHERE %s = 2"
                 % (table, "id" if table == "runs" else "run_id"))
    r = db.run("verify", "--chain")
    t.eq(r.code, 5, "deleted record: chain exit 5")
    t.check("first bad run 3" in r.stderr, "chain names the run after the gap: %s" % r.stderr)
    t.check("is not the record_sha256 of run 1" in r.stdout, "the broken link is described")
    t.eq(db.run("verify", "--run", "2").code, 2, "the deleted run does not exist: exit 2")
    db.drop()

    # the config text of a run edited: its hash no longer matches
    db, _ = setup()
    tampered(db, "UPDATE coopsettle.runs SET config_text = replace(config_text, '9%', '1%')"
                 " WHERE id = 1")
    r = db.run("verify", "--chain")
    t.eq(r.code, 5, "edited config: chain exit 5")
    t.check("run 1: the stored config text does not hash to config_sha256" in r.stdout,
            "chain names the config: %s" % r.stdout)
    r = db.run("verify", "--run", "1")
    t.eq(r.code, 5, "edited config: verify --run exit 5")
    t.check(mismatch_line(r.stdout, "the stored config text does not hash to config_sha256"),
            "verify --run names the config")
    db.drop()


def distribute_runs(t):
    db, path = setup()
    tampered(db, "UPDATE coopsettle.member_allocations SET cash_minor = cash_minor + 5,"
                 " retained_minor = retained_minor - 5 WHERE run_id = 3 AND member_id = 1"
                 " AND currency = 'EUR'")
    r = db.run("verify", "--run", "3")
    t.eq(r.code, 5, "tampered allocation: exit 5 %r" % r)
    t.check("member 1 EUR cash_minor: stored" in r.stdout, "the allocation is named: %s" % r.stdout)
    t.check(mismatch_line(r.stdout, "disagree with the stored allocations"),
            "lines and allocations disagree")
    db.drop()

    # a settle run superseded under the distribute run
    db, path = setup()
    db.sql("UPDATE coopsettle.transactions SET amount_minor = 70000 WHERE id = 2")
    r = db.run("settle", "--config", path, "--period", "2026-11", "--supersede", "--reason", "test correction")
    t.eq(r.code, 0, "supersede %r" % r)
    r = db.run("verify", "--run", "4")
    t.eq(r.code, 0, "the superseding run verifies, reversal lines included: %r" % r)
    t.check("reversal lines negate the posted lines of superseded run 1" in r.stdout,
            "reversals checked")
    r = db.run("verify", "--run", "1")
    t.eq(r.code, 5, "the superseded run's input changed")
    t.check("superseded by run 4" in r.stdout, "the header says it was superseded")
    r = db.run("verify", "--run", "3")
    t.eq(r.code, 5, "distribute over a superseded settle run: exit 5 %r" % r)
    t.check("settle run 1 [" in r.stdout and "is no longer committed" in r.stdout,
            "the superseded settle run is named: %s" % r.stdout)
    t.check("settle run 4 [" in r.stdout and "was committed after the run" in r.stdout,
            "the superseding settle run is named")
    t.eq(db.run("verify", "--chain").code, 0, "the chain is intact")
    db.drop()


def snapshot_tampered(t):
    db, _ = setup()
    # transaction 4 taken out of the snapshot: its element removed from every array
    cols = ("transaction_id", "occurred_at_us", "producer_id", "consumer_id", "amount_minor",
            "currency", "category", "producer_member", "consumer_member")
    k = db.sql("SELECT array_position(transaction_id, 4::bigint)"
               " FROM coopsettle.run_input_chunks WHERE run_id = 1")[0][0]
    tampered(db, "UPDATE coopsettle.run_input_chunks SET %s WHERE run_id = 1"
             % ", ".join("%s = %s[:%d] || %s[%d:]" % (c, c, k - 1, c, k + 1) for c in cols))
    t.eq(db.sql("SELECT transaction_id FROM coopsettle.run_inputs WHERE run_id = 1"
                " ORDER BY ordinal"), [(1,), (2,), (3,), (5,), (6,)], "the view lost row 4")
    r = db.run("verify", "--run", "1")
    t.eq(r.code, 5, "an edited input snapshot is a mismatch %r" % r)
    t.check(mismatch_line(r.stdout, "the run's input snapshot differs from the rows read now"),
            "snapshot check named: %s" % r.stdout)
    t.check("transaction 4 (" in r.stdout, "the row is named")
    db.drop()


def larger_run(t):
    """A few thousand rows: the streaming comparison agrees end to end."""
    db = TestDB()
    db.add_members(MEMBERS)
    db.sql("INSERT INTO coopsettle.transactions SELECT g, timestamptz '2026-11-01 00:00+01'"
           " + g * interval '7 seconds', 1 + g % 2, CASE WHEN g % 5 = 0 THEN NULL ELSE 10 + g % 2"
           " END, (g * 7919) % 100000 - 20000, CASE WHEN g % 7 = 0 THEN 'CHF' ELSE 'EUR' END,"
           " 'crafts' FROM generate_series(1, 20000) g")
    path = db.write_config(CONFIG)
    r = db.run("settle", "--config", path, "--period", "2026-11")
    t.eq(r.code, 0, "settle 20000 rows %r" % r)
    r = db.run("verify", "--run", "1")
    t.eq(r.code, 0, "20000 rows verify %r" % r)
    # the snapshot in chunks of 1000 rows, shown a row per transaction by the view
    t.eq(db.sql("SELECT count(*), min(first_ordinal), max(first_ordinal),"
                " sum(cardinality(consumer_id)) FROM coopsettle.run_input_chunks"),
         [(20, 1, 19001, 20000)], "20 chunks of 1000 rows")
    t.eq(db.sql("SELECT count(*) FROM coopsettle.run_inputs r FULL JOIN"
                " coopsettle.transactions x ON x.id = r.transaction_id"
                " WHERE r.ordinal IS DISTINCT FROM x.id"
                " OR r.occurred_at_us IS DISTINCT FROM"
                "    (extract(epoch FROM x.occurred_at) * 1000000)::bigint"
                " OR r.producer_id IS DISTINCT FROM x.producer_id"
                " OR r.consumer_id IS DISTINCT FROM x.consumer_id"
                " OR r.amount_minor IS DISTINCT FROM x.amount_minor"
                " OR r.currency IS DISTINCT FROM x.currency"
                " OR r.category IS DISTINCT FROM x.category"
                " OR r.consumer_member IS DISTINCT FROM (x.consumer_id IS NOT NULL)"),
         [(0,)], "the view equals the transactions, NULL consumers included")
    db.sql("UPDATE coopsettle.transactions SET category = 'food' WHERE id IN (17, 19000)")
    r = db.run("verify", "--run", "1")
    t.eq(r.code, 5, "two changed rows of 20000")
    t.check("transactions changed since the run (2)" in r.stdout
            and "transaction 17: category 'crafts' -> 'food'" in r.stdout
            and "transaction 19000: category 'crafts' -> 'food'" in r.stdout,
            "both named: %s" % r.stdout[:3000])
    db.drop()


def migrate_v3(t):
    """A version 3 schema (one run_inputs row per transaction) migrates to
    chunks in place; an edited snapshot stays detectable."""
    db, _ = setup()
    before = db.sql("SELECT * FROM coopsettle.run_inputs ORDER BY run_id, ordinal")
    # rebuild the version 3 table from the view, as a version 3 engine wrote it
    db.sql("CREATE TABLE coopsettle.v3_inputs AS SELECT * FROM coopsettle.run_inputs")
    db.sql("DROP VIEW coopsettle.run_inputs")
    db.sql("DROP TABLE coopsettle.run_input_chunks")
    db.sql("ALTER TABLE coopsettle.v3_inputs RENAME TO run_inputs")
    db.sql("ALTER TABLE coopsettle.run_inputs ADD PRIMARY KEY (run_id, ordinal)")
    db.sql("DELETE FROM coopsettle.schema_version WHERE version >= 4")
    db.sql("INSERT INTO coopsettle.schema_version (version) VALUES (3)")
    db.sql("DELETE FROM coopsettle.run_inputs WHERE run_id = 1 AND transaction_id = 2")
    r = db.run("init-db")
    t.eq(r.code, 0, "init-db migrates version 3: %r" % r)
    t.check("migrated from version 3 to 8" in r.stdout, "reports the migration: %s" % r.stdout)
    after = db.sql("SELECT * FROM coopsettle.run_inputs ORDER BY run_id, ordinal")
    expect = [b for b in before if not (b[0] == 1 and b[2] == 2)]
    expect = [(x[0], x[1] - (1 if x[0] == 1 and x[1] > 2 else 0)) + tuple(x[2:]) for x in expect]
    t.eq(after, expect, "the rows moved into chunks, in order, renumbered 1..n")
    t.eq(db.sql("SELECT to_regclass('coopsettle.run_inputs') IS NOT NULL,"
                " (SELECT relkind FROM pg_class WHERE oid = 'coopsettle.run_inputs'::regclass)"),
         [(True, "v")], "run_inputs is now the view")
    t.eq(db.run("verify", "--run", "2").code, 0, "an intact migrated run verifies")
    r = db.run("verify", "--run", "1")
    t.eq(r.code, 5, "the row removed before the migration is a mismatch: %r" % r)
    t.check("transaction 2 (" in r.stdout, "and it is named: %s" % r.stdout)
    t.eq(db.run("verify", "--chain").code, 0, "the chain is intact")
    r = db.run("init-db")
    t.eq(r.code, 0, "init-db again is harmless: %r" % r)
    t.eq(db.sql("SELECT * FROM coopsettle.run_inputs ORDER BY run_id, ordinal"), after,
         "and changes nothing")
    db.drop()


def usage(t):
    db, _ = setup()
    for args, code in ((("verify",), 2), (("verify", "--run", "x"), 2),
                       (("verify", "--run", "0"), 2), (("verify", "--run", "1", "--chain"), 2),
                       (("verify", "--bogus"), 2), (("verify", "--member", "1"), 2),
                       (("verify", "--run", "999"), 2), (("verify", "extra"), 2),
                       (("verify", "--help"), 0), (("explain", "--help"), 0),
                       (("export", "--help"), 0), (("statements", "--help"), 0),
                       (("explain", "--run", "1"), 2), (("export", "--run", "1"), 2),
                       (("export", "--run", "1", "--format", "xml"), 2),
                       (("statements", "--run", "1"), 2),
                       (("statements", "--run", "1", "--out", db.tmp + "/st"), 2)):
        r = db.run(*args)
        t.eq(r.code, code, "%s: exit %d %r" % (" ".join(args), code, r))
        if code == 2 and args != ("verify", "--run", "999"):
            t.check("usage: coopsettle" in r.stderr or "statements are made of distribute" in
                    r.stderr, "%s: a usage line" % " ".join(args))
    r = db.run("--help")
    for cmd in ("verify", "explain", "export", "statements"):
        t.check("  %s " % cmd in r.stdout, "--help lists %s" % cmd)
    db.drop()


def main():
    t = Runner()
    for case in (clean, tamper_transaction, tamper_ledger_line, tamper_run_record,
                 distribute_runs, snapshot_tampered, larger_run, migrate_v3, usage):
        t.case(case)
    t.finish()


if __name__ == "__main__":
    main()
