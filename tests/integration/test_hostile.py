"""Hostile input end to end on a real PostgreSQL (issue 7 part 6;
docs/fuzzing.md, section "Hostile input").

Every case ends in a correct result or in a clear error -- the documented
exit code (spec section 8) and a message naming the place -- and never in a
crash or in anything half-written: after a failed run the output tables are
checked to be empty. Expected figures come from the independent reference
model (tests/integration/lib/reference.py, Python integers, so sums past
int64 are exact).

Cases: relation names with quotes, semicolons, spaces, dots, Unicode and
the longest names PostgreSQL keeps; names over the limits; amounts at the
int64 limits and sums past them; NULL in every column of both inputs;
invalid UTF-8 in a SQL_ASCII database; a 100 MB config (file and pipe), deep
nesting and an alias bomb, measured for time and memory; member classes
that are neither producer nor consumer; a trigger on an output table that
drops rows.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from harness import Runner, TestDB, command  # noqa: E402
import psycopg2  # noqa: E402
from psycopg2 import sql  # noqa: E402
import reference  # noqa: E402

INT64_MAX = 2 ** 63 - 1
INT64_MIN = -2 ** 63
# A run's failed command must end quickly and small, whatever the input:
# generous bounds that still catch reading 100 MB or expanding an alias bomb
# (ASan builds use more memory and time than release builds).
FAST_S = 10.0
SMALL_KB = 96 * 1024  # below the 100 MB a full read of the file would take

CONFIG = {
    "version": 1,
    "cooperative": "Hostile Markt eG",
    "currency": "EUR",
    "currencies": {"EUR": 2, "CHF": 2},
    "timezone": "Europe/Berlin",
    "rounding": "half_even",
    "on_invalid": "abort",
    "fees": [
        {"id": "guest-buyers", "when": {"consumer_member": False}, "rate": "9%",
         "min": "0.50", "borne_by": {"producer": "2/3", "consumer": "1/3"}},
        {"id": "food", "when": {"category": ["food", "café"]}, "rate": "1/7",
         "borne_by": {"producer": "1/2", "consumer": "1/2"}},
        {"id": "standard", "tiers": [{"up_to": "100.00", "rate": "8%"}, {"rate": "5%"}],
         "fixed": "0.10"},
    ],
}
MEMBERS = [
    (1, "producer", "2020-01-01", None, 10000),
    (2, "producer", "2020-01-01", None, 0),
    (10, "consumer", "2021-05-01", None, 5000),
    (11, "consumer", "2021-05-01", None, 0),
]
MEMBER_CLASSES = {m[0]: m[1] for m in MEMBERS}
DAY = "2026-11-02"
AT = "2026-11-02 12:00:00+01"

# Tables of the coopsettle schema that are not outputs; every other table
# (runs, ledger_lines, totals, rejects, and any added later) must stay empty
# after a failed run.
NOT_OUTPUT_TABLES = ("transactions", "members", "operating_costs", "schema_version")


def cfg_with(**kw):
    c = json.loads(json.dumps(CONFIG))
    c.update(kw)
    return c


def as_dicts(rows):
    return [dict(id=r[0], producer=r[2], consumer=r[3], amount=r[4], currency=r[5],
                 category=r[6]) for r in rows]


def write_config(db, cfg, name="config.yaml"):
    """Writes cfg as YAML (JSON without \\u escapes: YAML reads no surrogate
    pairs, so an emoji must be written as itself)."""
    path = os.path.join(db.tmp, name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(cfg if isinstance(cfg, str) else json.dumps(cfg, ensure_ascii=False, indent=1))
    return path


def nothing_written(t, db, what):
    tables = [r[0] for r in db.sql(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'coopsettle'"
        " AND table_type = 'BASE TABLE' ORDER BY 1") if r[0] not in NOT_OUTPUT_TABLES]
    t.check("runs" in tables and "ledger_lines" in tables, "%s: output tables found" % what)
    for table in tables:
        n = db.sql("SELECT count(*) FROM coopsettle.%s" % table)[0][0]
        t.eq(n, 0, "%s: nothing written to coopsettle.%s" % (what, table))


def run_bytes(db, *args, env=None, stdin=None):
    """Runs the engine; returns (exit code, stdout bytes, stderr bytes)."""
    e = dict(os.environ)
    if env:
        e.update(env)
    p = subprocess.run(command(None, db.conninfo(), args), capture_output=True, env=e,
                       stdin=stdin, timeout=600)
    return p.returncode, p.stdout, p.stderr


# GNU time reports the engine's own peak RSS. Without it, the peak of the
# process Python forks is used: an upper bound, since Linux keeps the
# forking Python's pages (about 30 MB) in that figure.
GNU_TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None


def measured(argv, stdin=None):
    """Runs argv; returns (exit code, seconds, peak RSS in KiB of that process,
    stdout, stderr as text)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile("r") as rss:
        if GNU_TIME:
            argv = [GNU_TIME, "-o", rss.name, "-f", "%M"] + list(argv)
        start = time.monotonic()
        p = subprocess.Popen(argv, stdout=out, stderr=err,
                             stdin=stdin if stdin is not None else subprocess.DEVNULL)
        _, status, usage = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        elapsed = time.monotonic() - start
        peak_kb = usage.ru_maxrss
        if GNU_TIME:
            text = rss.read().strip().splitlines()
            peak_kb = int(text[-1]) if text and text[-1].isdigit() else peak_kb
        out.seek(0)
        err.seek(0)
        return (p.returncode, elapsed, peak_kb, out.read().decode("utf-8", "replace"),
                err.read().decode("utf-8", "replace"))


def check_statement(t, st, cfg, rows, what):
    cur, parties, lines, _ = reference.settle(cfg, MEMBER_CLASSES, as_dicts(rows))
    t.eq(st["currencies"], cur, what + ": currency totals")
    t.eq(st["parties"], parties, what + ": party totals")
    return lines


def ledger_of(db, run_id):
    return [(a, b, c, d, int(e)) for a, b, c, d, e in db.sql(
        "SELECT transaction_id, account, party_id, currency, amount_minor::text"
        " FROM coopsettle.ledger_lines WHERE run_id = %s AND entry = 'post'"
        " ORDER BY journal, line_no", (run_id,))]


def create_source(db, schema, table, like="transactions"):
    """Creates schema.table (any bytes in either name) like coopsettle's."""
    with db.conn.cursor() as cur:
        cur.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        cur.execute(sql.SQL("CREATE TABLE {}.{} (LIKE coopsettle.{})").format(
            sql.Identifier(schema), sql.Identifier(table), sql.Identifier(like)))


def insert_rows(db, schema, table, rows):
    with db.conn.cursor() as cur:
        for r in rows:
            cur.execute(sql.SQL("INSERT INTO {}.{} VALUES (%s,%s,%s,%s,%s,%s,%s)").format(
                sql.Identifier(schema), sql.Identifier(table)), r)


# ---------------------------------------------------------------- relation names

HOSTILE_NAMES = [
    # (schema, table): quotes, semicolons, comment and injection attempts
    ('we"ird', 'tx"; DROP TABLE public.canary; --'),
    ("it's", "a'b;c"),
    # spaces, a dot in the table part (the name splits at its first dot)
    ("s p a c e", "t.a.b.l.e"),
    # Unicode: letters, CJK, an emoji, a combining accent
    ("Ünïcødé_схема", "取引 🌾 e\u0301"),
    # the longest names PostgreSQL keeps: 63 bytes each (NAMEDATALEN - 1)
    ("é" * 31 + "s", "ü" * 31 + "t"),
]


def relation_names(t):
    db = TestDB()
    db.add_members(MEMBERS)
    db.sql("CREATE TABLE public.canary (x int)")
    rows = [(1, AT, 1, None, 300, "EUR", "crafts"), (2, AT, 1, 10, 15000, "EUR", "food"),
            (3, AT, 2, 11, -2000, "CHF", None)]
    for k, (schema, table) in enumerate(HOSTILE_NAMES):
        create_source(db, schema, table)
        insert_rows(db, schema, table, rows)
        # members from a hostile relation too, in the same schema
        members = "m\"'; " + table[:10]
        create_source(db, schema, members, like="members")
        with db.conn.cursor() as cur:
            for m in MEMBERS:
                cur.execute(sql.SQL("INSERT INTO {}.{} VALUES (%s,%s,%s,%s,%s)").format(
                    sql.Identifier(schema), sql.Identifier(members)), m)
        name = "%s.%s" % (schema, table)
        cfg = cfg_with(source={"transactions": name, "members": "%s.%s" % (schema, members)})
        path = write_config(db, cfg, "names%d.yaml" % k)
        what = "relation %r (%d bytes)" % (name, len(name.encode()))
        r = db.run("check-config", path)
        t.eq(r.code, 0, what + ": check-config: %r" % r)
        # one committed run, the others dry (they share the window)
        args = ["settle", "--config", path, "--period", DAY, "--json"]
        if k > 0:  # the window is settled: a dry run of another config is a supersede's
            args += ["--dry-run", "--supersede", "--reason", "compare roundings"]
        r = db.run(*args)
        t.eq(r.code, 0, what + ": settle: %r" % r)
        if r.code != 0:
            continue
        st = r.json()
        lines = check_statement(t, st, cfg, rows, what)
        if k == 0:
            t.eq(ledger_of(db, st["run_id"]), lines, what + ": ledger lines")
    t.eq(db.sql("SELECT count(*) FROM public.canary")[0][0], 0, "canary table still there")
    db.drop()


def relation_limits(t):
    """Names PostgreSQL would cut (a part over 63 bytes) and names over the
    config's limit (200 bytes): exit 2, FILE:LINE:COL, nothing written."""
    db = TestDB()
    db.add_members(MEMBERS)
    cases = [
        ("s" * 100 + "." + "t" * 99, "more than PostgreSQL's 63"),      # 200 bytes
        ("public." + "ä" * 32, "more than PostgreSQL's 63"),            # table 64 bytes
        ("x" * 64 + ".t", "more than PostgreSQL's 63"),                  # schema 64 bytes
        ("s" * 100 + "." + "t" * 100, "more than the limit of 200"),     # 201 bytes
        ("public.", "empty schema or table part"),
        (".tx", "empty schema or table part"),
    ]
    for k, (name, needle) in enumerate(cases):
        cfg = cfg_with(source={"transactions": name})
        path = write_config(db, cfg, "limit%d.yaml" % k)
        what = "relation name of %d bytes %r" % (len(name.encode()), name[:20])
        for args in (["check-config", path], ["settle", "--config", path, "--period", DAY]):
            r = db.run(*args)
            t.eq(r.code, 2, "%s: %s exits 2: %r" % (what, args[0], r))
            t.check(needle in r.stderr, "%s: message says %r: %s" % (what, needle, r.stderr))
            t.check(r.stderr.startswith(path + ":"), "%s: message names FILE:LINE:COL" % what)
    nothing_written(t, db, "relation limits")
    # a relation that does not exist: an error naming it, nothing written
    cfg = cfg_with(source={"transactions": "nowhere.sales"})
    path = write_config(db, cfg, "missing.yaml")
    r = db.run("settle", "--config", path, "--period", DAY)
    t.check(r.code in (1, 2, 3), "missing relation: an error exit: %r" % r)
    t.check("nowhere" in r.stderr and "sales" in r.stderr, "missing relation named: %r" % r)
    nothing_written(t, db, "missing relation")
    db.drop()


# ---------------------------------------------------------------- int64 limits

def int64_limits(t):
    db = TestDB()
    db.add_members(MEMBERS)
    rows = [
        (1, AT, 1, 10, INT64_MAX, "EUR", "crafts"),
        (2, AT, 1, 10, INT64_MAX, "EUR", "crafts"),
        (3, AT, 1, 10, INT64_MAX - 1, "EUR", "crafts"),
        (4, AT, 1, None, INT64_MAX, "EUR", "crafts"),     # guest: min, split 2/3 1/3
        (5, AT, 2, 11, INT64_MIN, "EUR", "food"),         # |g| = 2^63 does not fit int64
        (6, AT, 2, 11, INT64_MIN, "EUR", "food"),
        (7, AT, 2, 11, INT64_MIN + 1, "CHF", "café"),
        (8, AT, 2, None, INT64_MIN, "CHF", "crafts"),
        (9, AT, 1, 11, 1, "CHF", "crafts"),
        (10, AT, 1, 11, -1, "CHF", "food"),
        # ids at the limits too: transaction, producer and consumer
        (INT64_MIN, AT, INT64_MAX, INT64_MIN, INT64_MAX, "EUR", "food"),
        (INT64_MAX, AT, INT64_MIN, INT64_MAX, INT64_MIN, "CHF", "crafts"),
    ]
    db.add_members([(INT64_MAX, "producer", "2020-01-01", None, INT64_MAX),
                    (INT64_MIN, "consumer", "2020-01-01", None, INT64_MIN)])
    member_classes = dict(MEMBER_CLASSES)
    member_classes.update({INT64_MAX: "producer", INT64_MIN: "consumer"})
    db.add_transactions(rows)
    for k, rounding in enumerate(("half_even", "up", "down", "half_up", "half_down")):
        cfg = cfg_with(rounding=rounding)
        path = write_config(db, cfg, "int64-%s.yaml" % rounding)
        args = ["settle", "--config", path, "--period", DAY, "--json"]
        if k > 0:  # the window is settled: a dry run of another config is a supersede's
            args += ["--dry-run", "--supersede", "--reason", "compare roundings"]
        r = db.run(*args)
        what = "int64 limits, %s" % rounding
        t.eq(r.code, 0, what + ": %r" % r)
        if r.code != 0:
            continue
        st = r.json()
        cur, parties, lines, _ = reference.settle(cfg, member_classes, as_dicts(rows))
        t.eq(st["currencies"], cur, what + ": currency totals")
        t.eq(st["parties"], parties, what + ": party totals")
        gross = st["currencies"]["EUR"]["gross_minor"]
        t.eq(gross, 4 * INT64_MAX + INT64_MAX - 1 + 2 * INT64_MIN, what + ": EUR gross exact")
        t.check(max(abs(p["gross_minor"]) for p in st["parties"]) > INT64_MAX,
                what + ": a party total past int64 is exact")
        if k == 0:
            t.eq(ledger_of(db, st["run_id"]), lines, what + ": ledger lines")
            bal = db.sql("SELECT currency, sum(amount_minor)::text FROM coopsettle.ledger_lines"
                         " GROUP BY 1 ORDER BY 1")
            t.eq(bal, [("CHF", "0"), ("EUR", "0")], what + ": ledger balances")
            stored = db.sql("SELECT side, party_id, currency, transactions, gross_minor::text,"
                            " fees_minor::text FROM coopsettle.party_totals WHERE run_id = %s"
                            " ORDER BY side DESC, party_id, currency", (st["run_id"],))
            want = [(p["side"], p["id"], p["currency"], p["transactions"], str(p["gross_minor"]),
                     str(p["fees_minor"])) for p in st["parties"]]
            t.eq(stored, want, what + ": stored party totals are exact")
            stored = db.sql("SELECT currency, gross_minor::text, fees_minor::text"
                            " FROM coopsettle.currency_totals WHERE run_id = %s ORDER BY 1",
                            (st["run_id"],))
            t.eq(stored, [(c, str(v["gross_minor"]), str(v["fees_minor"]))
                          for c, v in sorted(st["currencies"].items())],
                 what + ": stored currency totals are exact")
    # amounts that do not fit bigint in a source relation of another type
    db.sql("CREATE TABLE public.wide (LIKE coopsettle.transactions)")
    db.sql("ALTER TABLE public.wide ALTER COLUMN amount_minor TYPE numeric")
    db.sql("INSERT INTO public.wide VALUES (1, %s, 1, 10, 99999999999999999999999999, 'EUR', 'x')",
           (AT,))
    path = write_config(db, cfg_with(source={"transactions": "public.wide"}), "wide.yaml")
    r = db.run("settle", "--config", path, "--period", DAY, "--supersede", "--reason", "test correction")
    t.eq(r.code, 3, "amount past bigint: invalid input, exit 3: %r" % r)
    t.check("'public.wide'" in r.stderr and "bigint out of range" in r.stderr,
            "amount past bigint: the message says so and names the relation: %r" % r)
    t.eq(db.sql("SELECT count(*) FROM coopsettle.runs")[0][0], 1,
         "amount past bigint: no run written (the one before stays)")
    lines_before = db.sql("SELECT count(*) FROM coopsettle.ledger_lines")[0][0]
    # the same for members: an id past bigint, a date that is not one
    db.sql("CREATE TABLE public.wide_members (LIKE coopsettle.members)")
    db.sql("ALTER TABLE public.wide_members ALTER COLUMN id TYPE numeric,"
           " ALTER COLUMN joined_on TYPE text")
    for row, needle in (("(1e20, 'producer', '2020-01-01', NULL, 0)", "bigint out of range"),
                        ("(1, 'producer', 'soon', NULL, 0)", "invalid input syntax")):
        db.sql("TRUNCATE public.wide_members")
        db.sql("INSERT INTO public.wide_members VALUES " + row)
        path = write_config(db, cfg_with(source={"members": "public.wide_members"}), "wm.yaml")
        r = db.run("settle", "--config", path, "--period", "2026-11-05")
        t.eq(r.code, 3, "members %s: exit 3: %r" % (row, r))
        t.check("'public.wide_members'" in r.stderr and needle in r.stderr,
                "members %s: message: %r" % (row, r))
    t.eq(db.sql("SELECT count(*) FROM coopsettle.runs")[0][0], 1, "bad members: no run written")
    t.eq(db.sql("SELECT count(*) FROM coopsettle.ledger_lines")[0][0], lines_before,
         "bad values: no ledger line written")
    db.drop()


# ---------------------------------------------------------------- NULL everywhere

def nulls_everywhere(t):
    db = TestDB()
    db.add_members(MEMBERS)
    rows = [
        (None, None, None, None, None, None, None),       # every column NULL
        (None, AT, 1, 10, 100, "EUR", "x"),
        (20, None, 1, 10, 100, "EUR", "x"),
        (21, AT, None, 10, 100, "EUR", "x"),
        (22, AT, 1, None, 100, "EUR", "x"),               # a guest: valid
        (23, AT, 1, 10, None, "EUR", "x"),
        (24, AT, 1, 10, 100, None, "x"),
        (25, AT, 1, 10, 100, "EUR", None),                # no category: valid
        (26, AT, 1, None, 100, "EUR", None),              # guest, no category: valid
    ]
    db.add_transactions(rows)
    path = write_config(db, CONFIG)
    r = db.run("settle", "--config", path, "--period", DAY)
    t.eq(r.code, 3, "NULLs, abort: exit 3: %r" % r)
    for needle in ("6 invalid", "transaction NULL: id is null", "20: occurred_at is null",
                   "21: producer_id is null", "23: amount_minor is null",
                   "24: currency is null"):
        t.check(needle in r.stderr, "NULLs, abort: names %r: %s" % (needle, r.stderr))
    nothing_written(t, db, "NULLs, abort")
    path = write_config(db, cfg_with(on_invalid="quarantine"), "q.yaml")
    r = db.run("settle", "--config", path, "--period", DAY, "--json")
    t.eq(r.code, 0, "NULLs, quarantine: %r" % r)
    if r.code == 0:
        st = r.json()
        t.eq([(x["id"], x["reason"]) for x in st["rejected"]],
             [(None, "id is null"), (None, "id is null"), (20, "occurred_at is null"),
              (21, "producer_id is null"), (23, "amount_minor is null"),
              (24, "currency is null")], "NULLs, quarantine: rejects")
        valid = [r_ for r_ in rows if r_[0] in (22, 25, 26)]
        check_statement(t, st, CONFIG, valid, "NULLs, quarantine")

    # members: NULL in every column, then one NULL at a time
    for k, (member, needle) in enumerate([
            ((None, None, None, None, None), "member NULL: id is null"),
            ((5, None, "2020-01-01", None, 0), "member 5: class is null"),
            ((6, "producer", None, None, None), None),    # settle needs no dates or capital
    ]):
        db2 = TestDB()
        db2.add_members(MEMBERS + [member])
        db2.add_transactions([(1, AT, 1, 10, 1000, "EUR", "x")])
        p2 = write_config(db2, CONFIG)
        r = db2.run("settle", "--config", p2, "--period", DAY, "--json")
        what = "members row %r" % (member,)
        if needle is None:
            t.eq(r.code, 0, what + ": settles: %r" % r)
        else:
            t.eq(r.code, 3, what + ": exit 3: %r" % r)
            t.check(needle in r.stderr, what + ": names %r: %s" % (needle, r.stderr))
            nothing_written(t, db2, what)
        db2.drop()
    db.drop()


# ---------------------------------------------------------------- member classes

def member_classes(t):
    """A class that is neither producer nor consumer: exit 3 naming every
    such member (documented in docs/fuzzing.md), nothing written."""
    db = TestDB()
    bad = [(7, "Producer"), (8, "producer "), (9, ""), (12, "admin"), (13, "consumer\n"),
           (14, "pr\u00f6ducer")]
    db.add_members(MEMBERS + [(i, c, "2020-01-01", None, 0) for i, c in bad])
    db.add_transactions([(1, AT, 1, 10, 1000, "EUR", "x")])
    path = write_config(db, CONFIG)
    for cmd in (["settle", "--config", path, "--period", DAY],
                ["settle", "--config", path, "--period", DAY, "--dry-run"]):
        r = db.run(*cmd)
        t.eq(r.code, 3, "bad classes: %s exits 3: %r" % (cmd[-1], r))
        t.check("%d invalid member rows" % len(bad) in r.stderr, "bad classes: count: %s" % r.stderr)
        for i, _ in bad:
            t.check("member %d: class is neither 'producer' nor 'consumer'" % i in r.stderr,
                    "bad classes: names member %d: %s" % (i, r.stderr))
    nothing_written(t, db, "bad classes")
    db.drop()


def member_duplicates(t):
    """A members relation without a key that repeats ids (read in id order,
    so a repeat follows its first row; the engine then needs no probe for the
    others): exit 3 naming each repeated id once per repeat, nothing
    written."""
    db = TestDB()
    db.add_transactions([(1, AT, 1, 10, 1000, "EUR", "x")])
    with db.conn.cursor() as cur:
        cur.execute("CREATE TABLE public.dup_members (LIKE coopsettle.members)")
        for m in [(11, "consumer"), (2, "producer"), (1, "producer"), (10, "consumer"),
                  (2, "producer"), (11, "consumer"), (11, "consumer")]:
            cur.execute("INSERT INTO public.dup_members VALUES (%s, %s, '2020-01-01', NULL, 0)", m)
    path = write_config(db, cfg_with(source={"members": "public.dup_members"}))
    r = db.run("settle", "--config", path, "--period", DAY)
    t.eq(r.code, 3, "duplicate members: exit 3: %r" % r)
    t.check("3 invalid member rows" in r.stderr, "duplicate members: count: %s" % r.stderr)
    t.eq(r.stderr.count("member 2: duplicate id"), 1, "member 2 named once: " + r.stderr)
    t.eq(r.stderr.count("member 11: duplicate id"), 2, "member 11 named twice: " + r.stderr)
    t.check("member 1: duplicate" not in r.stderr and "member 10: duplicate" not in r.stderr,
            "members 1 and 10 are not repeats: " + r.stderr)
    nothing_written(t, db, "duplicate members")
    db.drop()


# ---------------------------------------------------------------- invalid UTF-8

class AsciiDB(TestDB):
    """A database that stores any byte: ENCODING SQL_ASCII (the cluster's
    databases are UTF8, which refuses invalid UTF-8)."""

    def __init__(self):
        self.name = "t_ascii_" + os.urandom(6).hex()
        admin = psycopg2.connect(dbname="postgres")
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute('CREATE DATABASE "%s" ENCODING SQL_ASCII LC_COLLATE \'C\' LC_CTYPE \'C\''
                        ' TEMPLATE template0' % self.name)
        admin.close()
        self.conn = psycopg2.connect(dbname=self.name)
        self.conn.autocommit = True
        self.tmp = tempfile.mkdtemp(prefix="cs_test_")
        r = self.run("init-db")
        assert r.code == 0, r


def invalid_utf8(t):
    db = AsciiDB()
    db.add_members(MEMBERS)
    # E'' escapes store the raw bytes; psycopg2 would refuse invalid UTF-8
    db.sql("INSERT INTO coopsettle.transactions VALUES"
           " (1, %s, 1, 10, 10000, 'EUR', E'\\xff\\xfe'),"       # not UTF-8 at all
           " (2, %s, 1, 10, 10000, 'EUR', E'caf\\xe9'),"          # Latin-1 'café'
           " (3, %s, 1, 10, 10000, 'EUR', E'caf\\xc3\\xa9'),"    # UTF-8 'café'
           " (4, %s, 1, 10, 10000, 'EUR', E'\\xc3'),"             # a cut sequence
           " (5, %s, 1, 10, 10000, 'EUR', 'food')", (AT,) * 5)
    # what the rows mean to the reference model: only exact bytes match
    rows = [(1, AT, 1, 10, 10000, "EUR", "\ufffd1"), (2, AT, 1, 10, 10000, "EUR", "\ufffd2"),
            (3, AT, 1, 10, 10000, "EUR", "café"), (4, AT, 1, 10, 10000, "EUR", "\ufffd4"),
            (5, AT, 1, 10, 10000, "EUR", "food")]
    path = write_config(db, CONFIG)
    code, out, err = run_bytes(db, "settle", "--config", path, "--period", DAY, "--json")
    t.eq(code, 0, "invalid UTF-8 category: %r %r" % (code, err))
    if code == 0:
        st = json.loads(out.decode("utf-8"))  # strict: the statement is valid UTF-8
        check_statement(t, st, CONFIG, rows, "invalid UTF-8 category")
        t.eq(ledger_of(db, st["run_id"]),
             reference.settle(CONFIG, MEMBER_CLASSES, as_dicts(rows))[2],
             "invalid UTF-8 category: ledger lines")
    # invalid UTF-8 in currency: a reject whose reason quotes it
    db.sql("INSERT INTO coopsettle.transactions VALUES"
           " (6, '2026-11-03 12:00:00+01', 1, 10, 500, E'EU\\xff', 'x'),"
           " (7, '2026-11-03 12:00:00+01', 1, 10, 500, 'EUR', 'x')")
    path = write_config(db, cfg_with(on_invalid="quarantine"), "q.yaml")
    code, out, err = run_bytes(db, "settle", "--config", path, "--period", "2026-11-03",
                               "--json")
    t.eq(code, 0, "invalid UTF-8 currency, quarantine: %r" % err)
    if code == 0:
        st = json.loads(out.decode("utf-8"))
        t.eq([x["id"] for x in st["rejected"]], [6], "invalid UTF-8 currency: rejected")
        t.check(st["rejected"][0]["reason"].startswith("currency 'EU"),
                "invalid UTF-8 currency: reason %r" % st["rejected"][0]["reason"])
        t.eq(st["currencies"]["EUR"]["transactions"], 1, "invalid UTF-8 currency: row 7 settled")
    path = write_config(db, CONFIG, "abort.yaml")
    code, out, err = run_bytes(db, "settle", "--config", path, "--period", "2026-11-03",
                               "--supersede", "--reason", "test correction")
    t.eq(code, 3, "invalid UTF-8 currency, abort: exit 3: %r" % err)
    t.check(b"6: currency 'EU" in err, "invalid UTF-8 currency, abort: names row 6: %r" % err)
    t.eq(db.sql("SELECT count(*) FROM coopsettle.runs WHERE status = 'committed'")[0][0], 2,
         "invalid UTF-8 currency, abort: nothing superseded")
    t.eq(db.sql("SELECT count(*) FROM coopsettle.ledger_lines WHERE entry = 'reversal'")[0][0], 0,
         "invalid UTF-8 currency, abort: no reversal written")
    db.drop()


def long_texts(t):
    """UTF-8 database: a currency cut for a message inside a multibyte
    character, a currency with control characters, and a 1 MB category."""
    db = TestDB()
    db.add_members(MEMBERS)
    rows = [(1, AT, 1, 10, 500, "a" + "Ä" * 9, "x"),      # 19 bytes: cut at 16
            (2, AT, 1, 10, 500, "E\tU\nR", "x"),
            (3, AT, 1, 10, 500, "EUR", "c" * 1000000),
            (4, AT, 1, 10, 500, "€" * 40, "x")]
    db.add_transactions(rows)
    path = write_config(db, cfg_with(on_invalid="quarantine"))
    r = db.run("settle", "--config", path, "--period", DAY, "--json")
    t.eq(r.code, 0, "long texts, quarantine: %r" % r)
    if r.code == 0:
        st = r.json()
        t.eq([x["id"] for x in st["rejected"]], [1, 2, 4], "long texts: rejected")
        check_statement(t, st, CONFIG, [rows[2]], "long texts")
        stored = db.sql("SELECT transaction_id, reason FROM coopsettle.settlement_rejects"
                        " ORDER BY ordinal")
        t.eq([s[0] for s in stored], [1, 2, 4], "long texts: rejects stored")
        t.eq([s[1] for s in stored], [x["reason"] for x in st["rejected"]],
             "long texts: stored reasons equal the statement's")
    db.drop()


def client_encoding(t):
    """The client's encoding (PGCLIENTENCODING) must not change what the
    engine reads: categories are compared with the config's UTF-8 bytes."""
    db = TestDB()
    db.add_members(MEMBERS)
    rows = [(1, AT, 1, 10, 10000, "EUR", "café"), (2, AT, 1, 10, 10000, "EUR", "crafts")]
    db.add_transactions(rows)
    path = write_config(db, CONFIG)
    want = None
    for env in ({}, {"PGCLIENTENCODING": "LATIN1"}, {"PGCLIENTENCODING": "SQL_ASCII"}):
        r = db.run("settle", "--config", path, "--period", DAY, "--dry-run", "--json", env=env)
        t.eq(r.code, 0, "client encoding %r: %r" % (env, r))
        if r.code != 0:
            continue
        st = r.json()
        check_statement(t, st, CONFIG, rows, "client encoding %r" % env)
        if want is None:
            want = st["hashes"]
        t.eq(st["hashes"], want, "client encoding %r: same hashes" % env)
    db.drop()


# ---------------------------------------------------------------- hostile configs

def billion_laughs():
    """The classic: nine levels of ten aliases, 10^9 "lol" if expanded."""
    lines = ['lol0: &l0 "lol"']
    for i in range(1, 10):
        lines.append("lol%d: &l%d [%s]" % (i, i, ", ".join(["*l%d" % (i - 1)] * 10)))
    return ("\n".join(lines) + "\nversion: 1\ncooperative: *l9\ncurrency: EUR\n"
            "currencies: {EUR: 2}\nfees: [{id: a, rate: 5%}]\n")


def huge_and_hostile_configs(t):
    db = TestDB()
    db.add_members(MEMBERS)
    db.add_transactions([(1, AT, 1, 10, 1000, "EUR", "x")])
    d = db.tmp
    cases = []
    # 100 MB: a valid config followed by 100 MB of comment
    big = os.path.join(d, "big.yaml")
    with open(big, "wb") as f:
        f.write(json.dumps(CONFIG).encode() + b"\n")
        chunk = (b"#" + b"x" * 1022 + b"\n") * 1024
        for _ in range(100):
            f.write(chunk)
    cases.append(("100 MB config", big, "more than the limit of 1048576 bytes"))
    # just over the limit, and exactly at it (which loads)
    head = json.dumps(CONFIG).encode() + b"\n"
    over = os.path.join(d, "over.yaml")
    with open(over, "wb") as f:
        f.write(head + b"#" * (1024 * 1024 + 1 - len(head) - 1) + b"\n")
    cases.append(("1 MiB + 1 byte config", over, "more than the limit of 1048576 bytes"))
    at = os.path.join(d, "at.yaml")
    with open(at, "wb") as f:
        f.write(head + b"#" * (1024 * 1024 - len(head) - 1) + b"\n")
    deep_flow = write_config(db, "version: 1\nx: " + "[" * 100000 + "]" * 100000 + "\n",
                                "deep_flow.yaml")
    cases.append(("100000 nested lists", deep_flow, "nesting is deeper than 32 levels"))
    deep_block = write_config(db, 
        "version: 1\nx:\n" + "".join(" " * (i + 1) + "k:\n" for i in range(500)), "deep_block.yaml")
    cases.append(("500 nested mappings", deep_block, "nesting is deeper than 32 levels"))
    laughs = write_config(db, billion_laughs(), "laughs.yaml")
    cases.append(("billion laughs", laughs, "anchor '&l0' is not allowed"))
    alias_keys = write_config(db, "a: &a x\n*a : 1\n" + "b: *a\n" * 100000, "aliases.yaml")
    cases.append(("100000 aliases", alias_keys, "alias '*a' is not allowed"))

    for what, path, needle in cases:
        for args in (["check-config", path], ["settle", "--config", path, "--period", DAY]):
            code, secs, rss_kb, _, err = measured(command(None, db.conninfo(), args))
            w = "%s, %s" % (what, args[0])
            t.eq(code, 2, "%s: exit 2 (%s)" % (w, err[:300]))
            t.check(needle in err, "%s: message says %r: %s" % (w, needle, err[:500]))
            t.check(err.startswith(path + ":"), "%s: message names the file: %s" % (w, err[:200]))
            t.check(secs < FAST_S, "%s: took %.2f s" % (w, secs))
            t.check(rss_kb < SMALL_KB, "%s: peak RSS %d KiB" % (w, rss_kb))
            print("measured: %s: exit %d in %.3f s, peak RSS %d KiB" % (w, code, secs, rss_kb))
    code, secs, rss_kb, _, err = measured(command(None, db.conninfo(), ["check-config", at]))
    t.eq(code, 0, "exactly 1 MiB config loads: %s" % err[:300])
    print("measured: 1 MiB config, check-config: exit %d in %.3f s, peak RSS %d KiB"
          % (code, secs, rss_kb))
    # 100 MB through a pipe: read up to the limit, not to the end
    feeder = subprocess.Popen(["head", "-c", str(100 * 1024 * 1024), big],
                              stdout=subprocess.PIPE)
    code, secs, rss_kb, _, err = measured(
        command(None, db.conninfo(), ["check-config", "/dev/stdin"]), stdin=feeder.stdout)
    feeder.stdout.close()
    feeder.wait()
    t.eq(code, 2, "100 MB pipe: exit 2: %s" % err[:300])
    t.check("more than the limit of 1048576 bytes" in err, "100 MB pipe: message: %s" % err[:300])
    t.check(secs < FAST_S and rss_kb < SMALL_KB, "100 MB pipe: %.2f s, %d KiB" % (secs, rss_kb))
    print("measured: 100 MB pipe, check-config: exit %d in %.3f s, peak RSS %d KiB"
          % (code, secs, rss_kb))
    nothing_written(t, db, "hostile configs")
    db.drop()


# ---------------------------------------------------------------- a server that changes rows

DIST_CONFIG = {
    "version": 1,
    "cooperative": "Hostile Markt eG",
    "currency": "EUR",
    "currencies": {"EUR": 2},
    "timezone": "Europe/Berlin",
    "fees": [{"id": "flat", "rate": "10%", "borne_by": {"producer": "1/2", "consumer": "1/2"}}],
    "surplus": {
        "costs": {"amount": {"EUR": "1.00"}},
        "steps": [
            {"id": "reserve", "type": "account", "share": "10%", "account": "equity:reserves"},
            {"id": "capital-interest", "type": "capital_interest", "rate": "3%"},
            {"id": "patronage", "type": "patronage", "share": "50%", "basis": "fees",
             "classes": {"producer": "60%", "consumer": "40%"}},
        ],
    },
}


def drop_rows_trigger(db, table, condition):
    """A BEFORE INSERT trigger that silently drops the rows matching
    condition: the server stores fewer rows than were sent, and says so only
    in its command tag."""
    db.sql("CREATE FUNCTION public.drop_some() RETURNS trigger LANGUAGE plpgsql AS"
           " $$ BEGIN IF %s THEN RETURN NULL; END IF; RETURN NEW; END $$" % condition)
    db.sql("CREATE TRIGGER drop_some BEFORE INSERT ON coopsettle.%s FOR EACH ROW"
           " EXECUTE FUNCTION public.drop_some()" % table)


def undo_trigger(db, table):
    db.sql("DROP TRIGGER drop_some ON coopsettle.%s" % table)
    db.sql("DROP FUNCTION public.drop_some()")


def server_drops_rows(t):
    """A trigger on an output table that drops rows: every COPY and the
    reversal INSERT are checked against the server's command tag before
    COMMIT, so the run fails with exit 1 naming the table, and nothing is
    written. A superseded run whose stored lines no longer match its record
    is refused (docs/architecture.md, "Invariants")."""
    rows = [(1, AT, 1, 10, 1000, "EUR", "x"), (2, AT, 2, 11, 2500, "EUR", "x"),
            (3, AT, 1, None, 700, "CHF", "x")]
    for table, cond, n_sent in (("ledger_lines", "NEW.line_no = 2", 10),
                                ("party_totals", "NEW.side = 'consumer'", 5),
                                ("currency_totals", "NEW.currency = 'CHF'", 2),
                                ("run_input_chunks", "true", 1)):
        db = TestDB()
        db.add_members(MEMBERS)
        db.add_transactions(rows)
        drop_rows_trigger(db, table, cond)
        path = write_config(db, CONFIG)
        r = db.run("settle", "--config", path, "--period", DAY)
        what = "trigger drops %s" % table
        t.eq(r.code, 1, "%s: exit 1: %r" % (what, r))
        t.check("rows of coopsettle.%s where %d were sent" % (table, n_sent) in r.stderr
                and "nothing was committed" in r.stderr, "%s: message: %s" % (what, r.stderr))
        nothing_written(t, db, what)
        undo_trigger(db, table)
        r = db.run("settle", "--config", path, "--period", DAY)
        t.eq(r.code, 0, "%s: without the trigger the run commits: %r" % (what, r))
        db.drop()

    # distribute: the ledger lines and the member allocations
    for table, cond in (("ledger_lines", "NEW.line_no = 3"),
                        ("member_allocations", "NEW.member_id = 10"),
                        ("distribution_steps", "NEW.ordinal = 2")):
        db = TestDB()
        db.add_members(MEMBERS)
        db.add_transactions([(1, AT, 1, 10, 100000, "EUR", "x"),
                             (2, AT, 2, 11, 250000, "EUR", "x")])
        path = write_config(db, DIST_CONFIG)
        r = db.run("settle", "--config", path, "--period", "2026-11")
        t.eq(r.code, 0, "distribute set-up: %r" % r)
        if table == "ledger_lines":
            cond += " AND NEW.run_id <> 1"
        drop_rows_trigger(db, table, cond)
        r = db.run("distribute", "--config", path, "--period", "2026-11")
        what = "distribute, trigger drops %s" % table
        t.eq(r.code, 1, "%s: exit 1: %r" % (what, r))
        t.check("rows of coopsettle.%s where" % table in r.stderr,
                "%s: message: %s" % (what, r.stderr))
        t.eq(db.sql("SELECT count(*) FROM coopsettle.runs WHERE kind = 'distribute'")[0][0], 0,
             what + ": no distribute run")
        for out in ("member_allocations", "distribution_steps"):
            t.eq(db.sql("SELECT count(*) FROM coopsettle.%s" % out)[0][0], 0,
                 "%s: nothing in %s" % (what, out))
        t.eq(db.sql("SELECT count(*) FROM coopsettle.ledger_lines WHERE run_id <> 1")[0][0], 0,
             what + ": no lines but the settle run's")
        undo_trigger(db, table)
        r = db.run("distribute", "--config", path, "--period", "2026-11")
        t.eq(r.code, 0, "%s: without the trigger the run commits: %r" % (what, r))
        db.drop()

    # --supersede of a run whose stored posted lines are not its record's count
    db = TestDB()
    db.add_members(MEMBERS)
    db.add_transactions(rows)
    path = write_config(db, CONFIG)
    r = db.run("settle", "--config", path, "--period", DAY)
    t.eq(r.code, 0, "supersede set-up: %r" % r)
    db.sql("INSERT INTO coopsettle.ledger_lines (run_id, entry, journal, line_no, account,"
           " currency, amount_minor) VALUES (1, 'post', 99, 1, 'x', 'EUR', 0)")
    db.sql("UPDATE coopsettle.transactions SET amount_minor = 1001 WHERE id = 1")
    r = db.run("settle", "--config", path, "--period", DAY, "--supersede", "--reason", "test correction")
    what = "supersede of a run with an added line"
    t.eq(r.code, 1, "%s: exit 1: %r" % (what, r))
    t.check("run 1 has 11 posted ledger lines but its record says 10" in r.stderr
            and "verify --run 1" in r.stderr, "%s: message: %s" % (what, r.stderr))
    # the failed run rolled back once: no server warning about a second ROLLBACK
    t.check("WARNING" not in r.stderr, "%s: no server warning: %s" % (what, r.stderr))
    t.eq(db.sql("SELECT id, status FROM coopsettle.runs ORDER BY id"), [(1, "committed")],
         what + ": run 1 stays committed, no new run")
    t.eq(db.sql("SELECT count(*) FROM coopsettle.ledger_lines WHERE run_id <> 1")[0][0], 0,
         what + ": no reversal lines")
    db.drop()


def main():
    t = Runner()
    for case in (relation_names, relation_limits, int64_limits, nulls_everywhere, member_classes,
                 member_duplicates, invalid_utf8, long_texts, client_encoding,
                 huge_and_hostile_configs, server_drops_rows):
        t.case(case)
    t.finish()


if __name__ == "__main__":
    main()
