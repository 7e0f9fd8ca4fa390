"""A schema per cooperative (docs/config.md, key `schema`; docs/operations.md,
"Several cooperatives in one database").

Two cooperatives in one database, each in a schema of its own: init-db
--config creates each one (and not the default schema); runs, ledger lines,
verify, export and status see only their own schema; the same inputs give
the same output hash in either schema; --schema and a config that name two
schemas are refused (exit 2). The advisory lock key of a schema is computed
here from its documented definition (the first 8 bytes of SHA-256 of
"coopsettle advisory lock: NAME", big-endian, signed): while this test holds
schema A's lock, a settle of A waits on it and a settle of B commits; once the
lock is released, A's run commits. The default schema keeps its old key.
"""
import hashlib
import os
import sys
import time

import psycopg2

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from harness import Runner, TestDB  # noqa: E402

DEFAULT_KEY = 7165059049155654245


def lock_key(schema):
    if schema == "coopsettle":
        return DEFAULT_KEY
    digest = hashlib.sha256(("coopsettle advisory lock: " + schema).encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def config(schema):
    return ("version: 1\ncooperative: %s eG\ncurrency: EUR\ncurrencies: {EUR: 2}\n"
            "timezone: UTC\nschema: %s\nfees:\n  - id: all\n    rate: 5%%\n"
            "    borne_by: {producer: 1, consumer: 0}\n" % (schema, schema))


def add_day(db, schema, day, amounts, first_id):
    """Transactions of `amounts` on day (UTC), ids first_id.., producers 1..3."""
    rows = []
    for k, a in enumerate(amounts):
        rows.append("(%d, '%s 12:00:00+00', %d, NULL, %d, 'EUR', 'x')"
                    % (first_id + k, day, 1 + k % 3, a))
    db.sql('INSERT INTO "%s".transactions VALUES %s' % (schema, ", ".join(rows)))


def waiting_on_lock(db, key):
    """pids in db that wait for the advisory lock with bigint key `key`."""
    u = key & 0xFFFFFFFFFFFFFFFF
    return [r[0] for r in db.sql(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        " AND classid = %s::bigint::oid AND objid = %s::bigint::oid AND objsubid = 1",
        (u >> 32, u & 0xFFFFFFFF))]


def two_schemas(t, db):
    a = db.write_config(config("coop_a"), "a.yaml")
    b = db.write_config(config("coop_b"), "b.yaml")
    for path, name in ((a, "coop_a"), (b, "coop_b")):
        r = db.run("init-db", "--config", path)
        t.check(r.code == 0 and "schema '%s' created at version 8" % name in r.stdout,
                "init-db --config creates %s: %r" % (name, r))
    r = db.run("init-db", "--config", a)
    t.check(r.code == 0 and "already current" in r.stdout, "init-db twice: %r" % r)
    t.eq(db.sql("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'coop%' ORDER BY 1"),
         [("coop_a",), ("coop_b",)], "the two schemas and not the default one")

    amounts_a = [1000, 2000, 3000, 4000]  # 5% each: 50 + 100 + 150 + 200
    amounts_b = [10000, 20000]             # 500 + 1000
    add_day(db, "coop_a", "2026-11-02", amounts_a, 1)
    add_day(db, "coop_b", "2026-11-02", amounts_b, 1)
    ra = db.run("settle", "--config", a, "--period", "2026-11-02", "--json")
    rb = db.run("settle", "--config", b, "--period", "2026-11-02", "--json")
    t.eq((ra.code, rb.code), (0, 0), "settle in each schema: %r %r" % (ra, rb))
    if ra.code or rb.code:
        return
    ja, jb = ra.json(), rb.json()
    t.eq(ja["currencies"]["EUR"]["fees_minor"], sum(x * 5 // 100 for x in amounts_a),
         "coop_a fees: 5% of its own transactions")
    t.eq(jb["currencies"]["EUR"]["fees_minor"], sum(x * 5 // 100 for x in amounts_b),
         "coop_b fees: 5% of its own transactions")
    t.eq((ja["run_id"], jb["run_id"]), (1, 1), "run ids are per schema, from 1")
    for s, n in (("coop_a", 4), ("coop_b", 2)):
        t.eq(db.sql('SELECT count(DISTINCT transaction_id) FROM "%s".ledger_lines' % s),
             [(n,)], "%s's ledger holds its own transactions" % s)
        t.eq(db.sql('SELECT count(*) FROM "%s".runs' % s), [(1,)], "%s has one run" % s)

    # the same inputs in a third schema give the same output hash
    c = db.write_config(config("coop_c"), "c.yaml")
    t.eq(db.run("init-db", "--config", c).code, 0, "init-db coop_c")
    add_day(db, "coop_c", "2026-11-02", amounts_a, 1)
    rc = db.run("settle", "--config", c, "--period", "2026-11-02", "--json")
    t.check(rc.code == 0 and rc.json()["hashes"]["output"] == ja["hashes"]["output"]
            and rc.json()["hashes"]["input"] == ja["hashes"]["input"],
            "same inputs, same input and output hashes in another schema: %r" % rc)

    # the read-only commands name the schema with --schema
    r = db.run("--schema", "coop_b", "verify", "--run", "1")
    t.eq(r.code, 0, "verify --run 1 in coop_b: %r" % r)
    r = db.run("--schema", "coop_a", "verify", "--chain")
    t.eq(r.code, 0, "verify --chain in coop_a: %r" % r)
    r = db.run("--schema", "coop_b", "export", "--run", "1", "--format", "csv")
    t.check(r.code == 0 and "10000" in r.stdout.replace(".", "") and "1000" in r.stdout,
            "export of coop_b's run: %r" % r)
    r = db.run("status", "--config", b, "--from", "2026-11-02", "--to", "2026-11-03")
    t.eq(r.code, 0, "status of coop_b: %r" % r)
    # a period's export and report take the schema from --config, as status does
    r = db.run("export", "--config", b, "--from", "2026-11-02", "--to", "2026-11-03",
               "--format", "csv")
    t.check(r.code == 0 and "10000" in r.stdout.replace(".", ""),
            "export of coop_b's period with --config: %r" % r)
    r = db.run("report", "--config", b, "--from", "2026-11-02", "--to", "2026-11-03",
               "--out", os.path.join(db.tmp, "b.html"))
    t.eq(r.code, 0, "report of coop_b's period with --config: %r" % r)
    r = db.run("verify", "--run", "1")
    t.eq(r.code, 2, "without --schema, the default schema (missing here): %r" % r)
    t.check("'coopsettle' does not exist" in r.stderr, "names the missing schema: %r" % r)
    r = db.run("--schema", "coop_b", "settle", "--config", a, "--period", "2026-11-02")
    t.check(r.code == 2 and "differs from the config's schema" in r.stderr,
            "--schema and the config disagree: exit 2: %r" % r)
    r = db.run("--schema", "Coop_B", "status")
    t.check(r.code == 2 and "invalid schema name" in r.stderr, "a bad --schema: %r" % r)

    # a change in coop_a is caught there and leaves coop_b alone
    db.sql("UPDATE coop_a.transactions SET amount_minor = 1001 WHERE id = 1")
    r = db.run("--schema", "coop_a", "verify", "--run", "1")
    t.eq(r.code, 5, "verify in coop_a catches the change: %r" % r)
    r = db.run("--schema", "coop_b", "verify", "--run", "1")
    t.eq(r.code, 0, "coop_b still verifies: %r" % r)
    r = db.run("settle", "--config", a, "--period", "2026-11-02", "--supersede", "--reason",
               "amount corrected", "--json")
    t.check(r.code == 0 and r.json()["status"] == "committed" and r.json()["run_id"] == 2,
            "supersede in coop_a: %r" % r)
    t.eq(db.sql("SELECT id, status FROM coop_a.runs ORDER BY id"),
         [(1, "superseded"), (2, "committed")], "coop_a's runs")
    t.eq(db.sql("SELECT id, status FROM coop_b.runs ORDER BY id"), [(1, "committed")],
         "coop_b's runs untouched")


def locks(t, db):
    """Schema A's lock held: A waits, B commits; released: A commits."""
    a = db.write_config(config("lock_a"), "a.yaml")
    b = db.write_config(config("lock_b"), "b.yaml")
    for path in (a, b):
        t.eq(db.run("init-db", "--config", path).code, 0, "init-db " + path)
    add_day(db, "lock_a", "2026-11-03", [1000, 2000], 1)
    add_day(db, "lock_b", "2026-11-03", [3000], 1)
    holder = psycopg2.connect(dbname=db.name)
    try:
        with holder.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key("lock_a"),))
        engine_a = db.spawn("settle", "--config", a, "--period", "2026-11-03", "--json")
        deadline = time.time() + 30
        while time.time() < deadline and not waiting_on_lock(db, lock_key("lock_a")):
            time.sleep(0.05)
        t.check(len(waiting_on_lock(db, lock_key("lock_a"))) == 1,
                "the settle of lock_a waits on lock_a's advisory lock")
        rb = db.run("settle", "--config", b, "--period", "2026-11-03", "--json")
        t.check(rb.code == 0 and rb.json()["status"] == "committed",
                "lock_b commits while lock_a's lock is held: %r" % rb)
        t.check(engine_a.poll() is None, "lock_a's settle still waits")
        t.eq(db.sql("SELECT count(*) FROM lock_a.runs"), [(0,)], "nothing in lock_a yet")
        holder.rollback()  # releases the lock
        out, err = engine_a.communicate(timeout=120)
        t.eq(engine_a.returncode, 0, "lock_a's settle commits once the lock is free: %s" % err)
        t.eq(db.sql("SELECT count(*) FROM lock_a.runs WHERE status = 'committed'"), [(1,)],
             "lock_a's run")
    finally:
        holder.close()
    # the default schema keeps its key: holding it does not stop lock_b
    holder = psycopg2.connect(dbname=db.name)
    try:
        with holder.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (DEFAULT_KEY,))
        r = db.run("settle", "--config", b, "--period", "2026-11-04", "--allow-open")
        t.eq(r.code, 0, "lock_b does not wait on the default schema's lock: %r" % r)
    finally:
        holder.close()


def main():
    t = Runner()
    for case in (two_schemas, locks):
        db = TestDB(init=False)
        try:
            t.case(lambda t_, c=case, d=db: c(t_, d))
        finally:
            db.drop()
    t.finish()


if __name__ == "__main__":
    main()
