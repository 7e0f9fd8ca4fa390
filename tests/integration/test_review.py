"""The outside review's defects (issue 15; docs/reliability.md, "Hostile
review"), one named case per item. Each case failed on the code before the
fix (docs/reliability.md says how that was checked).

 1 review_01_unchanged_*    "unchanged" needs the input hash too
 2 review_02_basis_tamper   member_allocations.patronage_basis_minor is verified
 3 review_03_huge_money     money past a bigint is a config error, not a crash
 4 review_04_inexact_*      a fraction in an integer source column is invalid input
 5 review_05_encoding_*     UTF-8 configs only; the database must store the text
 6 review_06_escapes        database strings never reach the terminal raw
 7 review_07_temp_files     exports and statements: mkstemp, no symlink, 0600
 8 review_08_time_zones     only host-independent IANA names
 9 review_09_missing_day    a day the clocks skipped is no day
10 review_10_verify_cannot  verify says first and only that it could not recompute
11 review_11_repeated       a repeated option is a usage error
"""
import hashlib
import json
import os
import stat
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from harness import Runner, TestDB, command  # noqa: E402

CONFIG = {
    "version": 1,
    "cooperative": "Review eG",
    "currency": "EUR",
    "currencies": {"EUR": 2},
    "timezone": "Europe/Berlin",
    "fees": [{"id": "flat", "rate": "10%"}],
    "surplus": {
        "costs": {"amount": {"EUR": "1.00"}},
        "steps": [
            {"id": "interest", "type": "capital_interest", "rate": "10%"},
            {"id": "refund", "type": "patronage", "share": "remaining", "basis": "fees",
             "classes": {"producer": "100%"}},
        ],
    },
}
MEMBERS = [
    (1, "producer", "2020-01-01", None, 100000),
    (2, "producer", "2020-01-01", None, 0),
    (10, "consumer", "2020-01-01", None, 0),
]


def cfg_with(**kw):
    c = json.loads(json.dumps(CONFIG))
    c.update(kw)
    return c


def output_tables_empty(t, db, what):
    for table in ("runs", "ledger_lines", "party_totals", "member_allocations"):
        t.eq(db.sql("SELECT count(*) FROM coopsettle.%s" % table)[0][0], 0,
             "%s: nothing in coopsettle.%s" % (what, table))


def posted(db, run_id):
    return db.sql("SELECT journal, line_no, transaction_id, account, party_id, currency,"
                  " amount_minor FROM coopsettle.ledger_lines WHERE run_id = %s"
                  " AND entry = 'post' ORDER BY journal, line_no", (run_id,))


# ---------------------------------------------------------------- 1

def review_01_unchanged_settle(t):
    db = TestDB()
    db.add_members(MEMBERS)
    path = db.write_config(CONFIG)
    db.add_transactions([(1, "2026-11-02 10:00:00+01", 1, 10, 10000, "EUR", "x"),
                         (2, "2026-11-02 11:00:00+01", 2, None, 5000, "EUR", "x")])
    r = db.run("settle", "--config", path, "--period", "2026-11-02", "--json")
    t.eq(r.code, 0, "01 settle: first run")
    # the transaction moves inside its day: same lines, another input
    db.sql("UPDATE coopsettle.transactions SET occurred_at = occurred_at + interval '1 hour'"
           " WHERE id = 2")
    r = db.run("verify", "--run", "1")
    t.eq(r.code, 5, "01 settle: verify sees the moved transaction")
    r = db.run("settle", "--config", path, "--period", "2026-11-02", "--supersede", "--reason", "test correction", "--json")
    t.eq(r.code, 0, "01 settle: supersede after an input-only change: %r" % r)
    st = r.json() if r.code == 0 else {}
    t.eq(st.get("status"), "committed", "01 settle: input-only change is not 'unchanged'")
    t.eq(st.get("run_id"), 2, "01 settle: a new run")
    t.eq(posted(db, 2), posted(db, 1), "01 settle: identical new lines")
    rev = db.sql("SELECT count(*), sum(amount_minor) FROM coopsettle.ledger_lines"
                 " WHERE run_id = 2 AND entry = 'reversal'")[0]
    t.eq((rev[0], int(rev[1])), (len(posted(db, 1)), 0), "01 settle: run 1 reversed whole")
    t.eq(db.run("verify", "--run", "2").code, 0, "01 settle: the new run verifies")
    # nothing changed since: now it is unchanged
    r = db.run("settle", "--config", path, "--period", "2026-11-02", "--supersede", "--reason", "test correction", "--json")
    t.eq(r.json()["status"] if r.code == 0 else r, "unchanged",
         "01 settle: unchanged when input and output match")
    db.drop()


def review_01_unchanged_distribute(t):
    db = TestDB()
    db.add_members(MEMBERS)
    path = db.write_config(CONFIG)
    db.add_transactions([(1, "2026-11-02 10:00:00+01", 1, 10, 10000, "EUR", "x"),
                         (2, "2026-11-03 11:00:00+01", 2, 10, 5000, "EUR", "x")])
    for day in ("2026-11-02", "2026-11-03"):
        t.eq(db.run("settle", "--config", path, "--period", day).code, 0, "01 dist: settle")
    r = db.run("distribute", "--config", path, "--from", "2026-11-02", "--to", "2026-11-04")
    t.eq(r.code, 0, "01 dist: distribute: %r" % r)
    # settle run 1 is superseded with identical fee totals (a moved transaction)
    db.sql("UPDATE coopsettle.transactions SET occurred_at = occurred_at + interval '1 hour'"
           " WHERE id = 1")
    r = db.run("settle", "--config", path, "--period", "2026-11-02", "--supersede", "--reason", "test correction", "--json")
    t.eq(r.json()["status"] if r.code == 0 else r, "committed", "01 dist: settle superseded")
    t.eq(db.run("verify", "--run", "3").code, 5, "01 dist: the distribute run now differs")
    r = db.run("distribute", "--config", path, "--from", "2026-11-02", "--to", "2026-11-04",
               "--supersede", "--reason", "test correction", "--json")
    t.eq(r.json()["status"] if r.code == 0 else r, "committed",
         "01 dist: a new distribute run, not 'unchanged'")
    new_id = r.json()["run_id"] if r.code == 0 else 0
    t.eq(db.run("verify", "--run", str(new_id)).code, 0, "01 dist: the new run verifies")
    t.eq(db.run("verify", "--chain").code, 0, "01 dist: the chain holds")
    db.drop()


# ---------------------------------------------------------------- 2

def as_replica(db, sql, params=None):
    with db.conn.cursor() as cur:
        cur.execute("SET session_replication_role = replica")
        cur.execute(sql, params)
        cur.execute("SET session_replication_role = DEFAULT")


def month(db, path, days=30):
    for day in range(1, days + 1):
        r = db.run("settle", "--config", path, "--period", "2026-11-%02d" % day)
        assert r.code == 0, r


def review_02_basis_tamper(t):
    db = TestDB()
    db.add_members(MEMBERS)
    path = db.write_config(CONFIG)
    db.add_transactions([(1, "2026-11-02 10:00:00+01", 1, 10, 10000, "EUR", "x"),
                         (2, "2026-11-03 11:00:00+01", 2, 10, 5000, "EUR", "x")])
    month(db, path)
    r = db.run("distribute", "--config", path, "--period", "2026-11", "--json")
    t.eq(r.code, 0, "02: distribute")
    run = r.json()["run_id"] if r.code == 0 else 0
    t.eq(db.run("verify", "--run", str(run)).code, 0, "02: verifies untouched")
    as_replica(db, "UPDATE coopsettle.member_allocations SET patronage_basis_minor ="
               " patronage_basis_minor + 100000 WHERE run_id = %s AND member_id = 1", (run,))
    r = db.run("verify", "--run", str(run))
    t.eq(r.code, 5, "02: a forged basis is caught: %r" % r)
    t.check("patronage_basis_minor" in r.stdout, "02: and named: %r" % r.stdout)
    as_replica(db, "UPDATE coopsettle.member_allocations SET patronage_basis_minor ="
               " patronage_basis_minor - 100000 WHERE run_id = %s AND member_id = 1", (run,))
    as_replica(db, "INSERT INTO coopsettle.member_allocations VALUES (%s, 3, 'EUR', 0, 0, 0, 0,"
               " 4242)", (run,))
    r = db.run("verify", "--run", str(run))
    t.eq(r.code, 5, "02: a row with only a basis is caught: %r" % r)
    as_replica(db, "DELETE FROM coopsettle.member_allocations WHERE run_id = %s AND"
               " patronage_basis_minor = 4242", (run,))
    t.eq(db.run("verify", "--run", str(run)).code, 0, "02: verifies again")
    db.drop()


def record_v1(db, run_id):
    """The run's record in format 1, as records were written before
    2026-12-01 (docs/reproducibility.md)."""
    (rid, kind, fu, tu, cfg, inp, out, ver, at, sup, prev) = db.sql(
        "SELECT id, kind, window_from_us, window_to_us, config_sha256, input_sha256,"
        " output_sha256, engine_version, created_at, supersedes, prev_record_sha256"
        " FROM coopsettle.runs WHERE id = %s", (run_id,))[0]
    text = ("coopsettle run record v1\nid=%d\nkind=%s\nwindow_from_us=%d\nwindow_to_us=%d\n"
            "config_sha256=%s\ninput_sha256=%s\noutput_sha256=%s\nengine_version=%s\n"
            "created_at=%s\nsupersedes=%s\nprev_record_sha256=%s\n"
            % (rid, kind, fu, tu, cfg, inp, out, ver, at, sup if sup else "\\N",
               prev if prev else "\\N"))
    return hashlib.sha256(text.encode()).hexdigest()


def review_02_record_formats(t):
    db = TestDB()
    db.add_members(MEMBERS)
    path = db.write_config(CONFIG)
    db.add_transactions([(1, "2026-11-02 10:00:00+01", 1, 10, 10000, "EUR", "x")])
    t.eq(db.run("settle", "--config", path, "--period", "2026-11-02").code, 0, "02: settle")
    # the statement is covered now (record format 2)
    as_replica(db, "UPDATE coopsettle.runs SET statement = replace(statement, '10000', '90000')"
               " WHERE id = 1")
    r = db.run("verify", "--chain")
    t.eq(r.code, 5, "02: an edited statement breaks the record hash: %r" % r)
    r = db.run("verify", "--run", "1")
    t.check(r.code == 5 and "the stored statement differs" in r.stdout,
            "02: and differs from the recomputation: %r" % r.stdout)
    as_replica(db, "UPDATE coopsettle.runs SET statement = replace(statement, '90000', '10000')"
               " WHERE id = 1")
    t.eq(db.run("verify", "--chain").code, 0, "02: restored")
    # a record written in format 1 (before this change) still verifies
    as_replica(db, "UPDATE coopsettle.runs SET record_sha256 = %s WHERE id = 1",
               (record_v1(db, 1),))
    t.eq(db.run("verify", "--chain").code, 0, "02: a format 1 record verifies (chain)")
    t.eq(db.run("verify", "--run", "1").code, 0, "02: a format 1 record verifies (run)")
    db.drop()


# ---------------------------------------------------------------- 3

def review_03_huge_money(t):
    db = TestDB(init=False)
    text = ("version: 1\ncooperative: Gold eG\ncurrency: XAU\ncurrencies: {XAU: 9}\n"
            "fees: [{id: all, rate: 1%}]\nsurplus:\n"
            "  costs: {amount: {XAU: \"999999999999999999999999999999\"}}\n"
            "  steps:\n    - {id: rest, type: account, share: remaining, account: \"e:r\"}\n")
    path = db.write_config(text)
    r = db.run("check-config", path)
    t.eq(r.code, 2, "03: check-config refuses money past a bigint: %r" % r)
    t.check("%s:7:" % path in r.stderr and "bigint" in r.stderr,
            "03: the message names the place and the bound: %r" % r.stderr)
    fixed = ("version: 1\ncooperative: C eG\ncurrency: EUR\ncurrencies: {EUR: 2}\n"
             "fees: [{id: all, rate: 1%, fixed: \"92233720368547758.08\"}]\n")
    r = db.run("check-config", db.write_config(fixed, "fixed.yaml"))
    t.eq(r.code, 2, "03: a fee of 2^63 minor units is refused")
    ok = fixed.replace("58.08", "58.07")
    t.eq(db.run("check-config", db.write_config(ok, "ok.yaml")).code, 0,
         "03: 2^63 - 1 minor units is accepted")
    db.drop()


# ---------------------------------------------------------------- 4

def numeric_source(db):
    db.sql("CREATE SCHEMA shop")
    db.sql("CREATE TABLE shop.tx (id numeric, occurred_at timestamptz, producer_id numeric,"
           " consumer_id numeric, amount_minor numeric, currency text, category text)")
    db.sql("CREATE TABLE shop.members (id numeric, class text, joined_on date, left_on date,"
           " paid_in_capital_minor numeric)")
    db.sql("CREATE TABLE shop.costs (booked_on date, currency text, amount_minor double precision)")
    for m in MEMBERS:
        db.sql("INSERT INTO shop.members VALUES (%s,%s,%s,%s,%s)", m)
    return cfg_with(source={"transactions": "shop.tx", "members": "shop.members",
                            "costs": "shop.costs"})


def review_04_inexact_transactions(t):
    db = TestDB()
    path = db.write_config(numeric_source(db))
    db.sql("INSERT INTO shop.tx VALUES (1, '2026-11-02 10:00+01', 1, 10, 1000.5, 'EUR', 'x'),"
           " (2, '2026-11-02 10:00+01', 1, 10, 2000, 'EUR', 'x')")
    r = db.run("settle", "--config", path, "--period", "2026-11-02")
    t.eq(r.code, 3, "04: amount_minor 1000.5 is invalid input: %r" % r)
    t.check("transaction 1: amount_minor 1000.5 is not a whole number" in r.stderr,
            "04: the message names the id and the value: %r" % r.stderr)
    output_tables_empty(t, db, "04 amount")
    db.sql("UPDATE shop.tx SET amount_minor = 1000.0 WHERE id = 1")
    db.sql("INSERT INTO shop.tx VALUES (1.4, '2026-11-02 10:00+01', 1, 10, 300, 'EUR', 'x')")
    r = db.run("settle", "--config", path, "--period", "2026-11-02")
    t.eq(r.code, 3, "04: id 1.4 is invalid input")
    t.check("id 1.4 is not a whole number" in r.stderr, "04: names id 1.4: %r" % r.stderr)
    db.sql("DELETE FROM shop.tx WHERE id = 1.4")
    r = db.run("settle", "--config", path, "--period", "2026-11-02", "--json")
    t.eq(r.code, 0, "04: whole numbers in numeric columns settle: %r" % r)
    if r.code == 0:
        t.eq(r.json()["currencies"]["EUR"]["gross_minor"], 3000, "04: exact gross")
    db.drop()


def review_04_inexact_members_costs(t):
    db = TestDB()
    cfg = numeric_source(db)
    cfg["surplus"]["costs"] = {"relation": "shop.costs"}
    path = db.write_config(cfg)
    db.sql("INSERT INTO shop.tx VALUES (1, '2026-11-02 10:00+01', 1, 10, 100000, 'EUR', 'x')")
    db.sql("UPDATE shop.members SET paid_in_capital_minor = 100000.25 WHERE id = 1")
    r = db.run("settle", "--config", path, "--period", "2026-11-02")
    t.eq(r.code, 3, "04: capital 100000.25 is invalid input: %r" % r)
    t.check("member 1: paid_in_capital_minor 100000.25 is not a whole number" in r.stderr,
            "04: names the member: %r" % r.stderr)
    db.sql("UPDATE shop.members SET paid_in_capital_minor = 100000 WHERE id = 1")
    t.eq(db.run("settle", "--config", path, "--period", "2026-11-02").code, 0, "04: settles")
    db.sql("INSERT INTO shop.costs VALUES ('2026-11-02', 'EUR', 99.5)")
    r = db.run("distribute", "--config", path, "--period", "2026-11-02")
    t.eq(r.code, 3, "04: a cost of 99.5 minor units is invalid input: %r" % r)
    t.check("amount_minor 99.5 is not a whole number" in r.stderr, "04: names it: %r" % r.stderr)
    db.drop()


# ---------------------------------------------------------------- 5

def review_05_encoding_config(t):
    db = TestDB(init=False)
    text = json.dumps(CONFIG)
    path = os.path.join(db.tmp, "utf16.yaml")
    with open(path, "wb") as f:
        f.write(text.encode("utf-16"))
    r = db.run("check-config", path)
    t.eq(r.code, 2, "05: a UTF-16 config is refused: %r" % r)
    t.check("%s:1:1:" % path in r.stderr and "UTF-16" in r.stderr, "05: says UTF-16: %r" % r.stderr)
    path = os.path.join(db.tmp, "nul.yaml")
    with open(path, "wb") as f:
        f.write(b"version: 1\n# a NUL \x00 here\n" + text.encode())
    r = db.run("check-config", path)
    t.eq(r.code, 2, "05: a NUL byte is refused")
    t.check("%s:2:9:" % path in r.stderr and "NUL" in r.stderr, "05: at its place: %r" % r.stderr)
    path = os.path.join(db.tmp, "latin1.yaml")
    with open(path, "wb") as f:
        f.write(text.replace("Review eG", "K\u00e4se eG").encode("latin-1"))
    r = db.run("check-config", path)
    t.eq(r.code, 2, "05: a Latin-1 byte is refused")
    t.check("not UTF-8" in r.stderr, "05: says why: %r" % r.stderr)
    db.drop()


def review_05_encoding_database(t):
    db = TestDB(encoding="LATIN1")
    db.add_members(MEMBERS)
    db.add_transactions([(1, "2026-11-02 10:00:00+01", 1, 10, 10000, "EUR", "x")])
    euro = db.write_config(cfg_with(cooperative="Euro \u20ac eG"), "euro.yaml")
    r = db.run("settle", "--config", euro, "--period", "2026-11-02")
    t.eq(r.code, 2, "05: a config the database cannot store: exit 2 up front: %r" % r)
    t.check("LATIN1" in r.stderr and "nothing was done" in r.stderr, "05: says why: %r" % r.stderr)
    output_tables_empty(t, db, "05 LATIN1")
    r = db.run("settle", "--config", euro, "--period", "2026-11-02", "--dry-run")
    t.eq(r.code, 2, "05: a dry run refuses it too")
    umlaut = db.write_config(cfg_with(cooperative="K\u00e4se eG"), "kaese.yaml")
    r = db.run("settle", "--config", umlaut, "--period", "2026-11-02")
    t.eq(r.code, 0, "05: a character LATIN1 has is fine: %r" % r)
    t.eq(db.run("verify", "--run", "1").code, 0, "05: and verifies")
    db.drop()


# ---------------------------------------------------------------- 6

def review_06_escapes(t):
    db = TestDB()
    db.add_members(MEMBERS)
    path = db.write_config(CONFIG)
    evil = "crafts\x1b[2J\r\nrun 1 verifies\x1b]0;owned\x07"
    db.add_transactions([(1, "2026-11-02 10:00:00+01", 1, 10, 10000, "EUR", evil)])
    t.eq(db.run("settle", "--config", path, "--period", "2026-11-02").code, 0, "06: settle")
    for args in (["explain", "--run", "1", "--member", "1"], ["verify", "--run", "1"],
                 ["verify", "--chain"]):
        r = db.run(*args)
        out = r.stdout + r.stderr
        t.check("\x1b" not in out and "\r" not in out and "\x07" not in out,
                "06: %s prints no control bytes: %r" % (args[0], out[:300]))
    # a category changed in the database after the run: verify quotes it
    db.sql("UPDATE coopsettle.transactions SET category = %s WHERE id = 1",
           ("x\nrun 1 verifies\x1b[0m",))
    r = db.run("verify", "--run", "1")
    out = r.stdout + r.stderr
    t.eq(r.code, 5, "06: the changed category is found")
    t.check("\x1b" not in out, "06: verify prints no ESC: %r" % out[-400:])
    t.check(not any(line.strip() == "run 1 verifies" for line in out.splitlines()),
            "06: no forged line: %r" % out[-400:])
    db.drop()


# ---------------------------------------------------------------- 7

def review_07_temp_files(t):
    db = TestDB()
    db.add_members(MEMBERS)
    path = db.write_config(CONFIG)
    db.add_transactions([(1, "2026-11-02 10:00:00+01", 1, 10, 10000, "EUR", "x")])
    month(db, path)
    r = db.run("distribute", "--config", path, "--period", "2026-11", "--json")
    run = str(r.json()["run_id"])
    out = os.path.join(db.tmp, "statements")
    os.mkdir(out, 0o755)
    victim = os.path.join(db.tmp, "victim")
    with open(victim, "w") as f:
        f.write("precious\n")
    # a symlink at the final name and at every name the old code would have used
    os.symlink(victim, os.path.join(out, "member-1.txt"))
    for pid in range(os.getpid(), os.getpid() + 2000):
        try:
            os.symlink(victim, os.path.join(out, "member-1.txt.tmp-%d" % pid))
        except FileExistsError:
            pass
    r = db.run("statements", "--run", run, "--out", out)
    t.eq(r.code, 0, "07: statements: %r" % r)
    with open(victim) as f:
        t.eq(f.read(), "precious\n", "07: no symlink was followed")
    st = os.lstat(os.path.join(out, "member-1.txt"))
    t.check(stat.S_ISREG(st.st_mode), "07: the symlink at the final name was replaced")
    t.eq(stat.S_IMODE(st.st_mode), 0o600, "07: statements are 0600")
    t.eq(stat.S_IMODE(os.stat(os.path.join(out, "member-1.html")).st_mode), 0o600,
         "07: the HTML too")
    fresh = os.path.join(db.tmp, "fresh")
    r = db.run("statements", "--run", run, "--out", fresh, "--group-readable")
    t.eq(r.code, 0, "07: --group-readable")
    t.eq(stat.S_IMODE(os.stat(os.path.join(fresh, "member-1.txt")).st_mode), 0o640,
         "07: --group-readable: 0640")
    t.eq(stat.S_IMODE(os.stat(fresh).st_mode), 0o750, "07: a new folder 0750")
    # export: the same temporary file, at a symlinked name
    journal = os.path.join(db.tmp, "run.journal")
    os.symlink(victim, journal)
    r = db.run("export", "--run", "1", "--format", "csv", "--output", journal)
    t.eq(r.code, 0, "07: export")
    with open(victim) as f:
        t.eq(f.read(), "precious\n", "07: export followed no symlink")
    t.check(not os.path.islink(journal), "07: the export replaced the symlink")
    leftovers = [n for n in os.listdir(out) if ".tmp-" in n and not os.path.islink(
        os.path.join(out, n))]
    t.eq(leftovers, [], "07: no temporary file is left")
    # a failed write names the file asked for
    r = db.run("export", "--run", "1", "--format", "csv", "--output",
               os.path.join(db.tmp, "nowhere", "x.csv"))
    t.check(r.code == 2 and "nowhere/x.csv'" in r.stderr and ".tmp-" not in r.stderr,
            "07: the error names the file asked for: %r" % r.stderr)
    db.drop()


# ---------------------------------------------------------------- 8

def review_08_time_zones(t):
    db = TestDB(init=False)
    for tz in ("localtime", "posixrules", "Factory", "right/Europe/Berlin",
               "posix/Europe/Berlin", "Europe/Nowhere", "/etc/localtime", "../zoneinfo/UTC"):
        r = db.run("check-config", db.write_config(cfg_with(timezone=tz), "tz.yaml"))
        t.eq(r.code, 2, "08: time zone %r is refused" % tz)
        t.check(":1:" in r.stderr or "timezone" in r.stderr or "time zone" in r.stderr,
                "08: %r: a positioned message: %r" % (tz, r.stderr))
    for tz in ("Europe/Berlin", "UTC", "Etc/UTC", "America/Argentina/Buenos_Aires",
               "Pacific/Apia", "Asia/Kolkata"):
        r = db.run("check-config", db.write_config(cfg_with(timezone=tz), "tz.yaml"))
        t.eq(r.code, 0, "08: time zone %r is accepted: %r" % (tz, r.stderr))
    db.drop()


# ---------------------------------------------------------------- 9

def review_09_missing_day(t):
    db = TestDB()
    cfg = cfg_with(timezone="Pacific/Apia")
    cfg["surplus"]["costs"] = {"amount": {"EUR": "0.00"}}
    path = db.write_config(cfg)
    db.add_members([(1, "producer", "2000-01-01", None, 3650000), (10, "consumer", "2000-01-01",
                                                                 None, 0)])
    db.add_transactions([(1, "2011-12-29 12:00:00-10", 1, 10, 1000000, "EUR", "x")])
    r = db.run("settle", "--config", path, "--period", "2011-12-30")
    t.eq(r.code, 2, "09: 2011-12-30 did not exist in Pacific/Apia: %r" % r)
    t.check("does not exist" in r.stderr, "09: says so: %r" % r.stderr)
    output_tables_empty(t, db, "09")
    for day in list(range(1, 30)) + [31]:
        r = db.run("settle", "--config", path, "--period", "2011-12-%02d" % day)
        t.eq(r.code, 0, "09: settle 2011-12-%02d" % day)
    r = db.run("distribute", "--config", path, "--period", "2011-12", "--json")
    t.eq(r.code, 0, "09: the month's days tile it: %r" % r)
    if r.code == 0:
        st = r.json()
        # 10% of 36,500.00 for 30 days (not 31) / 365 = 300.00
        members = {m["id"]: m for m in st["members"]}
        t.eq(members[1]["capital_interest_minor"], 30000, "09: interest for 30 days, not 31")
    db.drop()


# ---------------------------------------------------------------- 10

def review_10_verify_cannot(t):
    db = TestDB()
    db.add_members(MEMBERS)
    path = db.write_config(CONFIG)
    db.add_transactions([(i, "2026-11-02 10:00:00+01", 1, 10, 1000 * i, "EUR", "x")
                         for i in range(1, 6)])
    t.eq(db.run("settle", "--config", path, "--period", "2026-11-02").code, 0, "10: settle")
    db.add_members([(1, "producer", "2021-01-01", None, 0)])  # a duplicate member id
    r = db.run("verify", "--run", "1")
    t.eq(r.code, 5, "10: verify: exit 5")
    mism = [line for line in r.stdout.splitlines() if line.strip().startswith("MISMATCH")]
    t.eq(len(mism), 1, "10: one failed check, not every row: %r" % r.stdout)
    t.check(mism and "cannot be recomputed" in mism[0], "10: it says why: %r" % mism)
    t.check("duplicate id" in r.stdout, "10: names the cause: %r" % r.stdout)
    t.check("removed" not in r.stdout and "not recomputed" not in r.stdout,
            "10: no rows listed as removed: %r" % r.stdout)
    t.check("does not verify: the run cannot be recomputed" in r.stderr,
            "10: the error names what failed: %r" % r.stderr)
    t.check("recomputed \n" not in r.stdout and "recomputed  " not in r.stdout,
            "10: no blank hash: %r" % r.stdout)
    # a changed input: named by what failed, not by the passing wording
    db.sql("DELETE FROM coopsettle.members WHERE joined_on = '2021-01-01'")
    db.sql("UPDATE coopsettle.transactions SET amount_minor = 7 WHERE id = 1")
    r = db.run("verify", "--run", "1")
    t.check("does not verify: the input changed since the run" in r.stderr,
            "10: failed check named by what failed: %r" % r.stderr)
    db.drop()


# ---------------------------------------------------------------- 11

def review_11_repeated(t):
    db = TestDB()
    path = db.write_config(CONFIG)
    for args in (["settle", "--config", path, "--period", "2026-11", "--period", "2026-12"],
                 ["settle", "--config", path, "--config", path, "--period", "2026-11"],
                 ["distribute", "--config", path, "--period", "2026-11", "--dry-run",
                  "--dry-run"]):
        r = db.run(*args)
        t.eq(r.code, 2, "11: %s is a usage error" % " ".join(args[2:]))
        t.check("given twice" in r.stderr, "11: says so: %r" % r.stderr)
    p = subprocess.run([command(None, db.conninfo(), [])[0], "--db", db.conninfo(), "--db",
                        db.conninfo(), "init-db"], capture_output=True, text=True)
    t.eq(p.returncode, 2, "11: --db twice")
    for args in (["verify", "--run", "1", "--run", "2"], ["verify", "--chain", "--chain"],
                 ["export", "--run", "1", "--format", "csv", "--format", "hledger"],
                 ["statements", "--run", "1", "--out", "a", "--out", "b"]):
        r = db.run(*args)
        t.eq(r.code, 2, "11: %s is a usage error" % " ".join(args))
        t.check("given twice" in r.stderr, "11: says so: %r" % r.stderr)
    t.eq(db.sql("SELECT count(*) FROM coopsettle.runs")[0][0], 0, "11: nothing written")
    db.drop()


CASES = [review_01_unchanged_settle, review_01_unchanged_distribute, review_02_basis_tamper,
         review_02_record_formats, review_03_huge_money, review_04_inexact_transactions,
         review_04_inexact_members_costs, review_05_encoding_config,
         review_05_encoding_database, review_06_escapes, review_07_temp_files,
         review_08_time_zones, review_09_missing_day, review_10_verify_cannot,
         review_11_repeated]

if __name__ == "__main__":
    t = Runner()
    only = sys.argv[1:]
    for case in CASES:
        if not only or case.__name__ in only:
            t.case(case)
    t.finish()
