"""Run bookkeeping an accountant can trust (issue 17; spec section 10.4).

One named case per numbered problem of the issue. Each case failed on the
code before the change (commit 0e317f5; docs/reliability.md, "Run
bookkeeping", says how that was checked) and passes after it.

 1 bk_01_closed_windows      open and future windows are refused; period keywords
 2 bk_02_config_changes      a superseding run names changed config keys and stale runs
 3 bk_03_attribution         --supersede needs --reason; actor, reason, depends_on recorded
 4 bk_04_honest_dry_runs     a dry run meets the real run's conflict, unchanged, old -> new
 5 bk_05_tampering           export re-derives the output hash; format 3 covers every field
 6 bk_06_exit_codes          1 only for what a retry cures, 2 with a hint for each cause
 7 bk_07_summary_stdout      summaries on stdout, amounts as decimals with currency
 8 bk_08_rejects_and_classes rejected rows listed, classes that allocate nothing named
 9 bk_09_gap_free_ids        run ids without gaps; a missing id is no proof of deletion
10 bk_10_command_line        -h/--help everywhere, --db after the command, init-db says what
11 bk_11_operations_guide    the guide schedules what the engine accepts
"""
import datetime
import hashlib
import json
import os
import re
import subprocess
import sys
import uuid

import psycopg2

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from harness import SOURCE_DIR, Runner, TestDB, command  # noqa: E402

TZ = "Europe/Berlin"
CONFIG = {
    "version": 1,
    "cooperative": "Bookkeeping eG",
    "currency": "EUR",
    "currencies": {"EUR": 2},
    "timezone": TZ,
    "on_invalid": "quarantine",
    "fees": [{"id": "standard", "rate": "10%"}],
    "surplus": {
        "costs": {"amount": {"EUR": "1.00"}},
        "steps": [
            {"id": "reserve", "type": "account", "share": "10%", "account": "equity:reserves"},
            {"id": "refund", "type": "patronage", "share": "remaining",
             "classes": {"producer": "60%", "consumer": "40%"}},
        ],
    },
}
MEMBERS = [
    (1, "producer", "2020-01-01", None, 100000),
    (2, "producer", "2020-01-01", None, 0),
    (10, "consumer", "2020-01-01", None, 0),
]
DAY = "2026-11-02"


def cfg_with(**kw):
    c = json.loads(json.dumps(CONFIG))
    c.update(kw)
    return c


def as_replica(db, sql, params=None):
    with db.conn.cursor() as cur:
        cur.execute("SET session_replication_role = replica")
        cur.execute(sql, params)
        cur.execute("SET session_replication_role = DEFAULT")


def local_today(db):
    """The server's now() as a local date in TZ."""
    return db.sql("SELECT (pg_catalog.now() AT TIME ZONE %s)::date", (TZ,))[0][0]


def november(db, path, days=(2, 3)):
    db.add_members(MEMBERS)
    db.add_transactions([(1, "2026-11-02 10:00:00+01", 1, 10, 1465980, "EUR", "x"),
                         (2, "2026-11-03 11:00:00+01", 2, 10, 50000, "EUR", "x")])
    for d in days:
        r = db.run("settle", "--config", path, "--period", "2026-11-%02d" % d)
        assert r.code == 0, r


def runs(db):
    return db.sql("SELECT id, kind, status FROM coopsettle.runs ORDER BY id")


def record_v2(db, run_id):
    """The run's record in format 2, as records were written before schema
    version 6 (docs/reproducibility.md)."""
    (rid, kind, fu, tu, cfg, inp, out, ver, at, sup, prev, ft, tt, lines, st) = db.sql(
        "SELECT id, kind, window_from_us, window_to_us, config_sha256, input_sha256,"
        " output_sha256, engine_version, created_at, supersedes, prev_record_sha256,"
        " window_from_text, window_to_text, line_count, statement FROM coopsettle.runs"
        " WHERE id = %s", (run_id,))[0]
    text = ("coopsettle run record v2\nid=%d\nkind=%s\nwindow_from_us=%d\nwindow_to_us=%d\n"
            "config_sha256=%s\ninput_sha256=%s\noutput_sha256=%s\nengine_version=%s\n"
            "created_at=%s\nsupersedes=%s\nprev_record_sha256=%s\nwindow_from_text=%s\n"
            "window_to_text=%s\nline_count=%d\nstatement_sha256=%s\n"
            % (rid, kind, fu, tu, cfg, inp, out, ver, at, sup if sup else "\\N",
               prev if prev else "\\N", ft, tt, lines,
               hashlib.sha256(st.encode()).hexdigest()))
    return hashlib.sha256(text.encode()).hexdigest()


# ---------------------------------------------------------------- 1

def bk_01_closed_windows(t):
    db = TestDB()
    path = db.write_config(CONFIG)
    db.add_members(MEMBERS)
    today = local_today(db)
    db.add_transactions([(1, "%s 00:30:00+01" % today, 1, 10, 1000, "EUR", "x")])
    this_month = today.strftime("%Y-%m")
    for args in (["--period", this_month], ["--period", today.isoformat()], ["--period", "2030"],
                 ["--from", "2026-11-01", "--to", "2030-01-01"]):
        for dry in ([], ["--dry-run"]):
            r = db.run("settle", "--config", path, *(args + dry))
            t.eq(r.code, 2, "01: %s %s is an open window: exit 2: %r" % (args, dry, r))
            t.check("not closed yet" in r.stderr and "--allow-open" in r.stderr,
                    "01: %s: says so and how to settle it anyway: %r" % (args, r.stderr))
    t.eq(db.sql("SELECT count(*) FROM coopsettle.runs")[0][0], 0, "01: nothing written")
    r = db.run("distribute", "--config", path, "--period", this_month)
    t.eq(r.code, 2, "01: distribute of the running month: exit 2: %r" % r)
    # close_after: a window closes that long after its end (server clock)
    late = db.write_config(cfg_with(close_after="2d"), "late.yaml")
    yesterday = (today - datetime.timedelta(days=1)).isoformat()
    three_ago = (today - datetime.timedelta(days=3)).isoformat()
    r = db.run("settle", "--config", late, "--period", yesterday, "--dry-run")
    t.eq(r.code, 2, "01: yesterday is open with close_after 2d: %r" % r)
    r = db.run("settle", "--config", late, "--period", three_ago, "--dry-run")
    t.eq(r.code, 0, "01: three days ago is closed with close_after 2d: %r" % r)
    bad = db.write_config(cfg_with(close_after="6 hours"), "bad.yaml")
    r = db.run("check-config", bad)
    t.eq(r.code, 2, "01: close_after '6 hours' is a config error")
    t.check(":1:" in r.stderr or "close_after" in r.stderr, "01: named: %r" % r.stderr)
    # the keywords, in the config's zone at the server's now()
    first_this_month = today.replace(day=1)
    last_month_end = first_this_month - datetime.timedelta(days=1)
    q = (today.month - 1) // 3
    quarter_start = datetime.date(today.year if q else today.year - 1, 3 * ((q - 1) % 4) + 1, 1)
    want = {"yesterday": yesterday, "last-month": last_month_end.replace(day=1).isoformat(),
            "last-quarter": quarter_start.isoformat(),
            "last-year": "%04d-01-01" % (today.year - 1)}
    for kw, start in want.items():
        r = db.run("settle", "--config", path, "--period", kw, "--dry-run", "--json")
        t.eq(r.code, 0, "01: --period %s: %r" % (kw, r))
        if r.code == 0:
            t.check(r.json()["window"]["from"].startswith(start + "T00:00:00"),
                    "01: --period %s starts %s: %s" % (kw, start, r.json()["window"]))
    # --allow-open settles an open window on purpose
    r = db.run("settle", "--config", path, "--period", today.isoformat(), "--allow-open")
    t.eq(r.code, 0, "01: --allow-open: %r" % r)
    db.drop()


# ---------------------------------------------------------------- 2

def bk_02_config_changes(t):
    db = TestDB()
    path = db.write_config(CONFIG)
    november(db, path, days=range(1, 31))
    r = db.run("distribute", "--config", path, "--period", "2026-11", "--json")
    t.eq(r.code, 0, "02: distribute November: %r" % r)
    dist = r.json()["run_id"] if r.code == 0 else None
    typo = cfg_with(fees=[{"id": "standard", "rate": "0.5"}])  # meant 0.5%
    tpath = db.write_config(typo, "typo.yaml")
    for dry in (["--dry-run"], []):
        r = db.run("settle", "--config", tpath, "--period", DAY, "--supersede", "--reason",
                   "new rate", "--json", *dry)
        t.eq(r.code, 0, "02: supersede with the typo %s: %r" % (dry, r))
        st = r.json() if r.code == 0 else {}
        t.eq(st.get("config_changes"), ["fees[standard].rate"],
             "02: %s: config_changes names the key" % dry)
        t.check("fees[standard].rate: 10% -> 0.5" in r.stderr,
                "02: %s: stderr shows old -> new: %r" % (dry, r.stderr))
        t.eq(st.get("stale_runs"), [dist], "02: %s: the distribute run is stale" % dry)
        t.check("distribute run %s" % dist in r.stderr and "stale" in r.stderr,
                "02: %s: stderr names the stale run: %r" % (dry, r.stderr))
    # the same config: no keys differ
    db.sql("UPDATE coopsettle.transactions SET amount_minor = amount_minor + 1 WHERE id = 2")
    r = db.run("settle", "--config", tpath, "--period", "2026-11-03", "--supersede", "--reason",
               "late correction", "--json")
    t.check(r.code == 0 and r.json().get("config_changes") == ["fees[standard].rate"],
            "02: keys of the superseded run's config, not another's: %r" % r)
    r = db.run("settle", "--config", tpath, "--period", "2026-11-03", "--supersede", "--reason",
               "again", "--json")
    t.eq(r.code, 0, "02: unchanged: %r" % r)
    db.drop()


# ---------------------------------------------------------------- 3

def bk_03_attribution(t):
    db = TestDB()
    path = db.write_config(CONFIG)
    november(db, path)
    db.sql("UPDATE coopsettle.transactions SET amount_minor = 1465990 WHERE id = 1")
    r = db.run("settle", "--config", path, "--period", DAY, "--supersede")
    t.eq(r.code, 2, "03: --supersede without --reason: exit 2: %r" % r)
    t.check("--reason" in r.stderr, "03: says it needs --reason: %r" % r.stderr)
    for bad in ("", "   ", "a\nb", "x" * 1001):
        r = db.run("settle", "--config", path, "--period", DAY, "--supersede", "--reason", bad)
        t.eq(r.code, 2, "03: --reason %r is refused" % bad[:10])
    r = db.run("settle", "--config", path, "--period", DAY, "--supersede", "--reason",
               "refund keyed wrong (ticket 42)", "--json")
    t.eq(r.code, 0, "03: supersede with a reason: %r" % r)
    user = db.sql("SELECT session_user")[0][0]
    t.eq(db.sql("SELECT id, actor, reason, depends_on FROM coopsettle.runs ORDER BY id"),
         [(1, user, None, []), (2, user, None, []),
          (3, user, "refund keyed wrong (ticket 42)", [1])],
         "03: actor, reason and depends_on are stored")
    for d in range(4, 31):
        db.run("settle", "--config", path, "--period", "2026-11-%02d" % d)
    db.run("settle", "--config", path, "--period", "2026-11-01")
    r = db.run("distribute", "--config", path, "--period", "2026-11", "--json")
    dist = r.json()["run_id"] if r.code == 0 else 0
    deps = db.sql("SELECT depends_on FROM coopsettle.runs WHERE id = %s", (dist,))
    settles = [x[0] for x in db.sql("SELECT id FROM coopsettle.runs WHERE kind = 'settle' AND"
                                    " status = 'committed' ORDER BY id")]
    t.eq(deps and deps[0][0], settles, "03: a distribute run depends on its settle runs")
    t.eq(db.run("verify", "--chain").code, 0, "03: the chain verifies")
    for col, value in (("reason", "'a different reason'"), ("actor", "'mallory'"),
                       ("depends_on", "'{2}'")):
        as_replica(db, "UPDATE coopsettle.runs SET %s = %s WHERE id = 3" % (col, value))
        r = db.run("verify", "--chain")
        t.eq(r.code, 5, "03: an edited %s breaks the record hash: %r" % (col, r))
        as_replica(db, "UPDATE coopsettle.runs SET %s = %s WHERE id = 3" % (
            col, {"reason": "'refund keyed wrong (ticket 42)'", "actor": "'%s'" % user,
                  "depends_on": "'{1}'"}[col]))
    t.eq(db.run("verify", "--chain").code, 0, "03: restored")
    # a record made before schema version 6 (format 2: no actor, reason or
    # depends_on) still verifies; the last one, so that no link changes
    last = db.sql("SELECT max(id) FROM coopsettle.runs")[0][0]
    as_replica(db, "UPDATE coopsettle.runs SET actor = NULL, reason = NULL, depends_on = NULL"
               " WHERE id = %s", (last,))
    as_replica(db, "UPDATE coopsettle.runs SET record_sha256 = %s WHERE id = %s",
               (record_v2(db, last), last))
    t.eq(db.run("verify", "--chain").code, 0, "03: a format 2 record verifies (chain)")
    t.eq(db.run("verify", "--run", str(last)).code, 0, "03: and verify --run")
    db.drop()


# ---------------------------------------------------------------- 4

def bk_04_honest_dry_runs(t):
    db = TestDB()
    path = db.write_config(CONFIG)
    november(db, path)
    settle = ["settle", "--config", path, "--period", DAY]
    r = db.run(*(settle + ["--dry-run", "--json"]))
    t.eq((r.code, r.json()["status"] if r.code == 0 else r), (0, "unchanged"),
         "04: dry run of a settled, unchanged day: unchanged")
    r = db.run(*settle)
    t.check(r.code == 0 and "unchanged" in r.stdout, "04: the real run: unchanged, exit 0: %r" % r)
    db.sql("UPDATE coopsettle.transactions SET amount_minor = 1475980 WHERE id = 1")
    dry = db.run(*(settle + ["--dry-run"]))
    real = db.run(*settle)
    t.eq((dry.code, real.code), (4, 4), "04: changed inputs: both exit 4: %r %r" % (dry, real))
    for r in (dry, real):
        t.check("inputs changed" in r.stderr and "--supersede --reason" in r.stderr,
                "04: says the inputs changed and how to replace the run: %r" % r.stderr)
    r = db.run(*(settle + ["--dry-run", "--supersede", "--reason", "preview", "--json"]))
    t.eq(r.code, 0, "04: dry run with --supersede: %r" % r)
    st = r.json() if r.code == 0 else {}
    t.eq(st.get("status"), "dry_run", "04: a dry run")
    rep = st.get("replaces", {})
    t.eq(rep.get("run_id"), 1, "04: it names the run it would replace")
    t.eq(rep.get("currencies", {}).get("EUR", {}).get("fees_minor"),
         {"old": 146598, "new": 147598}, "04: fees old -> new")
    r = db.run(*(settle + ["--dry-run", "--supersede", "--reason", "preview"]))
    t.check("fees_minor" in r.stdout and "1465.98 EUR -> 1475.98 EUR" in r.stdout,
            "04: the summary shows old -> new: %s" % r.stdout)
    r = db.run("settle", "--config", path, "--period", "2026-11", "--dry-run")
    t.eq(r.code, 4, "04: a dry run of an overlapping window exits 4 as the run would")
    t.eq(db.sql("SELECT count(*) FROM coopsettle.runs")[0][0], 2, "04: dry runs write nothing")
    db.drop()


# ---------------------------------------------------------------- 5

def bk_05_tampering(t):
    db = TestDB()
    path = db.write_config(CONFIG)
    november(db, path)
    out = os.path.join(db.tmp, "run-1.journal")
    t.eq(db.run("export", "--run", "1", "--format", "hledger", "--output", out).code, 0,
         "05: export untouched")
    os.unlink(out)
    # a balanced edit: 100 moves between two lines of one journal, every sum stays 0
    as_replica(db, "UPDATE coopsettle.ledger_lines SET amount_minor = amount_minor +"
               " CASE WHEN line_no = 1 THEN 100 ELSE -100 END WHERE run_id = 1 AND"
               " line_no IN (1, 2)")
    for fmt in ("hledger", "beancount", "csv"):
        r = db.run("export", "--run", "1", "--format", fmt, "--output", out)
        t.eq(r.code, 5, "05: export %s of tampered lines: exit 5: %r" % (fmt, r))
        t.check(not os.path.exists(out) and not any(".tmp-" in n for n in os.listdir(db.tmp)),
                "05: %s: nothing written" % fmt)
        r = db.run("export", "--run", "1", "--format", fmt)
        t.eq((r.code, r.stdout), (5, ""), "05: %s to stdout: exit 5, nothing written" % fmt)
    t.check("output_sha256" in r.stderr, "05: says why: %r" % r.stderr)
    t.eq(db.run("verify", "--run", "1").code, 5, "05: verify sees it too")
    as_replica(db, "UPDATE coopsettle.ledger_lines SET amount_minor = amount_minor -"
               " CASE WHEN line_no = 1 THEN 100 ELSE -100 END WHERE run_id = 1 AND"
               " line_no IN (1, 2)")
    # the statement stored in a record (146598 -> 946598)
    as_replica(db, "UPDATE coopsettle.runs SET statement = replace(statement, '146598',"
               " '946598') WHERE id = 1")
    r = db.run("verify", "--run", "1")
    t.check(r.code == 5 and "run 1 verifies" not in r.stdout, "05: verify --run: %r" % r)
    t.eq(db.run("verify", "--chain").code, 5, "05: the chain breaks")
    as_replica(db, "UPDATE coopsettle.runs SET statement = replace(statement, '946598',"
               " '146598') WHERE id = 1")
    t.eq(db.run("verify", "--chain").code, 0, "05: restored")
    db.drop()


# ---------------------------------------------------------------- 6

def run_with(conninfo, *args):
    p = subprocess.run(command(None, conninfo, args), capture_output=True, text=True, timeout=120)
    return p.returncode, p.stderr


def bk_06_exit_codes(t):
    db = TestDB()
    path = db.write_config(CONFIG)
    november(db, path)
    settle = ["settle", "--config", path, "--period", "2026-11-04"]
    hints = {}
    cases = [
        ("bad conninfo", "dbname=%s port=abc" % db.name, 2, "--db"),
        ("unknown option", "dbname=%s nosuchoption=1" % db.name, 2, "--db"),
        ("missing database", "dbname=nosuchdb_%s" % uuid.uuid4().hex[:8], 2, "createdb"),
        ("server down", "dbname=%s host=%s port=1" % (db.name, db.tmp), 1, "Start the server"),
        ("unknown role", "dbname=%s user=nosuchrole_%s" % (db.name, uuid.uuid4().hex[:6]), 2,
         "role"),
    ]
    for what, conninfo, code, needle in cases:
        rc, err = run_with(conninfo, *settle)
        t.eq(rc, code, "06: %s: exit %d: %s" % (what, code, err))
        hint = [line for line in err.splitlines() if line.startswith("hint:")]
        t.check(hint and needle in hint[0], "06: %s: the hint names what to fix: %r" % (what, err))
        hints[what] = hint[0] if hint else ""
    t.check(hints["server down"] != hints["missing database"],
            "06: server down and a missing database have different hints")
    # permission denied for schema: a role without grants
    role = "cs_nogrant_" + uuid.uuid4().hex[:8]
    db.sql('CREATE ROLE "%s" LOGIN' % role)
    try:
        rc, err = run_with("dbname=%s user=%s" % (db.name, role), *settle)
        t.eq(rc, 2, "06: permission denied: exit 2: %s" % err)
        t.check("permission denied" in err and "GRANT" in err.replace("Grant", "GRANT"),
                "06: says what to grant: %s" % err)
    finally:
        db.sql('DROP OWNED BY "%s"' % role)
        db.sql('DROP ROLE "%s"' % role)
    # a missing relation, a schema of another version, no schema
    missing = db.write_config(cfg_with(source={"transactions": "nowhere.sales"}), "m.yaml")
    r = db.run("settle", "--config", missing, "--period", "2026-11-04")
    t.eq(r.code, 2, "06: missing relation: exit 2: %r" % r)
    db.sql("INSERT INTO coopsettle.schema_version (version) VALUES (99)")
    r = db.run(*settle)
    t.check(r.code == 2 and "version 99" in r.stderr, "06: a newer schema: exit 2: %r" % r)
    db.sql("DELETE FROM coopsettle.schema_version WHERE version = 99")
    bare = TestDB(init=False)
    r = bare.run(*settle)
    t.check(r.code == 2 and "init-db" in r.stderr, "06: no schema: exit 2, run init-db: %r" % r)
    bare.drop()
    # a retry can cure a lock timeout: exit 1
    r = db.run(*settle, env={"PGOPTIONS": "-c lock_timeout=200"})
    t.eq(r.code, 0, "06: settle with a lock timeout set: %r" % r)
    conn = psycopg2.connect(dbname=db.name)
    try:
        with conn.cursor() as cur:  # hold the run lock
            cur.execute("SELECT pg_advisory_lock(7165059049155654245)")
            r = db.run("settle", "--config", path, "--period", "2026-11-05",
                       env={"PGOPTIONS": "-c lock_timeout=200"})
            t.eq(r.code, 1, "06: a lock timeout: exit 1 (retry): %r" % r)
    finally:
        conn.close()
    db.drop()


# ---------------------------------------------------------------- 7

def bk_07_summary_stdout(t):
    db = TestDB()
    path = db.write_config(CONFIG)
    db.add_members(MEMBERS)
    db.add_transactions([(1, "2026-11-02 10:00:00+01", 1, 10, 20334520, "EUR", "x")])
    r = db.run("settle", "--config", path, "--period", DAY)
    t.eq(r.code, 0, "07: settle")
    t.eq(r.stderr, "", "07: nothing on stderr")
    t.check("settle run 1: committed" in r.stdout, "07: the summary is on stdout: %r" % r.stdout)
    t.check("fees 20334.52 EUR" in r.stdout and "gross 203345.20 EUR" in r.stdout,
            "07: amounts as decimals with their currency: %r" % r.stdout)
    t.check("2033452" not in r.stdout, "07: no minor units: %r" % r.stdout)
    for d in range(1, 31):
        db.run("settle", "--config", path, "--period", "2026-11-%02d" % d)
    r = db.run("distribute", "--config", path, "--period", "2026-11")
    t.check(r.code == 0 and "fee income 20334.52 EUR" in r.stdout and
            "costs 1.00 EUR" in r.stdout and "surplus 20333.52 EUR" in r.stdout,
            "07: the distribute summary on stdout, in decimals: %r" % r)
    db.drop()


# ---------------------------------------------------------------- 8

def bk_08_rejects_and_classes(t):
    db = TestDB()
    path = db.write_config(CONFIG)
    db.add_members(MEMBERS)
    rows = [(1, "2026-11-02 10:00:00+01", 1, 10, 100000, "EUR", "x")]
    rows += [(100 + i, "2026-11-02 11:00:00+01", 1, 10, 500, "USD", "x") for i in range(25)]
    db.add_transactions(rows)
    r = db.run("settle", "--config", path, "--period", DAY)
    t.eq(r.code, 0, "08: quarantine settles: %r" % r)
    t.check("rejected   25 rows" in r.stdout, "08: the count: %r" % r.stdout)
    for i in range(20):
        t.check("transaction %d: currency 'USD'" % (100 + i) in r.stdout,
                "08: transaction %d listed with its reason" % (100 + i))
    t.check("transaction 120:" not in r.stdout and "... and 5 more" in r.stdout,
            "08: 20 listed, then a count: %r" % r.stdout)
    # fees borne by producers only: no consumer pays a fee, so the consumer
    # class of the patronage step has no eligible member
    for d in range(1, 31):
        db.run("settle", "--config", path, "--period", "2026-11-%02d" % d)
    r = db.run("distribute", "--config", path, "--period", "2026-11", "--dry-run")
    t.check("class consumer allocates nothing" in r.stdout and "paid fees" in r.stdout,
            "08: the empty class is named with the reason: %r" % r.stdout)
    r = db.run("distribute", "--config", path, "--period", "2026-11", "--json")
    t.eq(r.json().get("unallocated_classes") if r.code == 0 else r,
         [{"currency": "EUR", "step": "refund", "class": "consumer",
           "reason": "no member of the class paid fees in the window"}],
         "08: and in --json")
    db.drop()


# ---------------------------------------------------------------- 9

def bk_09_gap_free_ids(t):
    db = TestDB()
    path = db.write_config(CONFIG)
    abort = db.write_config(cfg_with(on_invalid="abort"), "abort.yaml")
    november(db, path, days=(2,))
    db.add_transactions([(9, "2026-11-04 10:00:00+01", 1, 10, 1, "USD", "x")])
    t.eq(db.run("settle", "--config", abort, "--period", "2026-11-04").code, 3, "09: a failed run")
    t.eq(db.run("settle", "--config", path, "--period", "2026-11").code, 4, "09: a losing run")
    t.eq(db.run("settle", "--config", path, "--period", DAY).code, 0, "09: an unchanged run")
    t.eq(db.run("settle", "--config", path, "--period", "2026-11-03", "--dry-run").code, 0,
         "09: a dry run")
    r = db.run("settle", "--config", path, "--period", "2026-11-03", "--json")
    t.eq(r.json()["run_id"] if r.code == 0 else r, 2, "09: the next run is run 2")
    r = db.run("verify", "--run", "3")
    t.check(r.code == 2 and "the last run is 2" in r.stderr and "deleted" not in r.stderr,
            "09: an id past the last is not called a deletion: %r" % r.stderr)
    for d in (5, 6):
        db.run("settle", "--config", path, "--period", "2026-11-%02d" % d)
    # an id left unused (as the sequence of schema version 5 and older did)
    as_replica(db, "UPDATE coopsettle.runs SET id = 10 WHERE id = 4")
    r = db.run("verify", "--run", "4")
    t.check(r.code == 2 and "no run was deleted there" in r.stderr,
            "09: a gap whose next run links on: no deletion: %r" % r.stderr)
    as_replica(db, "DELETE FROM coopsettle.runs WHERE id = 3")
    r = db.run("verify", "--run", "3")
    t.check(r.code == 2 and "a run between them was deleted" in r.stderr,
            "09: a broken link proves a deletion: %r" % r.stderr)
    db.drop()


# ---------------------------------------------------------------- 10

COMMANDS = ["init-db", "check-config", "settle", "distribute", "status", "verify", "explain",
            "export", "statements"]


def bk_10_command_line(t):
    db = TestDB(init=False)
    for cmd in COMMANDS:
        for flag in ("-h", "--help"):
            r = db.run(cmd, flag)
            t.check(r.code == 0 and r.stdout.startswith("usage:") and "exit codes:" in r.stdout,
                    "10: %s %s: help with exit codes: %r" % (cmd, flag, r))
    r = db.run("distribute", "--help")
    for opt in ("--config", "--period", "--from", "--to", "--dry-run", "--supersede",
                "--reason", "--allow-open", "--json", "--db"):
        t.check(opt in r.stdout, "10: distribute --help lists %s" % opt)
    r = db.run("init-db")
    t.check(r.code == 0 and "created" in r.stdout, "10: init-db on an empty database: %r" % r)
    r = db.run("init-db")
    t.check(r.code == 0 and "already current" in r.stdout, "10: init-db again: %r" % r)
    db.sql("DELETE FROM coopsettle.schema_version")
    db.sql("INSERT INTO coopsettle.schema_version (version) VALUES (4)")
    r = db.run("init-db")
    t.check(r.code == 0 and "migrated from version 4 to 8" in r.stdout, "10: migrated: %r" % r)
    # the global --db after the command
    path = db.write_config(CONFIG)
    db.add_members(MEMBERS)
    exe = command(None, db.conninfo(), [])[0]
    for args in (["settle", "--config", path, "--period", DAY, "--db", db.conninfo()],
                 ["verify", "--chain", "--db=" + db.conninfo()],
                 ["status", "--db", db.conninfo(), "--period", DAY, "--config", path],
                 ["init-db", "--db", db.conninfo()]):
        p = subprocess.run([exe] + args, capture_output=True, text=True, timeout=120)
        t.eq(p.returncode, 0, "10: %s with --db after it: %s" % (args[0], p.stderr))
    p = subprocess.run([exe, "--db", db.conninfo(), "verify", "--chain", "--db",
                        db.conninfo()], capture_output=True, text=True)
    t.check(p.returncode == 2 and "given twice" in p.stderr, "10: --db twice: %r" % p.stderr)
    # a failed write names the file asked for
    blocker = os.path.join(db.tmp, "file")
    open(blocker, "w").close()
    for args in (["export", "--run", "1", "--format", "csv", "--output",
                  os.path.join(blocker, "x.csv")],):
        r = db.run(*args)
        t.check(r.code != 0 and os.path.join(blocker, "x.csv") in r.stderr
                and ".tmp-" not in r.stderr, "10: names the file asked for: %r" % r.stderr)
    db.drop()


# ---------------------------------------------------------------- 11

def doc(name):
    with open(os.path.join(SOURCE_DIR, name), encoding="utf-8") as f:
        return f.read()


def bk_11_operations_guide(t):
    ops = doc("docs/operations.md")
    unit = doc("contrib/systemd/coopsettle-settle.service")
    blocks = "\n".join(re.findall(r"^```[a-z]*\n(.*?)^```", ops, re.S | re.M))
    commands = [line for line in blocks.splitlines() if "coopsettle" in line and
                re.search(r"\b(settle|distribute|status)\b", line)]
    for line in commands:
        if re.search(r"\bdistribute\b", line) and "--dry-run" not in line:
            t.check("--period last-year" in line or "--period 20" in line,
                    "11: a scheduled distribute runs once a year: %s" % line)
    t.check(any("settle" in line and "--period yesterday" in line for line in commands),
            "11: the nightly settle uses --period yesterday")
    t.check(any(re.search(r"coopsettle.* status", line) for line in commands),
            "11: the nightly sequence checks status")
    t.check(re.search(r"^ExecStart=\S*coopsettle settle .*--period yesterday", unit, re.M),
            "11: the unit settles --period yesterday")
    t.check(not re.search(r"^SuccessExitStatus=.*\b[45]\b", unit, re.M),
            "11: exit 4 and 5 fail the unit")
    table = re.search(r"## Exit codes and what to do\n(.*?)(\n## |\Z)", ops, re.S)
    for code in range(6):
        t.check(table and re.search(r"^\| %d \|[^|]+\|[^|]*\w" % code, table.group(1), re.M),
                "11: the exit code table says what to do after %d" % code)
    # the engine agrees: monthly distributions block the annual one, and the
    # refusal speaks of distributing
    db = TestDB()
    path = db.write_config(CONFIG)
    november(db, path, days=range(1, 31))
    t.eq(db.run("distribute", "--config", path, "--period", "2026-11").code, 0, "11: a month")
    r = db.run("distribute", "--config", path, "--period", "2026", "--allow-open")
    t.eq(r.code, 4, "11: then the year overlaps it: exit 4")
    hint = [line for line in r.stderr.splitlines() if line.startswith("hint:")]
    t.check(hint and "Settle" not in hint[0] and "istribut" in hint[0],
            "11: the hint speaks of distribute runs: %r" % r.stderr)
    db.drop()


CASES = [bk_01_closed_windows, bk_02_config_changes, bk_03_attribution, bk_04_honest_dry_runs,
         bk_05_tampering, bk_06_exit_codes, bk_07_summary_stdout, bk_08_rejects_and_classes,
         bk_09_gap_free_ids, bk_10_command_line, bk_11_operations_guide]

if __name__ == "__main__":
    t = Runner()
    only = sys.argv[1:]
    for case in CASES:
        if not only or case.__name__ in only:
            t.case(case)
    t.finish()
