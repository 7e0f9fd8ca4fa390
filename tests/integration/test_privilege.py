"""Least privilege (docs/operations.md).

Runs the SQL block of docs/operations.md that creates the runner role, then
settles, supersedes, quarantines, aborts, distributes, supersedes a
distribution and checks the status as that role, and checks what the role is refused: changing
inputs, changing or deleting outputs, other columns of a run, the schema.
Then the same block for config version 2: two months settled and
distributed (capital, retained patronage, snapshots) and a distribution
superseded, as the role.
"""
import os
import re
import subprocess
import sys
import uuid

import psycopg2

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import harness  # noqa: E402
from harness import Runner, TestDB  # noqa: E402
import reliability as rel  # noqa: E402

DOC = os.path.join(harness.SOURCE_DIR, "docs", "operations.md")


def grant_sql(role, database):
    text = open(DOC).read()
    m = re.search(r"<!-- least-privilege sql: begin -->\s*```sql\n(.*?)```", text, re.S)
    assert m, "docs/operations.md lost its least-privilege SQL block"
    sql = m.group(1).replace("coopsettle_runner", role)
    return sql.replace("ON DATABASE coopsettle ", 'ON DATABASE "%s" ' % database)


def run_as(db, role, *args):
    proc = subprocess.run(harness.command(None, "dbname=%s user=%s" % (db.name, role), args),
                          capture_output=True, text=True, timeout=600)
    return harness.Result(proc)


def refused(t, db, role, sql, what):
    conn = psycopg2.connect(dbname=db.name, user=role)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
        t.check(False, "the runner may not " + what)
    except psycopg2.Error as e:
        t.eq(e.pgcode, "42501", "the runner may not %s: %s" % (what, e))
    finally:
        conn.close()


def as_runner(t, db, role):
    rel.add_members(db, 200)
    rel.add_day(db, "2026-11-02", 2000, 1)
    rel.add_day(db, "2026-11-03", 2000, 100001)
    path = db.write_config(rel.CONFIG)
    settle = ["settle", "--config", path, "--period"]
    for day in ("2026-11-02", "2026-11-03"):
        r = run_as(db, role, *(settle + [day, "--json"]))
        t.eq(r.code, 0, "settle %s as the runner (quarantine): %r" % (day, r))
        t.check(r.code == 0 and len(r.json()["rejected"]) == 1, "the invalid row is quarantined")
    r = run_as(db, role, *(settle + ["2026-11-02", "--dry-run"]))
    t.eq(r.code, 0, "dry run as the runner: %r" % r)
    r = run_as(db, role, *(settle + ["2026-11-02"]))
    t.eq(r.code, 0, "the same window again as the runner: unchanged: %r" % r)
    r = run_as(db, role, *(settle + ["2026-11"]))
    t.eq(r.code, 4, "conflict as the runner: %r" % r)
    r = run_as(db, role, *(settle + ["2026-11-02", "--supersede", "--reason", "test correction", "--json"]))
    t.check(r.code == 0 and r.json()["status"] == "unchanged", "unchanged as the runner: %r" % r)
    db.sql("UPDATE coopsettle.transactions SET amount_minor = amount_minor + 99999 WHERE id = 7")
    r = run_as(db, role, *(settle + ["2026-11-02", "--supersede", "--reason", "test correction", "--json"]))
    t.check(r.code == 0 and r.json()["status"] == "committed",
            "supersede as the runner: %r" % r)
    abort = db.write_config(dict(rel.CONFIG, on_invalid="abort"), "abort.yaml")
    rel.add_day(db, "2026-11-05", 10, 200001)
    r = run_as(db, role, "settle", "--config", abort, "--period", "2026-11-05")
    t.eq(r.code, 3, "invalid rows abort as the runner: %r" % r)
    dist = ["distribute", "--config", path, "--from", "2026-11-02", "--to", "2026-11-04"]
    r = run_as(db, role, *(dist + ["--json"]))
    t.check(r.code == 0 and r.json()["status"] == "committed", "distribute as the runner: %r" % r)
    db.sql("UPDATE coopsettle.transactions SET amount_minor = amount_minor + 99999 WHERE"
           " id = 100007")
    r = run_as(db, role, *(settle + ["2026-11-03", "--supersede", "--reason", "test correction"]))
    t.eq(r.code, 0, "supersede the second day: %r" % r)
    r = run_as(db, role, *(dist + ["--supersede", "--reason", "test correction", "--json"]))
    t.check(r.code == 0 and r.json()["status"] == "committed",
            "supersede a distribution as the runner: %r" % r)
    t.eq(db.sql("SELECT kind, status, count(*) FROM coopsettle.runs GROUP BY 1, 2 ORDER BY 1, 2"),
         [("distribute", "committed", 1), ("distribute", "superseded", 1),
          ("settle", "committed", 2), ("settle", "superseded", 2)], "runs written by the runner")
    t.eq(rel.problems(db), [], "invariants")
    r = run_as(db, role, "status", "--config", path, "--from", "2026-11-02", "--to", "2026-11-04")
    t.eq(r.code, 0, "status as the runner (recomputes each run): %r" % r)

    refused(t, db, role, "UPDATE coopsettle.transactions SET amount_minor = 0", "change inputs")
    refused(t, db, role, "INSERT INTO coopsettle.members VALUES (9999, 'producer', NULL, NULL, 0)",
            "add members")
    refused(t, db, role, "DELETE FROM coopsettle.ledger_lines", "delete ledger lines")
    refused(t, db, role, "UPDATE coopsettle.runs SET output_sha256 = 'x'",
            "change a run record")
    refused(t, db, role, "TRUNCATE coopsettle.party_totals", "truncate totals")
    refused(t, db, role, "DROP TRIGGER append_only ON coopsettle.runs",
            "drop the append-only trigger")
    refused(t, db, role, "CREATE TABLE coopsettle.x (i int)", "create tables")
    refused(t, db, role, "SELECT pg_catalog.setval('coopsettle.runs_id_seq', 1)",
            "reset the run ids")
    r = run_as(db, role, "init-db")
    t.eq(r.code, 2, "init-db is for the owner (permission denied: exit 2): %r" % r)


# Config version 2 (docs/config.md, "Version 2: time-true records"): the
# runner also reads the capital movements and the retained patronage of
# earlier distribute runs, and writes the snapshot tables.
CONFIG_V2 = {
    "version": 2, "cooperative": "Runner eG", "currency": "EUR", "currencies": {"EUR": 2},
    "timezone": "Europe/Berlin",
    "fees": [{"id": "members", "rate": "5%", "borne_by": {"producer": "1/2", "consumer": "1/2"}}],
    "surplus": {
        "costs": {"relation": "coopsettle.operating_costs"},
        "steps": [
            {"id": "interest", "type": "capital_interest", "rate": "10%"},
            {"id": "refund", "type": "patronage", "share": "remaining",
             "classes": {"producer": "1/2", "consumer": "1/2"}, "cash_fraction": "1/2"},
        ],
    },
}


def as_runner_v2(t, db, role):
    """A version 2 month after month as the runner: memberships, capital,
    retained patronage counted as capital, the snapshots, a supersede."""
    db.add_members([(1, "producer", "2020-01-01", None, None),
                    (10, "consumer", "2020-01-01", None, None)])
    db.sql("INSERT INTO coopsettle.capital_movements VALUES (1, '2025-01-01', 100000)")
    db.sql("INSERT INTO coopsettle.operating_costs VALUES ('2026-10-30', 'EUR', 10)")
    db.add_transactions([(1, "2026-10-05 10:00:00+02", 1, 10, 100000, "EUR", "x"),
                         (2, "2026-11-05 10:00:00+01", 1, 10, 100000, "EUR", "x")])
    path = db.write_config(CONFIG_V2, "v2.yaml")
    for kind in ("settle", "distribute"):
        for month in ("2026-10", "2026-11"):
            r = run_as(db, role, kind, "--config", path, "--period", month, "--allow-open")
            t.eq(r.code, 0, "version 2 %s %s as the runner: %r" % (kind, month, r))
    t.check(db.sql("SELECT count(*) FROM coopsettle.run_capital")[0][0] > 0,
            "the runner wrote the capital snapshot")
    db.sql("UPDATE coopsettle.operating_costs SET amount_minor = 20")
    r = run_as(db, role, "distribute", "--config", path, "--period", "2026-10", "--allow-open",
               "--supersede", "--reason", "costs corrected", "--json")
    t.check(r.code == 0 and r.json()["status"] == "committed",
            "supersede a version 2 distribution as the runner: %r" % r)
    t.eq(rel.problems(db, n_currencies=1), [], "invariants (version 2)")


def main():
    t = Runner()
    dbs, roles = [], []
    try:
        for case in (as_runner, as_runner_v2):
            db = TestDB()
            role = "cs_runner_" + uuid.uuid4().hex[:10]
            dbs.append(db)
            roles.append(role)
            db.sql(grant_sql(role, db.name))
            t.case(lambda t_, c=case, d=db, r=role: c(t_, d, r))
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
