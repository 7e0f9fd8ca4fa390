"""settle end to end on a real PostgreSQL (spec sections 3, 4, 5, 7, 8).

Expected figures come from tests/integration/lib/reference.py, an
independent model of the spec, or are worked by hand in the comments.
"""
import os
import random
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from harness import Runner, TestDB  # noqa: E402
import reference  # noqa: E402

BASE_CONFIG = {
    "version": 1,
    "cooperative": "Test Markt eG",
    "currency": "EUR",
    "currencies": {"EUR": 2, "CHF": 2},
    "timezone": "Europe/Berlin",
    "rounding": "half_even",
    "on_invalid": "abort",
    "fees": [
        {"id": "guest-buyers", "when": {"consumer_member": False}, "rate": "9%",
         "min": "0.50", "borne_by": {"producer": "2/3", "consumer": "1/3"}},
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


def tx(i, at, p, c, amount, cur="EUR", cat="crafts"):
    return (i, at, p, c, amount, cur, cat)


def as_dicts(rows):
    return [dict(id=r[0], producer=r[2], consumer=r[3], amount=r[4], currency=r[5],
                 category=r[6]) for r in rows]


def check_statement(t, st, cfg, rows, what):
    cur, parties, lines, rejected = reference.settle(cfg, MEMBER_CLASSES, as_dicts(rows))
    t.eq(st["currencies"], cur, what + ": currency totals")
    t.eq(st["parties"], parties, what + ": party totals")
    return lines


def ledger_of(db, run_id):
    return db.sql("SELECT transaction_id, account, party_id, currency, amount_minor::text"
                  " FROM coopsettle.ledger_lines WHERE run_id = %s AND entry = 'post'"
                  " ORDER BY journal, line_no", (run_id,))


def golden_basic(t):
    """A hand-checked day: guest purchase with min fee and split, tiered
    member purchase, refund, CHF sale."""
    db = TestDB()
    db.add_members(MEMBERS)
    rows = [
        # guest buys 3.00 EUR: 9% = 27 cents < min 50 -> 50; split 2/3,1/3:
        # quotas 33.33/16.67 -> 33 + 17 (larger remainder to consumer) = 50
        tx(1, "2026-11-02 10:00:00+01", 1, None, 300),
        # member buys 150.00: 0.10 + 8% of 100.00 + 5% of 50.00 = 10 + 800 + 250 = 1060
        tx(2, "2026-11-02 11:00:00+01", 1, 10, 15000),
        # refund of 150.00: -1060
        tx(3, "2026-11-02 12:00:00+01", 1, 10, -15000),
        # CHF sale by non-member producer 7 to member consumer 11: 10 + 8% of 20.00 = 170
        tx(4, "2026-11-02 13:00:00+01", 7, 11, 2000, "CHF"),
    ]
    db.add_transactions(rows)
    path = db.write_config(BASE_CONFIG)
    r = db.run("settle", "--config", path, "--period", "2026-11-02", "--json")
    t.eq(r.code, 0, "golden settle exit: %r" % r)
    st = r.json()
    t.eq(st["status"], "committed", "status")
    t.eq(st["window"], {"from": "2026-11-02T00:00:00+01:00", "to": "2026-11-03T00:00:00+01:00"},
         "window text")
    t.eq(st["currencies"]["EUR"], {"transactions": 3, "gross_minor": 300, "fees_minor": 50,
                                   "fees_producer_minor": 33, "fees_consumer_minor": 17},
         "hand-worked EUR totals")
    t.eq(st["currencies"]["CHF"], {"transactions": 1, "gross_minor": 2000, "fees_minor": 170,
                                   "fees_producer_minor": 170, "fees_consumer_minor": 0},
         "hand-worked CHF totals")
    lines = check_statement(t, st, BASE_CONFIG, rows, "golden")
    got = [(a, b, c, d, int(e)) for a, b, c, d, e in ledger_of(db, st["run_id"])]
    t.eq(got, lines, "ledger lines")
    bal = db.sql("SELECT currency, sum(amount_minor)::text FROM coopsettle.ledger_lines"
                 " GROUP BY currency ORDER BY 1")
    t.eq(bal, [("CHF", "0"), ("EUR", "0")], "ledger balances per currency")
    t.eq(st["rejected"], [], "nothing rejected")
    # the run record stores the statement without its party list; the
    # parties' figures are the run's party_totals rows, in the spec's order
    stored, want = db.stored_statement(st["run_id"], st)
    t.eq(stored, want, "stored statement is the --json statement without parties")
    parties = db.sql("SELECT party_id, side, currency, transactions::bigint,"
                     " gross_minor::bigint, fees_minor::bigint FROM coopsettle.party_totals"
                     " WHERE run_id = %s ORDER BY side <> 'producer', party_id, currency",
                     (st["run_id"],))
    t.eq([{"id": i, "side": s, "currency": c, "transactions": n, "gross_minor": g,
           "fees_minor": f} for i, s, c, n, g, f in parties], st["parties"],
         "party_totals hold the statement's parties")
    t.check(len(st["parties"]) == 4, "four parties: %r" % st["parties"])
    # without --json the summary is the same run's
    r = db.run("settle", "--config", path, "--period", "2026-11-02", "--dry-run")
    t.eq(r.code, 0, "dry run without --json: %r" % r)
    db.drop()


def dst_and_midnight(t):
    """Europe/Berlin: 2026-03-29 has 23 hours, 2026-10-25 has 25."""
    db = TestDB()
    db.add_members(MEMBERS)
    rows = [
        tx(1, "2026-03-28 23:00:00+00", 1, 10, 1000),  # 00:00 local, first instant: in
        tx(2, "2026-03-29 21:59:59.999999+00", 1, 10, 1000),  # 23:59:59.999999 CEST: in
        tx(3, "2026-03-29 22:00:00+00", 1, 10, 1000),  # 2026-03-30 00:00 CEST: out
        tx(4, "2026-03-28 22:59:59.999999+00", 1, 10, 1000),  # 03-28 23:59:59: out
        tx(5, "2026-10-24 22:00:00+00", 1, 10, 500),  # 10-25 00:00 CEST: in
        tx(6, "2026-10-25 22:59:59+00", 1, 10, 500),  # 10-25 23:59:59 CET: in
        tx(7, "2026-10-25 23:00:00+00", 1, 10, 500),  # 10-26 00:00 CET: out
    ]
    db.add_transactions(rows)
    path = db.write_config(BASE_CONFIG)
    r = db.run("settle", "--config", path, "--period", "2026-03-29", "--json")
    t.eq(r.code, 0, "dst spring exit %r" % r)
    st = r.json()
    t.eq(st["window"], {"from": "2026-03-29T00:00:00+01:00", "to": "2026-03-30T00:00:00+02:00"},
         "23-hour day window")
    t.eq(st["currencies"]["EUR"]["transactions"], 2, "spring day has rows 1 and 2")
    r = db.run("settle", "--config", path, "--period", "2026-10-25", "--json")
    st = r.json()
    t.eq(st["window"], {"from": "2026-10-25T00:00:00+02:00", "to": "2026-10-26T00:00:00+01:00"},
         "25-hour day window")
    t.eq(st["currencies"]["EUR"]["transactions"], 2, "autumn day has rows 5 and 6")
    r = db.run("settle", "--config", path, "--period", "2026-03-30", "--json")
    t.eq(r.json()["currencies"]["EUR"]["transactions"], 1, "row 3 is in the next day")
    db.drop()


def refunds_zero_guests_nonmembers(t):
    db = TestDB()
    db.add_members(MEMBERS)
    rows = [
        tx(1, "2026-11-05 09:00:00+01", 1, None, 1234),   # guest
        tx(2, "2026-11-05 09:01:00+01", 1, None, -1234),  # guest refund mirrors
        tx(3, "2026-11-05 09:02:00+01", 99, 10, 0),       # zero amount, non-member producer
        tx(4, "2026-11-05 09:03:00+01", 99, 10, 12345),
        tx(5, "2026-11-05 09:04:00+01", 99, 10, -12345),
        tx(6, "2026-11-05 09:05:00+01", 2, 55, 777),      # consumer 55 is not a member: guest rule
    ]
    db.add_transactions(rows)
    path = db.write_config(BASE_CONFIG)
    r = db.run("settle", "--config", path, "--period", "2026-11-05", "--json")
    t.eq(r.code, 0, "exit %r" % r)
    st = r.json()
    lines = check_statement(t, st, BASE_CONFIG, rows, "refunds/guests")
    got = [(a, b, c, d, int(e)) for a, b, c, d, e in ledger_of(db, st["run_id"])]
    t.eq(got, lines, "ledger lines (zero lines left out)")
    t.check(not any(l[0] == 3 for l in got), "zero amount writes no lines")
    e = st["currencies"]["EUR"]
    t.eq(e["transactions"], 6, "zero amount still counts as a transaction")
    t.check(all(p["id"] is not None for p in st["parties"]), "guests are not parties")
    db.drop()


INVALID_ROWS = [
    tx(None, "2026-11-06 10:00:00+01", 1, 10, 100),
    tx(20, None, 1, 10, 100),
    tx(21, "2026-11-06 10:00:00+01", None, 10, 100),
    tx(22, "2026-11-06 10:00:00+01", 1, 10, None),
    tx(23, "2026-11-06 10:00:00+01", 1, 10, 100, None),
    tx(24, "2026-11-06 10:00:00+01", 1, 10, 100, "USD"),
    tx(25, "2026-11-06 10:00:00+01", 1, 10, 100),
    tx(25, "2026-11-06 10:00:01+01", 1, 10, 200),
    tx(26, "2026-11-06 10:00:00+01", 1, 10, 100, "CHF", "food"),
    tx(27, "2026-11-06 10:00:00+01", 1, 10, 100),
]


def invalid_abort(t):
    db = TestDB()
    db.add_members(MEMBERS)
    db.add_transactions(INVALID_ROWS)
    cfg = dict(BASE_CONFIG)
    cfg["fees"] = [{"id": "eur-only", "when": {"currency": ["EUR"]}, "rate": "5%"}]
    path = db.write_config(cfg)
    r = db.run("settle", "--config", path, "--period", "2026-11-06")
    t.eq(r.code, 3, "abort exits 3: %r" % r)
    for needle in ["9 invalid", "transaction NULL: id is null", "20: occurred_at is null",
                   "21: producer_id is null", "22: amount_minor is null", "23: currency is null",
                   "24: currency 'USD' is not configured", "25: duplicate id",
                   "26: no fee rule matches"]:
        t.check(needle in r.stderr, "abort message names %r: %s" % (needle, r.stderr))
    t.check("27" not in r.stderr.split("detail")[1].split("hint")[0].replace("2026", ""),
            "valid row 27 is not listed")
    t.eq(db.sql("SELECT count(*) FROM coopsettle.runs")[0][0], 0, "abort writes no run")
    t.eq(db.sql("SELECT count(*) FROM coopsettle.ledger_lines")[0][0], 0, "abort writes no lines")
    db.drop()


def invalid_quarantine(t):
    db = TestDB()
    db.add_members(MEMBERS)
    db.add_transactions(INVALID_ROWS)
    cfg = dict(BASE_CONFIG)
    cfg["on_invalid"] = "quarantine"
    cfg["fees"] = [{"id": "eur-only", "when": {"currency": ["EUR"]}, "rate": "5%"}]
    path = db.write_config(cfg)
    r = db.run("settle", "--config", path, "--period", "2026-11-06", "--json")
    t.eq(r.code, 0, "quarantine exits 0: %r" % r)
    st = r.json()
    t.eq([(x["id"], x["reason"]) for x in st["rejected"]],
         [(None, "id is null"), (20, "occurred_at is null"), (21, "producer_id is null"),
          (22, "amount_minor is null"), (23, "currency is null"),
          (24, "currency 'USD' is not configured"), (25, "duplicate id"), (25, "duplicate id"),
          (26, "no fee rule matches")], "rejected rows in input order")
    t.eq(st["currencies"]["EUR"], {"transactions": 1, "gross_minor": 100, "fees_minor": 5,
                                   "fees_producer_minor": 5, "fees_consumer_minor": 0},
         "only row 27 settled")
    stored = db.sql("SELECT transaction_id, reason FROM coopsettle.settlement_rejects"
                    " WHERE run_id = %s ORDER BY ordinal", (st["run_id"],))
    t.eq(len(stored), 9, "rejects stored")
    db.drop()


def run_behaviour(t):
    db = TestDB()
    db.add_members(MEMBERS)
    rows = [tx(i, "2026-11-10 12:00:00+01", 1 + i % 2, 10 + i % 2, 1000 + i) for i in range(1, 30)]
    db.add_transactions(rows)
    path = db.write_config(BASE_CONFIG)
    # dry run writes nothing
    r = db.run("settle", "--config", path, "--period", "2026-11-10", "--dry-run", "--json")
    t.eq(r.code, 0, "dry run %r" % r)
    dry = r.json()
    t.eq(dry["status"], "dry_run", "dry-run status")
    t.eq(dry["run_id"], None, "dry run has no id")
    t.eq(db.sql("SELECT count(*) FROM coopsettle.runs")[0][0], 0, "dry run wrote nothing")
    # same input twice: identical hashes, whatever the locale and TZ
    r2 = db.run("settle", "--config", path, "--period", "2026-11-10", "--dry-run", "--json",
                env={"TZ": "America/New_York", "LC_ALL": "C"})
    t.eq(r2.json()["hashes"], dry["hashes"], "hashes do not depend on TZ or locale")
    r = db.run("settle", "--config", path, "--period", "2026-11-10", "--json")
    st = r.json()
    t.eq(st["hashes"], dry["hashes"], "committed run has the dry run's hashes")
    first = st["run_id"]
    # overlapping windows are refused; the same window again is unchanged
    for args in (["--period", "2026-11"],
                 ["--from", "2026-11-10T12:00:00+01:00", "--to", "2026-11-11"]):
        r = db.run("settle", "--config", path, *args)
        t.eq(r.code, 4, "overlap %s exits 4: %r" % (args, r))
        r = db.run("settle", "--config", path, "--dry-run", *args)
        t.eq(r.code, 4, "a dry run of overlap %s exits 4 too: %r" % (args, r))
    r = db.run("settle", "--config", path, "--period", "2026-11-10", "--json")
    t.eq((r.code, r.json()["status"] if r.code == 0 else r), (0, "unchanged"),
         "the same window again, unchanged: exit 0")
    r = db.run("settle", "--config", path, "--period", "2026-11", "--supersede", "--reason", "test correction")
    t.eq(r.code, 4, "supersede of a different window exits 4")
    # unchanged re-run
    r = db.run("settle", "--config", path, "--period", "2026-11-10", "--supersede", "--reason", "test correction", "--json")
    t.eq(r.code, 0, "unchanged exit %r" % r)
    t.eq(r.json()["status"], "unchanged", "unchanged status")
    t.eq(r.json()["run_id"], first, "unchanged names the committed run")
    t.eq(db.sql("SELECT count(*) FROM coopsettle.runs")[0][0], 1, "unchanged writes nothing")
    # correct a row, supersede
    db.sql("UPDATE coopsettle.transactions SET amount_minor = 99999 WHERE id = 5")
    r = db.run("settle", "--config", path, "--period", "2026-11-10", "--supersede", "--reason", "test correction", "--json")
    t.eq(r.code, 0, "supersede exit %r" % r)
    new = r.json()
    t.check(new["run_id"] > first, "a new run")
    t.check(new["hashes"]["input"] != st["hashes"]["input"], "input hash changed")
    runs = db.sql("SELECT id, status, supersedes FROM coopsettle.runs ORDER BY id")
    t.eq(runs, [(first, "superseded", None), (new["run_id"], "committed", first)], "run statuses")
    rows_now = [r_ if r_[0] != 5 else tx(5, r_[1], r_[2], r_[3], 99999) for r_ in rows]
    check_statement(t, new, BASE_CONFIG, rows_now, "superseded figures")
    # the ledger nets to the new run's lines: old posts + reversals cancel
    net = db.sql("SELECT journal, line_no, sum(amount_minor)::text FROM coopsettle.ledger_lines"
                 " GROUP BY 1, 2 HAVING sum(amount_minor) <> 0 ORDER BY 1, 2")
    newl = db.sql("SELECT journal, line_no, amount_minor::text FROM coopsettle.ledger_lines"
                  " WHERE run_id = %s AND entry = 'post' ORDER BY 1, 2", (new["run_id"],))
    t.eq(net, newl, "posted minus reversed equals the new run")
    # append-only
    for q in ("UPDATE coopsettle.ledger_lines SET amount_minor = 0",
              "DELETE FROM coopsettle.runs",
              "UPDATE coopsettle.runs SET output_sha256 = 'x'"):
        try:
            db.sql(q)
            t.check(False, "append-only refuses: " + q)
        except Exception as e:  # noqa: BLE001
            t.check("append-only" in str(e), "append-only message for %s: %s" % (q, e))
    chain = db.sql("SELECT prev_record_sha256, record_sha256 FROM coopsettle.runs ORDER BY id")
    t.eq(chain[1][0], chain[0][1], "run records are chained")
    db.drop()


def local_timestamps(t):
    """A source relation with `timestamp without time zone` is read as local
    time of the config's time zone, whatever the server's or client's zone."""
    db = TestDB()
    db.add_members(MEMBERS)
    db.sql("CREATE TABLE public.tx_local (id bigint, occurred_at timestamp, producer_id bigint,"
           " consumer_id bigint, amount_minor bigint, currency text, category text)")
    db.sql("INSERT INTO public.tx_local VALUES"
           " (1, '2026-11-02 00:30', 1, 10, 1000, 'EUR', 'x'),"
           " (2, '2026-11-01 23:30', 1, 10, 2000, 'EUR', 'x'),"
           " (3, '2026-11-02 23:59:59', 1, 10, 4000, 'EUR', 'x')")
    db.sql("ALTER DATABASE \"%s\" SET timezone = 'Pacific/Auckland'" % db.name)
    cfg = dict(BASE_CONFIG, source={"transactions": "public.tx_local"})
    path = db.write_config(cfg)
    for env in ({"PGTZ": "America/New_York"}, {"TZ": "Asia/Tokyo"}):
        r = db.run("settle", "--config", path, "--period", "2026-11-02", "--dry-run", "--json",
                   env=env)
        t.eq(r.code, 0, "local timestamps: %r" % r)
        t.eq(r.json()["currencies"]["EUR"]["gross_minor"], 5000,
             "rows 1 and 3 are on 2026-11-02 in Europe/Berlin (%s)" % env)
    db.drop()


def property_random(t):
    """Random rules and rows; the ledger balances per currency and the
    totals equal the reference model."""
    seed = int(os.environ.get("CS_SEED", "20261128"))
    rng = random.Random(seed)
    for case in range(int(os.environ.get("CS_SETTLE_CASES", "12"))):
        cfg = dict(BASE_CONFIG)
        cfg["rounding"] = rng.choice(["half_even", "half_up", "half_down", "down", "up"])
        rules = []
        for k in range(rng.randint(1, 4)):
            rule = {"id": "r%d" % k}
            when = {}
            if rng.random() < 0.3:
                when["category"] = rng.sample(["crafts", "food", "art"], rng.randint(1, 2))
            if rng.random() < 0.3:
                when["consumer_member"] = rng.random() < 0.5
            if rng.random() < 0.2:
                when["producer_member"] = rng.random() < 0.5
            if rng.random() < 0.2:
                when["min_amount"] = "%d.%02d" % (rng.randint(0, 20), rng.randint(0, 99))
            if rng.random() < 0.2:
                when["currency"] = [rng.choice(["EUR", "CHF"])]
            if when:
                rule["when"] = when
            if rng.random() < 0.5:
                rule["rate"] = rng.choice(["7.5%", "3/40", "0.125", "1/3", "0%", "100%", "2/7"])
            else:
                ups = sorted(rng.sample(range(1, 500), rng.randint(1, 3)))
                rule["tiers"] = [{"up_to": "%d.%02d" % (u, rng.randint(0, 99)),
                                  "rate": rng.choice(["8%", "1/7", "0.05", "12.5%"])} for u in ups]
                rule["tiers"].sort(key=lambda x: float(x["up_to"]))
                # strictly increasing after the random cents
                seen = []
                for tt in rule["tiers"]:
                    if seen and reference.Fraction(tt["up_to"]) <= reference.Fraction(seen[-1]):
                        tt["up_to"] = "%d.00" % (int(reference.Fraction(seen[-1])) + 1)
                    seen.append(tt["up_to"])
                rule["tiers"].append({"rate": rng.choice(["5%", "1/9", "0"])})
            if rng.random() < 0.4:
                rule["fixed"] = "0.%02d" % rng.randint(0, 99)
            if rng.random() < 0.3:
                rule["min"] = "0.%02d" % rng.randint(0, 99)
            if rng.random() < 0.3:
                rule["max"] = "%d.00" % rng.randint(1, 30)
            if rng.random() < 0.5:
                p = rng.choice(["1/2", "2/3", "1/3", "0.7", "0", "1", "1/7"])
                c = str(1 - reference.rate(p))
                rule["borne_by"] = {"consumer": c, "producer": p}
            rules.append(rule)
        rules.append({"id": "catch-all", "rate": "3%"})
        cfg["fees"] = rules
        db = TestDB()
        db.add_members(MEMBERS)
        rows = []
        for i in range(rng.randint(1, 300)):
            amt = rng.choice([rng.randint(-50000, 50000), rng.randint(0, 300), 0,
                              rng.randint(-10 ** 12, 10 ** 12)])
            rows.append(tx(i + 1, "2026-11-15 %02d:%02d:00+01" % (rng.randint(0, 23), rng.randint(0, 59)),
                           rng.choice([1, 2, 3]), rng.choice([10, 11, 12, None]), amt,
                           rng.choice(["EUR", "CHF"]), rng.choice(["crafts", "food", "art", None])))
        db.add_transactions(rows)
        path = db.write_config(cfg)
        r = db.run("settle", "--config", path, "--period", "2026-11-15", "--json")
        if r.code != 0:
            t.check(False, "seed %d case %d: %r" % (seed, case, r))
            db.drop()
            continue
        st = r.json()
        cur, parties, lines, rejected = reference.settle(cfg, MEMBER_CLASSES, as_dicts(rows))
        t.eq(st["currencies"], cur, "seed %d case %d: currency totals" % (seed, case))
        t.eq(st["parties"], parties, "seed %d case %d: parties" % (seed, case))
        bal = db.sql("SELECT count(*) FROM (SELECT currency FROM coopsettle.ledger_lines"
                     " GROUP BY currency HAVING sum(amount_minor) <> 0) x")[0][0]
        t.eq(bal, 0, "seed %d case %d: ledger balances" % (seed, case))
        got = [(a, b, c, d, int(e)) for a, b, c, d, e in ledger_of(db, st["run_id"])]
        t.eq(got, lines, "seed %d case %d: ledger lines" % (seed, case))
        db.drop()


def main():
    t = Runner()
    for case in (golden_basic, dst_and_midnight, refunds_zero_guests_nonmembers, invalid_abort,
                 invalid_quarantine, run_behaviour, local_timestamps, property_random):
        t.case(case)
    t.finish()


if __name__ == "__main__":
    main()
