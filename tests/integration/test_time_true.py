"""Time-true records (issue 16; spec 10.1, 10.2, 10.4, 10.5): config
version 2 scenarios on a real PostgreSQL. Expected figures are worked by
hand in the comments.

- a member of both classes, memberships that end and start again;
- a later join leaves every earlier run verifying;
- a capital movement after a window leaves its distribute run verifying,
  one inside it is named as capital drift;
- a membership edited back in time is membership drift, naming the id;
- a tampered snapshot row: the run does not reproduce;
- overlapping memberships are invalid input naming the id;
- posting dates: a sale on its day, a distribution on the last day, a
  reversal on the day it is made;
- a run made with a version 1 config before the migration to schema
  version 5 verifies after it.
"""
import hashlib
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from harness import Runner, TestDB  # noqa: E402

CONFIG = {
    "version": 2,
    "cooperative": "Zeitecht eG",
    "currency": "EUR",
    "currencies": {"EUR": 2},
    "timezone": "Europe/Berlin",
    "fees": [
        {"id": "guests", "when": {"consumer_member": False}, "rate": "10%"},
        {"id": "members", "rate": "5%", "borne_by": {"producer": "1/2", "consumer": "1/2"}},
    ],
    "surplus": {
        "costs": {"amount": {"EUR": "0.00"}},
        "steps": [
            {"id": "interest", "type": "capital_interest", "rate": "10%"},
            {"id": "refund", "type": "patronage", "share": "remaining",
             "classes": {"producer": "50%", "consumer": "50%"}, "cash_fraction": "50%"},
        ],
    },
}
# member 3 sells all along and buys from 2026-11-10; member 10 buys until
# 2026-11-15 and again from 2026-11-20
MEMBERS = [
    (1, "producer", "2020-01-01", None, None),
    (3, "producer", "2020-01-01", None, None),
    (3, "consumer", "2026-11-10", None, None),
    (10, "consumer", "2020-01-01", "2026-11-15", None),
    (10, "consumer", "2026-11-20", None, None),
]
ROWS = [
    (1, "2026-11-02 10:00:00+01", 1, 10, 10000, "EUR", "x"),  # members: 250/250
    (2, "2026-11-05 10:00:00+01", 1, 3, 5000, "EUR", "x"),    # 3 no buyer yet: guest 500
    (3, "2026-11-12 10:00:00+01", 1, 3, 5000, "EUR", "x"),    # members: 125/125
    (4, "2026-11-16 10:00:00+01", 3, 10, 7000, "EUR", "x"),   # 10 between periods: 700
    (5, "2026-11-25 10:00:00+01", 3, 10, 7000, "EUR", "x"),   # members: 175/175
]
CAPITAL = [(1, "2025-01-01", 100000), (1, "2026-11-15", -50000), (3, "2026-11-01", 20000)]


def setup(db, path=None):
    db.add_members(MEMBERS)
    db.add_transactions(ROWS)
    for row in CAPITAL:
        db.sql("INSERT INTO coopsettle.capital_movements VALUES (%s, %s, %s)", row)
    return db.write_config(CONFIG)


def settle_days(db, path, days=range(1, 31)):
    for d in days:
        r = db.run("settle", "--config", path, "--period", "2026-11-%02d" % d)
        assert r.code == 0, r


def parties(st):
    return {(p["id"], p["side"], p["member"]): (p["transactions"], p["fees_minor"])
            for p in st["parties"]}


def month_whole_and_by_day(t):
    """The month as one run, and the same month day by day: the same party
    totals (summed), and the hand-worked member business."""
    db = TestDB()
    path = setup(db)
    r = db.run("settle", "--config", path, "--period", "2026-11", "--dry-run", "--json")
    t.eq(r.code, 0, "whole month: %r" % r)
    whole = parties(r.json())
    t.eq(whole, {(1, "producer", True): (3, 875),         # 250 + 500 + 125
                 (3, "producer", True): (2, 875),         # 700 + 175
                 (3, "consumer", False): (1, 0),          # before joining as a buyer
                 (3, "consumer", True): (1, 125),
                 (10, "consumer", False): (1, 0),         # between its periods
                 (10, "consumer", True): (2, 425)},       # 250 + 175
         "member business apart, a member of both classes")
    days = {}
    for d in range(1, 31):
        r = db.run("settle", "--config", path, "--period", "2026-11-%02d" % d, "--json")
        t.eq(r.code, 0, "day %d" % d)
        for k, (n, fees) in parties(r.json()).items():
            a = days.get(k, (0, 0))
            days[k] = (a[0] + n, a[1] + fees)
    t.eq(days, whole, "a month equals its days")
    # the distribution worked by hand: interest 616 and 159 (daily balance),
    # refunds by member business (docs/surplus.md rules, member business only)
    r = db.run("distribute", "--config", path, "--period", "2026-11", "--json")
    t.eq(r.code, 0, "distribute: %r" % r)
    members = {m["id"]: m for m in r.json()["members"]} if r.code == 0 else {}
    # member 1: 15 days x 1000.00 + 15 days x 500.00 = 22,500.00 day-euros;
    # 10% / 365 -> 6.16; member 3: 29 days x 200.00 -> 1.589 -> LR gives 1.59
    t.eq(members.get(1, {}).get("capital_interest_minor"), 616, "interest of member 1")
    t.eq(members.get(3, {}).get("capital_interest_minor"), 159, "interest of member 3")
    # pool 1525: producers 763 (381.5 each: 382 to the smaller id, 381),
    # consumers 762 by member business 125 : 425 -> 173 and 589
    t.eq(members.get(1, {}).get("patronage_minor"), 382, "refund of member 1")
    t.eq(members.get(3, {}).get("patronage_minor"), 381 + 173, "refund of member 3 (both classes)")
    t.eq(members.get(10, {}).get("patronage_minor"), 589, "refund of member 10")
    db.drop()


def later_join_and_capital(t):
    db = TestDB()
    path = setup(db)
    settle_days(db, path)
    r = db.run("distribute", "--config", path, "--period", "2026-11", "--json")
    dist = r.json()["run_id"]
    # a member who joins later, a capital movement after the window
    db.add_members([(42, "consumer", "2027-03-01", None, None),
                    (10, "producer", "2027-01-01", None, None)])
    db.sql("INSERT INTO coopsettle.capital_movements VALUES (1, '2026-12-05', 777)")
    bad = [i for i in range(1, dist + 1) if db.run("verify", "--run", str(i)).code != 0]
    t.eq(bad, [], "every earlier run still verifies")
    # a movement inside the window is capital drift
    db.sql("INSERT INTO coopsettle.capital_movements VALUES (3, '2026-11-20', 5000)")
    r = db.run("verify", "--run", str(dist), "--json")
    t.eq(r.code, 5, "capital drift: exit 5")
    v = json.loads(r.stdout) if r.stdout.startswith("{") else {}
    t.eq(v.get("kind"), "inputs_changed", "named as drift, not as a broken run")
    t.check("capital" in r.stdout and "2026-11-20" in r.stdout, "the row is named: %s"
            % r.stdout[-600:])
    db.drop()


def membership_back_in_time(t):
    db = TestDB()
    path = setup(db)
    settle_days(db, path, [5])
    # member 3 becomes a buyer from 2026-11-01 instead of 2026-11-10
    db.sql("UPDATE coopsettle.members SET joined_on = '2026-11-01' WHERE id = 3"
           " AND class = 'consumer'")
    r = db.run("verify", "--run", "1", "--json")
    t.eq(r.code, 5, "membership drift: exit 5")
    v = json.loads(r.stdout) if r.stdout.startswith("{") else {}
    t.eq(v.get("kind"), "inputs_changed", "kind inputs_changed")
    text = db.run("verify", "--run", "1").stdout
    # the snapshot of the 5th holds no consumer period of member 3 (it began
    # on the 10th): the row now is the drift
    t.check("member 3 consumer [2026-11-01, open): in the members now" in text,
            "the membership is named: %s" % text[-700:])
    t.check("the run reproduces from its snapshots" in text, "the run itself reproduces")
    r = db.run("settle", "--config", path, "--period", "2026-11-05", "--supersede", "--reason", "member 3 joined on the 1st", "--json")
    t.eq(r.json()["status"] if r.code == 0 else r, "committed", "a correction is a new run")
    t.eq(db.run("verify", "--run", "2").code, 0, "the correction verifies")
    db.drop()


def tampered_snapshot(t):
    db = TestDB()
    path = setup(db)
    settle_days(db, path, range(1, 31))
    r = db.run("distribute", "--config", path, "--period", "2026-11", "--json")
    dist = str(r.json()["run_id"])
    with db.conn.cursor() as cur:
        cur.execute("SET session_replication_role = replica")
        cur.execute("UPDATE coopsettle.run_memberships SET joined_on = '2026-11-01'"
                    " WHERE run_id = 12 AND member_id = 3 AND class = 'consumer'")
        cur.execute("UPDATE coopsettle.run_capital SET amount_minor = 90000"
                    " WHERE run_id = %s AND member_id = 1 AND amount_minor = 100000", (dist,))
        cur.execute("SET session_replication_role = DEFAULT")
    for run in ("12", dist):
        r = db.run("verify", "--run", run, "--json")
        v = json.loads(r.stdout) if r.stdout.startswith("{") else {}
        t.eq((r.code, v.get("kind")), (5, "does_not_reproduce"),
             "run %s with a tampered snapshot does not reproduce" % run)
        t.check("does not verify: the run's snapshots do not hash to input_sha256"
                in r.stderr, "and says why: %s" % r.stderr)
    db.drop()


def overlapping_memberships(t):
    db = TestDB()
    path = setup(db)
    db.add_members([(1, "producer", "2026-06-01", "2026-12-01", None),
                    (7, "consumer", "2026-05-01", "2026-05-01", None)])
    r = db.run("settle", "--config", path, "--period", "2026-11-02")
    t.eq(r.code, 3, "overlapping periods are invalid input: %r" % r)
    t.check("member 1: producer memberships overlap" in r.stderr, "names member 1: %s" % r.stderr)
    t.check("member 7: a consumer membership ends on or before it begins" in r.stderr,
            "names member 7: %s" % r.stderr)
    t.eq(db.sql("SELECT count(*) FROM coopsettle.runs")[0][0], 0, "nothing written")
    db.drop()


def posting_dates(t):
    db = TestDB()
    path = setup(db)
    settle_days(db, path)
    r = db.run("distribute", "--config", path, "--period", "2026-11", "--json")
    dist = r.json()["run_id"]
    got = db.sql("SELECT DISTINCT posted_on::text FROM coopsettle.ledger_lines WHERE"
                 " transaction_id = 4")
    t.eq(got, [("2026-11-16",)], "a sale is posted on its own local day")
    got = db.sql("SELECT DISTINCT posted_on::text FROM coopsettle.ledger_lines WHERE run_id = %s",
                 (dist,))
    t.eq(got, [("2026-11-30",)], "a distribution on the window's last local day")
    db.sql("UPDATE coopsettle.transactions SET amount_minor = 7100 WHERE id = 4")
    r = db.run("settle", "--config", path, "--period", "2026-11-16", "--supersede", "--reason", "sale 4 corrected", "--json")
    new = r.json()["run_id"]
    today = db.sql("SELECT (now() AT TIME ZONE 'Europe/Berlin')::date::text")[0][0]
    got = db.sql("SELECT DISTINCT posted_on::text FROM coopsettle.ledger_lines WHERE run_id = %s"
                 " AND entry = 'reversal'", (new,))
    t.eq(got, [(today,)], "a reversal is posted the day it is made, not in the closed period")
    r = db.run("export", "--run", str(new), "--format", "csv")
    t.check(("," + today + ",") in r.stdout and ",2026-11-16," in r.stdout,
            "the export dates each entry by posted_on: %s" % r.stdout[:600])
    db.drop()


def version1_before_migration(t):
    """A version 1 run made before schema version 5 -- its lines without a
    posting date, its party totals without a member flag, its record in
    format 1 -- verifies after init-db migrates the schema."""
    db = TestDB()
    v1 = dict(CONFIG, version=1)
    v1["surplus"] = dict(CONFIG["surplus"], steps=[
        {"id": "interest", "type": "capital_interest", "rate": "10%"},
        {"id": "refund", "type": "patronage", "share": "remaining",
         "classes": {"producer": "50%", "consumer": "50%"}, "cash_fraction": "50%"}])
    db.add_members([(1, "producer", "2020-01-01", None, 100000), (10, "consumer", "2020-01-01",
                                                                  None, 0)])
    db.add_transactions([(1, "2026-11-02 10:00:00+01", 1, 10, 10000, "EUR", "x")])
    path = db.write_config(v1)
    t.eq(db.run("settle", "--config", path, "--period", "2026-11-02").code, 0, "v1 settle")
    # the database as schema version 4 held it
    (rid, kind, fu, tu, cfg, inp, out, ver, at) = db.sql(
        "SELECT id, kind, window_from_us, window_to_us, config_sha256, input_sha256,"
        " output_sha256, engine_version, created_at FROM coopsettle.runs WHERE id = 1")[0]
    record = ("coopsettle run record v1\nid=%d\nkind=%s\nwindow_from_us=%d\nwindow_to_us=%d\n"
              "config_sha256=%s\ninput_sha256=%s\noutput_sha256=%s\nengine_version=%s\n"
              "created_at=%s\nsupersedes=\\N\nprev_record_sha256=\\N\n"
              % (rid, kind, fu, tu, cfg, inp, out, ver, at))
    with db.conn.cursor() as cur:
        cur.execute("SET session_replication_role = replica")
        cur.execute("UPDATE coopsettle.runs SET record_sha256 = %s",
                    (hashlib.sha256(record.encode()).hexdigest(),))
        cur.execute("SET session_replication_role = DEFAULT")
        cur.execute("DROP INDEX coopsettle.party_totals_key")
        cur.execute("ALTER TABLE coopsettle.ledger_lines DROP COLUMN posted_on")
        cur.execute("ALTER TABLE coopsettle.party_totals DROP COLUMN member")
        cur.execute("ALTER TABLE coopsettle.party_totals ADD PRIMARY KEY"
                    " (run_id, side, party_id, currency)")
        cur.execute("DROP TABLE coopsettle.run_memberships, coopsettle.run_capital,"
                    " coopsettle.run_costs, coopsettle.capital_movements")
        cur.execute("DELETE FROM coopsettle.schema_version WHERE version >= 5")
    r = db.run("settle", "--config", path, "--period", "2026-11-03")
    t.eq(r.code, 2, "an old schema is refused before the migration (exit 2): %r" % r)
    r = db.run("init-db")
    t.eq(r.code, 0, "init-db migrates: %r" % r)
    t.eq(db.run("verify", "--run", "1").code, 0, "the version 1 run verifies after it")
    t.eq(db.run("verify", "--chain").code, 0, "and the chain")
    t.eq(db.run("settle", "--config", path, "--period", "2026-11-03").code, 0,
         "and runs go on")
    t.eq(db.run("verify", "--chain").code, 0, "the chain goes on")
    db.drop()


def daily_balance_constant(t):
    """With constant capital, daily_balance is spec 6's rate * C * d / 365."""
    db = TestDB()
    cfg = dict(CONFIG)
    path = db.write_config(cfg)
    db.add_members([(1, "producer", "2026-11-11", None, None), (10, "consumer", "2020-01-01",
                                                                None, None)])
    db.sql("INSERT INTO coopsettle.capital_movements VALUES (1, '2019-05-05', 365000)")
    db.add_transactions([(1, "2026-11-20 10:00:00+01", 1, 10, 100000000, "EUR", "x")])
    settle_days(db, path)
    r = db.run("distribute", "--config", path, "--period", "2026-11", "--json")
    members = {m["id"]: m for m in r.json()["members"]}
    # 10% x 3650.00 x 20 days (11th to 30th) / 365 = 20.00
    t.eq(members[1]["capital_interest_minor"], 2000, "C * d / 365 with constant capital")
    db.drop()


def members_outside_the_window(t):
    """Found by test_property_v2: a member none of whose periods touch the
    window changed the numbers of the distribute lines (version 1 numbers
    three possible lines per member read), so verify's recomputation from
    the snapshot, which holds only the window's members, did not reproduce
    the run. And capital below 0 with no capital_interest step is no
    error: interest is computed nowhere (spec 10.7.6)."""
    db = TestDB()
    cfg = dict(CONFIG)
    cfg["surplus"] = dict(CONFIG["surplus"], steps=[
        {"id": "reserve", "type": "account", "share": "10%", "account": "equity:reserves:legal"},
        {"id": "refund", "type": "patronage", "share": "remaining",
         "classes": {"producer": "50%", "consumer": "50%"}}])
    path = db.write_config(cfg)
    # member 5 holds no day of November; 6 does, with capital below 0
    db.add_members([(1, "producer", "2020-01-01", None, None),
                    (5, "producer", "2027-01-01", None, None),
                    (6, "consumer", "2025-01-01", None, None)])
    db.sql("INSERT INTO coopsettle.capital_movements VALUES (6, '2025-01-05', -100)")
    db.add_transactions([(1, "2026-11-20 10:00:00+01", 1, None, 100000, "EUR", "x")])
    settle_days(db, path, [20])
    r = db.run("distribute", "--config", path, "--period", "2026-11-20", "--json")
    t.eq(r.code, 0, "capital below 0 without interest is no error: %r" % r)
    # fees 10000: reserve 1000, the producers' half 4500 to member 1, the
    # consumers' half (no eligible member) stays: retained surplus 4500
    got = db.sql("SELECT line_no, account, party_id, amount_minor FROM coopsettle.ledger_lines"
                 " WHERE run_id = 2 ORDER BY line_no")
    t.eq(got, [(1, "equity:surplus", None, 10000), (2, "equity:reserves:legal", None, -1000),
               (3, "liabilities:patronage", 1, -4500), (4, "equity:reserves:free", None, -4500)],
         "the lines are numbered as written, not by the members read")
    v = db.run("verify", "--run", "2")
    t.eq(v.code, 0, "the run reproduces from its snapshot of the window's members: %r" % v)
    db.drop()


CASES = [month_whole_and_by_day, later_join_and_capital, membership_back_in_time,
         tampered_snapshot, overlapping_memberships, posting_dates, version1_before_migration,
         daily_balance_constant, members_outside_the_window]

if __name__ == "__main__":
    t = Runner()
    only = sys.argv[1:]
    for case in CASES:
        if not only or case.__name__ in only:
            t.case(case)
    t.finish()
