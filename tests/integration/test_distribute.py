"""distribute end to end on a real PostgreSQL (spec section 6).

The golden case is worked by hand in docs/surplus.md; the others are
compared with the independent reference model in lib/reference.py.
"""
import datetime
import os
import random
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from harness import Runner, TestDB  # noqa: E402
import reference  # noqa: E402

D = datetime.date

CONFIG = {
    "version": 1,
    "cooperative": "Surplus Test eG",
    "currency": "EUR",
    "currencies": {"EUR": 2},
    "timezone": "Europe/Berlin",
    "fees": [{"id": "flat", "rate": "10%", "borne_by": {"producer": "1/2", "consumer": "1/2"}}],
    "surplus": {
        "costs": {"amount": {"EUR": "100.00"}},
        "steps": [
            {"id": "legal-reserve", "type": "account", "share": "10%",
             "account": "equity:reserves:legal"},
            {"id": "capital-interest", "type": "capital_interest", "rate": "3%", "cap_share": "1%"},
            {"id": "patronage-refund", "type": "patronage", "share": "50%", "basis": "fees",
             "classes": {"producer": "60%", "consumer": "40%"}, "min_patronage": "1.00",
             "cash_fraction": "20%"},
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
    (3, "2026-11-20 10:00:00+01", 1, None, 40000, "EUR", "crafts"),
    (4, "2026-11-25 10:00:00+01", 2, 11, -80000, "EUR", "crafts"),
]


def settle_days(db, path, year, month, days):
    for d in range(1, days + 1):
        r = db.run("settle", "--config", path, "--period", "%04d-%02d-%02d" % (year, month, d))
        assert r.code == 0, r


def golden(t):
    db = TestDB()
    db.add_members(MEMBERS)
    db.add_transactions(ROWS)
    path = db.write_config(CONFIG)
    r = db.run("settle", "--config", path, "--period", "2026-11")
    t.eq(r.code, 0, "settle %r" % r)
    r = db.run("distribute", "--config", path, "--period", "2026-11", "--json")
    t.eq(r.code, 0, "distribute %r" % r)
    st = r.json()
    # worked by hand in docs/surplus.md
    t.eq(st["currencies"]["EUR"], {
        "fee_income_minor": 12000, "costs_minor": 10000, "surplus_minor": 2000,
        "steps": [{"id": "legal-reserve", "amount_minor": 200},
                  {"id": "capital-interest", "amount_minor": 20},
                  {"id": "patronage-refund", "amount_minor": 1000}],
        "retained_surplus_minor": 780}, "hand-worked waterfall")
    t.eq(st["members"], [
        {"id": 1, "currency": "EUR", "capital_interest_minor": 16, "patronage_minor": 600,
         "cash_minor": 120, "retained_minor": 480},
        {"id": 2, "currency": "EUR", "capital_interest_minor": 4, "patronage_minor": 0,
         "cash_minor": 0, "retained_minor": 0},
        {"id": 10, "currency": "EUR", "capital_interest_minor": 0, "patronage_minor": 400,
         "cash_minor": 80, "retained_minor": 320}], "hand-worked members")
    lines = db.sql("SELECT account, party_id, amount_minor::text FROM coopsettle.ledger_lines"
                   " WHERE run_id = %s ORDER BY line_no", (st["run_id"],))
    t.eq(lines, [("equity:surplus", None, "2000"), ("equity:reserves:legal", None, "-200"),
                 ("liabilities:capital-interest", 1, "-16"), ("liabilities:patronage", 1, "-120"),
                 ("equity:member-capital", 1, "-480"), ("liabilities:capital-interest", 2, "-4"),
                 ("liabilities:patronage", 10, "-80"), ("equity:member-capital", 10, "-320"),
                 ("equity:reserves:free", None, "-780")], "distribute ledger lines")
    alloc = db.sql("SELECT count(*) FROM coopsettle.member_allocations WHERE run_id = %s",
                   (st["run_id"],))[0][0]
    t.check(alloc >= 3, "member allocations stored")
    # the run record stores the statement without its member list; the
    # members' figures are the run's member_allocations rows
    stored, want = db.stored_statement(st["run_id"], st)
    t.eq(stored, want, "stored statement is the --json statement without members")
    rows = db.sql("SELECT member_id, currency, capital_interest_minor::bigint,"
                  " patronage_minor::bigint, cash_minor::bigint, retained_minor::bigint"
                  " FROM coopsettle.member_allocations WHERE run_id = %s"
                  " AND (capital_interest_minor, patronage_minor, cash_minor, retained_minor)"
                  " <> (0, 0, 0, 0) ORDER BY member_id, currency", (st["run_id"],))
    t.eq([{"id": m, "currency": c, "capital_interest_minor": ci, "patronage_minor": p,
           "cash_minor": ca, "retained_minor": re} for m, c, ci, p, ca, re in rows],
         st["members"], "member_allocations hold the statement's members")
    # unchanged, dry run, conflicts
    r = db.run("distribute", "--config", path, "--period", "2026-11", "--supersede", "--reason", "test correction", "--json")
    t.eq((r.code, r.json()["status"]), (0, "unchanged"), "unchanged distribute")
    # the same window again, nothing changed: unchanged, exit 0 (spec 10.4);
    # a dry run says what the real run would do
    r = db.run("distribute", "--config", path, "--period", "2026-11")
    t.eq(r.code, 0, "second distribute of the same window is unchanged: %r" % r)
    r = db.run("distribute", "--config", path, "--period", "2026-11", "--dry-run", "--json")
    t.eq((r.code, r.json()["status"]), (0, "unchanged"), "dry-run distribute")
    r = db.run("distribute", "--config", path, "--period", "2026-11-02", "--dry-run")
    t.eq(r.code, 4, "a dry run of an overlapping window exits 4, as the run would")
    t.eq(db.sql("SELECT count(*) FROM coopsettle.runs WHERE kind = 'distribute'")[0][0], 1,
         "one distribute run")
    db.drop()


def s_not_positive_and_empty_class(t):
    db = TestDB()
    db.add_members(MEMBERS)
    db.add_transactions(ROWS)
    cfg = dict(CONFIG)
    cfg["surplus"] = dict(CONFIG["surplus"], costs={"amount": {"EUR": "120.00"}})
    path = db.write_config(cfg)
    db.run("settle", "--config", path, "--period", "2026-11")
    r = db.run("distribute", "--config", path, "--period", "2026-11", "--json")
    st = r.json()
    t.eq(st["currencies"]["EUR"]["surplus_minor"], 0, "S = 0")
    t.eq(st["members"], [], "S <= 0 distributes nothing")
    t.eq(db.sql("SELECT count(*) FROM coopsettle.ledger_lines WHERE run_id = %s",
                (st["run_id"],))[0][0], 0, "S <= 0 writes no ledger lines")
    db.drop()
    # consumers all negative after refunds: the consumer class allocates nothing
    db = TestDB()
    db.add_members(MEMBERS)
    db.add_transactions(ROWS + [(5, "2026-11-26 10:00:00+01", 1, 10, -100000, "EUR", "crafts")])
    path = db.write_config(CONFIG)
    db.run("settle", "--config", path, "--period", "2026-11")
    r = db.run("distribute", "--config", path, "--period", "2026-11", "--json")
    st = r.json()
    want_cur, want_members = expected(CONFIG, db)
    t.eq(st["currencies"], want_cur, "empty class: currencies")
    t.eq(st["members"], want_members, "empty class: members")
    t.check(all(m["id"] not in (10, 11) for m in st["members"]), "no consumer is paid")
    db.drop()


def expected(cfg, db, first=D(2026, 11, 1), end=D(2026, 12, 1)):
    """Reference figures from what the database holds (members, settle totals)."""
    members = [(i, c, j, l, cap) for i, c, j, l, cap in
               db.sql("SELECT id, class, joined_on, left_on, paid_in_capital_minor"
                      " FROM coopsettle.members ORDER BY id")]
    runs = [r[0] for r in db.sql("SELECT id FROM coopsettle.runs WHERE kind = 'settle'"
                                 " AND status = 'committed'")]
    fee_income = {c: int(v) for c, v in db.sql(
        "SELECT currency, sum(fees_minor) FROM coopsettle.currency_totals WHERE run_id = ANY(%s)"
        " GROUP BY 1", (runs,))}
    exp = cfg["currencies"]
    if "amount" in cfg["surplus"].get("costs", {}):
        costs = {c: reference.money_minor(v, exp[c]) for c, v in cfg["surplus"]["costs"]["amount"].items()}
    else:
        costs = {c: int(v) for c, v in db.sql(
            "SELECT currency, sum(amount_minor) FROM coopsettle.operating_costs"
            " WHERE booked_on >= %s AND booked_on < %s GROUP BY 1", (first, end))}
    cls = {m[0]: m[1] for m in members}
    fees, gross = {}, {}
    for pid, side, cur, f, g in db.sql(
            "SELECT party_id, side, currency, sum(fees_minor), sum(gross_minor)"
            " FROM coopsettle.party_totals WHERE run_id = ANY(%s) GROUP BY 1, 2, 3", (runs,)):
        if cls.get(pid) == side:
            fees[(pid, cur)] = int(f)
            gross[(pid, cur)] = int(g)
    return reference.distribute(cfg, members, fee_income, costs, fees, gross, first, end)


def tiling(t):
    db = TestDB()
    db.add_members(MEMBERS)
    db.add_transactions(ROWS)
    path = db.write_config(CONFIG)
    r = db.run("distribute", "--config", path, "--period", "2026-11")
    t.eq(r.code, 3, "no settle run: exit 3 %r" % r)
    t.check("gap" in r.stderr, "names the gap: " + r.stderr)
    for d in ("2026-11-01", "2026-11-02", "2026-11-04"):
        db.run("settle", "--config", path, "--period", d)
    r = db.run("distribute", "--config", path, "--from", "2026-11-01", "--to", "2026-11-05")
    t.eq(r.code, 3, "gap on 11-03: exit 3")
    t.check("gap [2026-11-03T00:00:00+01:00, 2026-11-04T00:00:00+01:00)" in r.stderr,
            "names the gap exactly: " + r.stderr)
    r = db.run("distribute", "--config", path, "--from", "2026-11-01T12:00:00+01:00",
               "--to", "2026-11-03")
    t.eq(r.code, 3, "straddling: exit 3")
    t.check("straddles" in r.stderr, "names the straddling run: " + r.stderr)
    t.eq(db.sql("SELECT count(*) FROM coopsettle.runs WHERE kind = 'distribute'")[0][0], 0,
         "nothing written")
    db.drop()


def currency_dropped(t):
    """Settle runs in a currency the distribute config no longer lists: exit
    3 naming it, nothing written (the fee income and the patronage bases are
    both read per currency)."""
    db = TestDB()
    db.add_members(MEMBERS)
    db.add_transactions(ROWS + [(5, "2026-11-21 10:00:00+01", 1, 10, 50000, "CHF", "crafts")])
    cfg2 = dict(CONFIG, currencies={"EUR": 2, "CHF": 2},
                surplus=dict(CONFIG["surplus"], costs={"amount": {"EUR": "100.00", "CHF": "0"}}))
    r = db.run("settle", "--config", db.write_config(cfg2, "two.yaml"), "--period", "2026-11")
    t.eq(r.code, 0, "settle in EUR and CHF %r" % r)
    r = db.run("distribute", "--config", db.write_config(CONFIG), "--period", "2026-11")
    t.eq(r.code, 3, "distribute without CHF: exit 3 %r" % r)
    t.check("'CHF', which the config does not list" in r.stderr, "names CHF: " + r.stderr)
    t.eq(db.sql("SELECT count(*) FROM coopsettle.runs WHERE kind = 'distribute'")[0][0], 0,
         "nothing written")
    db.drop()


def random_config(rng):
    cfg = dict(CONFIG)
    cfg["currencies"] = {"EUR": 2, "CHF": 2}
    cfg["rounding"] = rng.choice(["half_even", "half_up", "down", "up", "half_down"])
    cfg["fees"] = [{"id": "f", "rate": rng.choice(["10%", "7.5%", "1/7"]),
                    "borne_by": {"producer": rng.choice(["1/2", "2/3", "1"]),
                                 "consumer": None}}]
    cfg["fees"][0]["borne_by"]["consumer"] = str(1 - reference.rate(cfg["fees"][0]["borne_by"]["producer"]))
    steps = []
    if rng.random() < 0.7:
        steps.append({"id": "reserve", "type": "account", "share": rng.choice(["10%", "1/3", "5%"]),
                      "account": "equity:reserves:legal"})
    if rng.random() < 0.7:
        s = {"id": "ci", "type": "capital_interest", "rate": rng.choice(["3%", "5%", "100%"])}
        if rng.random() < 0.5:
            s["cap_share"] = rng.choice(["1%", "20%", "50%"])
        steps.append(s)
    p = {"id": "pat", "type": "patronage", "share": rng.choice(["remaining", "50%", "2/3"]),
         "basis": rng.choice(["fees", "volume"]),
         "classes": rng.choice([{"producer": "60%", "consumer": "40%"},
                                {"consumer": "1/3", "producer": "2/3"}, {"producer": "1"}]),
         "cash_fraction": rng.choice(["20%", "1", "0", "1/3"])}
    if rng.random() < 0.5:
        p["min_patronage"] = rng.choice(["1.00", "0.50", "50.00"])
    steps.append(p)
    cfg["surplus"] = {"costs": {"relation": "coopsettle.operating_costs"}, "steps": steps}
    return cfg


def property_random(t):
    seed = int(os.environ.get("CS_SEED", "4242"))
    rng = random.Random(seed)
    for case in range(int(os.environ.get("CS_DISTRIBUTE_CASES", "5"))):
        cfg = random_config(rng)
        db = TestDB()
        members = []
        for i in range(1, rng.randint(3, 40)):
            joined = D(2026, rng.randint(9, 11), rng.randint(1, 28))
            left = None if rng.random() < 0.8 else joined + datetime.timedelta(days=rng.randint(1, 40))
            members.append((i, rng.choice(["producer", "consumer"]), joined.isoformat(),
                            left.isoformat() if left else None, rng.choice([0, 1000, 123457, 10 ** 9])))
        db.add_members(members)
        rows = []
        for k in range(rng.randint(5, 200)):
            rows.append((k + 1, "2026-11-%02d 12:00:00+01" % rng.randint(1, 30),
                         rng.randint(1, 45), rng.choice([None] + list(range(1, 45))),
                         rng.choice([rng.randint(-20000, 90000), rng.randint(0, 10 ** 9)]),
                         rng.choice(["EUR", "CHF"]), "x"))
        db.add_transactions(rows)
        db.sql("INSERT INTO coopsettle.operating_costs VALUES ('2026-11-05', 'EUR', %s),"
               " ('2026-11-30', 'CHF', %s), ('2026-12-01', 'EUR', 999999)",
               (rng.randint(0, 300000), rng.randint(0, 50000)))
        path = db.write_config(cfg)
        by_day = rng.random() < 0.5
        if by_day:
            settle_days(db, path, 2026, 11, 30)
        else:
            db.run("settle", "--config", path, "--period", "2026-11")
        r = db.run("distribute", "--config", path, "--period", "2026-11", "--json")
        if r.code != 0:
            t.check(False, "seed %d case %d: %r" % (seed, case, r))
            db.drop()
            continue
        st = r.json()
        want_cur, want_members = expected(cfg, db)
        t.eq(st["currencies"], want_cur, "seed %d case %d: currencies" % (seed, case))
        t.eq(st["members"], want_members, "seed %d case %d: members" % (seed, case))
        bal = db.sql("SELECT count(*) FROM (SELECT currency FROM coopsettle.ledger_lines"
                     " WHERE run_id = %s GROUP BY currency HAVING sum(amount_minor) <> 0) x",
                     (st["run_id"],))[0][0]
        t.eq(bal, 0, "seed %d case %d: balanced" % (seed, case))
        # the same month settled the other way gives the same figures
        db2 = TestDB()
        db2.add_members(members)
        db2.add_transactions(rows)
        for row in db.sql("SELECT booked_on, currency, amount_minor FROM coopsettle.operating_costs"):
            db2.sql("INSERT INTO coopsettle.operating_costs VALUES (%s, %s, %s)", row)
        path2 = db2.write_config(cfg)
        if by_day:
            db2.run("settle", "--config", path2, "--period", "2026-11")
        else:
            settle_days(db2, path2, 2026, 11, 30)
        r2 = db2.run("distribute", "--config", path2, "--period", "2026-11", "--json")
        st2 = r2.json()
        t.eq((st2["currencies"], st2["members"]), (st["currencies"], st["members"]),
             "seed %d case %d: month vs day by day" % (seed, case))
        db.drop()
        db2.drop()


def main():
    t = Runner()
    for case in (golden, s_not_positive_and_empty_class, tiling, currency_dropped,
                 property_random):
        t.case(case)
    t.finish()


if __name__ == "__main__":
    main()
