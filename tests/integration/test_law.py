"""The cooperative law end to end (issue 18; spec 10.2, 10.3, 10.7): the
commands a board, an accountant and an auditor use on a version 2 run with
every law key -- explain, statements, verify, the window order and stale
runs -- and verify's wording for version 1 and settle drift. Figures are
worked by hand in the comments; the random cases are test_property_law.
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from harness import Runner, TestDB  # noqa: E402
import test_time_true as T  # noqa: E402

LAW = dict(T.CONFIG)
LAW["fees"] = [dict(T.CONFIG["fees"][0]),
               dict(T.CONFIG["fees"][1],
                    funds=[{"account": "liabilities:funds:community", "share": "1/3"}])]
LAW["surplus"] = {
    "costs": {"amount": {"EUR": "1.00"}},
    "opening": {"as_of": "2026-10-01", "balances": {
        "equity:reserves:legal": {"EUR": "2.00"}, "equity:reserves:free": {"EUR": "1.00"},
        "equity:loss-carried-forward": {"EUR": "3.00"}}},
    "loss_cover": ["equity:reserves:free", "equity:reserves:legal"],
    "total_assets": {"EUR": "100.00"},
    "steps": [
        {"id": "legal", "type": "account", "share": "50%", "account": "equity:reserves:legal",
         "until": {"share_of_total_assets": "10%"}},
        {"id": "interest", "type": "capital_interest", "rate": "10%",
         "basis": "opening_balance", "withholding": "26.375%"},
        {"id": "refund", "type": "patronage", "share": "remaining",
         "classes": {"producer": "50%", "consumer": "50%"}, "cash_fraction": "30%",
         "cap": "member_business", "notice": "qualified",
         "payment_due": {"months": 8, "days": 15}}]}


def setup(db, cfg=LAW):
    T.setup(db)
    return db.write_config(cfg, "law.yaml")


def november(t):
    """The November of test_time_true under the law. Settle: fees 2300, of
    the member rule's 1750 a third to the fund by LR per side (e.g. 125 ->
    42 + 83), fund 366, fee income 1934. Distribute: S = 1934 - 100 = 1834;
    L0 = 300 is covered first, S' = 1534; the legal reserve takes 50% = 767,
    within its room 10% x 100.00 - 2.00 = 800; interest on the opening
    balance, member 1: 10% x 1000.00 x 30 / 365 = 821.92, capped by A = 767,
    withheld floor(767 x 26.375%) = 202, net 565; the refund gets 0."""
    db = TestDB()
    path = setup(db)
    r = db.run("settle", "--config", path, "--period", "2026-11", "--json")
    t.eq(r.code, 0, "settle %r" % r)
    cur = r.json()["currencies"]["EUR"] if r.code == 0 else {}
    t.eq((cur.get("fees_minor"), cur.get("fee_income_minor"), cur.get("funds")),
         (2300, 1934, {"liabilities:funds:community": 366}), "fee income and the fund")
    r = db.run("distribute", "--config", path, "--period", "2026-11", "--json")
    t.eq(r.code, 0, "distribute %r" % r)
    st = r.json() if r.code == 0 else {"currencies": {"EUR": {}}, "members": []}
    e = st["currencies"]["EUR"]
    t.eq((e.get("surplus_minor"), e.get("loss_carried_in_minor"), e.get("loss_covered_minor"),
          e.get("distributable_minor"), e.get("loss_carried_out_minor")),
         (1834, 300, 300, 1534, 0), "S, L0, cover, S', loss out")
    t.eq([(s["id"], s["amount_minor"]) for s in e.get("steps", [])],
         [("legal", 767), ("interest", 767), ("refund", 0)], "steps")
    t.eq(e["steps"][2].get("payment_due"), "2027-08-14", "due: 2026-11-30 + 8 months + 15 days")
    m1 = [m for m in st["members"] if m["id"] == 1]
    t.eq((m1[0]["capital_interest_minor"], m1[0]["withheld_minor"],
          m1[0]["capital_interest_net_minor"]) if m1 else None, (767, 202, 565),
         "gross, withheld, net")
    lines = db.sql("SELECT line_no, account, party_id, amount_minor FROM coopsettle.ledger_lines"
                   " WHERE run_id = 2 ORDER BY line_no")
    t.eq(lines, [(1, "equity:surplus", None, 1834),
                 (2, "equity:loss-carried-forward", None, -300),
                 (3, "equity:reserves:legal", None, -767),
                 (4, "liabilities:capital-interest", 1, -565),
                 (5, "liabilities:withholding-tax", 1, -202)], "the lines, in order")
    # explain narrates it (it stopped on an assertion before) and agrees
    r = db.run("explain", "--run", "2", "--member", "1")
    t.eq(r.code, 0, "explain a version 2 distribute run %r" % r)
    for text in ("L0 = 300 (3.00 EUR)", "S' = S - c = 1534", "room max(0, target - b) = 800",
                 "i = 10% x C x d / Y = 60000/73", "withheld w = floor(I x 26.375%) = 202",
                 "202 (2.02 EUR) withheld, 565 (5.65 EUR) net",
                 "memberships (the run's snapshot): producer [2020-01-01, open)"):
        t.check(text in r.stdout, "explain says %r: %s" % (text, r.stdout[-1500:]))
    r = db.run("explain", "--run", "1", "--member", "3")
    t.check("5 liabilities:funds:community      -42" in r.stdout,
            "settle explain shows the fund lines: %s" % r.stdout[-2500:])
    t.check("DIFFER" not in r.stdout, "and they equal the stored ones")
    # statements: gross / withheld / net, a member of both classes
    out = os.path.join(db.tmp, "st")
    r = db.run("statements", "--run", "2", "--out", out)
    t.eq(r.code, 0, "statements %r" % r)
    with open(os.path.join(out, "member-1.txt")) as f:
        one = f.read()
    flat = " ".join(one.split())
    t.check("Tax withheld (26.375%) €2.02" in flat and
            "Interest paid to you (net) €5.65" in flat and "Interest (gross) €7.67" in flat,
            "the statement shows the gross, withheld and net interest: %s" % one)
    with open(os.path.join(out, "member-3.txt")) as f:
        three = f.read()
    t.check("Membership: producer and consumer" in three, "both classes: %s" % three)
    t.eq(db.run("verify", "--run", "2").code, 0, "the run verifies")
    db.drop()


def loss_year_and_order(t):
    """A loss year (costs 30.00 > fee income 19.34: S = -1066): the free
    reserve gives its 1.00, the legal reserve its 2.00, 766 is carried:
    lines +S, +100, +200, +766, and no step. Then a window that starts
    before it ends is exit 4, and superseding October names November
    stale (spec 10.7.3)."""
    db = TestDB()
    cfg = dict(LAW, surplus=dict(LAW["surplus"], costs={"amount": {"EUR": "30.00"}}))
    path = setup(db, cfg)
    t.eq(db.run("settle", "--config", path, "--period", "2026-10").code, 0, "settle October")
    t.eq(db.run("settle", "--config", path, "--period", "2026-11").code, 0, "settle November")
    r = db.run("distribute", "--config", path, "--period", "2026-11", "--json")
    t.eq(r.code, 0, "a loss year distributes %r" % r)
    e = r.json()["currencies"]["EUR"] if r.code == 0 else {}
    t.eq((e.get("surplus_minor"), e.get("steps"), e.get("loss_cover"),
          e.get("loss_carried_out_minor")),
         (-1066, [], [{"account": "equity:reserves:free", "amount_minor": 100},
                      {"account": "equity:reserves:legal", "amount_minor": 200}], 300 + 766),
         "cover from both reserves, the rest carried")
    run = r.json()["run_id"] if r.code == 0 else 0
    t.eq(db.sql("SELECT account, amount_minor FROM coopsettle.ledger_lines WHERE run_id = %s"
                " ORDER BY line_no", (run,)),
         [("equity:surplus", -1066), ("equity:reserves:free", 100),
          ("equity:reserves:legal", 200), ("equity:loss-carried-forward", 766)],
         "the loss year's lines")
    t.eq(db.run("verify", "--run", str(run)).code, 0, "the loss year verifies")
    r = db.run("distribute", "--config", path, "--period", "2026-10")
    t.eq(r.code, 4, "a window before a committed one: exit 4 %r" % r)
    t.check("distribute windows follow one another" in r.stderr, "says why: %s" % r.stderr)
    db.drop()


def stale_after_supersede(t):
    db = TestDB()
    path = setup(db)
    for p in ("2026-10", "2026-11"):
        t.eq(db.run("settle", "--config", path, "--period", p).code, 0, "settle " + p)
        t.eq(db.run("distribute", "--config", path, "--period", p).code, 0, "distribute " + p)
    db.sql("INSERT INTO coopsettle.capital_movements VALUES (3, '2026-10-05', 1000)")
    r = db.run("distribute", "--config", path, "--period", "2026-10", "--supersede", "--reason",
               "a payment booked late", "--json")
    t.eq(r.code, 0, "supersede October %r" % r)
    t.eq(r.json().get("stale_runs") if r.code == 0 else None, [4],
         "November's distribute run is stale")
    t.check("run 4 is now stale" in r.stderr, "and stderr says so: %s" % r.stderr)
    deps = db.sql("SELECT depends_on FROM coopsettle.runs WHERE id = 4")[0][0]
    t.check(2 in deps, "November depends on October's run (its balances): %r" % (deps,))
    db.drop()


def verify_wording(t):
    """A version 1 distribute run whose members changed is drift, not a
    run that does not reproduce; a settle run whose memberships alone
    drifted says so."""
    db = TestDB()
    v1 = dict(T.CONFIG, version=1, surplus={"costs": {"amount": {"EUR": "0"}}, "steps": [
        {"id": "interest", "type": "capital_interest", "rate": "10%"}]})
    db.add_members([(1, "producer", "2020-01-01", None, 100000),
                    (10, "consumer", "2020-01-01", None, 0)])
    db.add_transactions([(1, "2026-11-02 10:00:00+01", 1, 10, 100000, "EUR", "x")])
    path = db.write_config(v1)
    db.run("settle", "--config", path, "--period", "2026-11")
    t.eq(db.run("distribute", "--config", path, "--period", "2026-11").code, 0, "v1 distribute")
    db.sql("UPDATE coopsettle.members SET paid_in_capital_minor = 200000 WHERE id = 1")
    r = db.run("verify", "--run", "2", "--json")
    v = json.loads(r.stdout) if r.stdout.startswith("{") else {}
    t.eq((r.code, v.get("kind")), (5, "inputs_changed"), "version 1: the inputs changed")
    db.drop()
    db = TestDB()
    path = T.setup(db)
    T.settle_days(db, path, [12])
    db.sql("UPDATE coopsettle.members SET joined_on = '2026-11-11' WHERE id = 3"
           " AND class = 'consumer'")
    r = db.run("verify", "--run", "1")
    t.check("the transactions equal the run's input snapshot; the memberships below changed"
            in r.stdout, "settle drift of memberships alone: %s" % r.stdout[-800:])
    db.drop()


CASES = [november, loss_year_and_order, stale_after_supersede, verify_wording]

if __name__ == "__main__":
    t = Runner()
    only = sys.argv[1:]
    for case in CASES:
        if not only or case.__name__ in only:
            t.case(case)
    t.finish()
