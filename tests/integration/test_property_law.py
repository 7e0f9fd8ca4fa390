"""The cooperative law of config version 2 (issue 18; spec 10.2, 10.3, 10.7)
against the independent reference model, on random multi-window scenarios.

Each scenario is three consecutive windows (months, standing in for the
years a cooperative distributes; the law does not depend on a window's
length) of a small cooperative with every key of section 10.3 drawn at
random: fee funds, opening balances, loss cover in a random order, reserve
targets as amounts or as a share of total assets, capital interest on the
daily or the opening balance, blocked by a loss or not, with withholding,
patronage capped by member business (fees or volume) with a qualified
notice. Costs are drawn so that about a third of the windows make a loss:
a profit year, a loss year and a profit year that first covers the loss
all occur. Every scenario has its own sources (as test_property_v2) and
its own account names, and its surplus.opening.as_of is its first day, so
that only its own distribute runs feed its balances.

Per window: settle (compared with the model: totals, fund lines and
parts), distribute (statement, members and ledger lines compared with
reference.distribute_law given the model's own earlier results), the
model's invariants (lines balance per currency, a reserve never passes
its target, the loss carried is never negative, cover never exceeds a
reserve's balance, withheld + net = gross; fund parts + income = fee),
and the engine's own: the balances it starts from are the model's. The
last window's run verifies, and so does the chain.

CS_LAW_CASES (default 200; 60 in the sanitizer run, CS_SANITIZE) sets the number of scenarios, CS_SEED the seed.
"""
import datetime
import os
import random
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
sys.path.insert(0, os.path.dirname(__file__))
from harness import Runner, TestDB  # noqa: E402
import reference  # noqa: E402
import test_property_v2 as pv2  # noqa: E402

TD = datetime.timedelta


def law_config(rng, k, zone_name, first):
    """A version 2 config with the law's keys drawn at random; accounts
    named for scenario k."""
    cfg = pv2.random_config(rng, k, zone_name)
    sfx = ":s%d" % k
    legal, free, loss = ("equity:reserves:legal" + sfx, "equity:reserves:free" + sfx,
                         "equity:loss-carried-forward" + sfx)
    fund_a, fund_b = "liabilities:funds:community" + sfx, "liabilities:funds:culture" + sfx
    cfg["accounts"] = {"loss_carried_forward": loss, "retained_surplus": free,
                       "withholding": "liabilities:withholding-tax" + sfx}
    for rule in cfg["fees"]:
        if rng.random() < 0.5:
            rule["funds"] = [{"account": fund_a, "share": rng.choice(["50%", "1/3", "1%"])}]
            if rng.random() < 0.3:
                rule["funds"].append({"account": fund_b, "share": rng.choice(["10%", "1/7"])})
    steps = []
    if rng.random() < 0.8:
        st = {"id": "legal", "type": "account", "share": rng.choice(["10%", "1/3", "50%"]),
              "account": legal}
        if rng.random() < 0.8:
            st["until"] = rng.choice([
                {c: rng.choice(["0", "5.00", "300.00", "2000.00"]) for c in cfg["currencies"]
                 if rng.random() < 0.8} or {"EUR": "10.00"},
                {"share_of_total_assets": rng.choice(["1%", "10%", "1/3"])}])
        steps.append(st)
    if rng.random() < 0.8:
        st = {"id": "interest", "type": "capital_interest",
              "rate": rng.choice(["2%", "10%", "100%"]),
              "basis": rng.choice(["daily_balance", "opening_balance"])}
        if rng.random() < 0.5:
            st["blocked_by_loss"] = True
        if rng.random() < 0.6:
            st["withholding"] = rng.choice(["26.375%", "1/3", "0%", "100%"])
        if rng.random() < 0.3:
            st["cap_share"] = rng.choice(["5%", "50%"])
        steps.append(st)
    if rng.random() < 0.3 and steps and steps[0].get("share") != "50%":
        # a second step to the legal reserve, with its own room
        steps.append({"id": "legal-2", "type": "account", "share": "10%", "account": legal,
                      "until": {c: "400.00" for c in cfg["currencies"]}})
    pat = {"id": "refund", "type": "patronage", "share": rng.choice(["remaining", "50%"]),
           "classes": rng.choice([{"producer": "50%", "consumer": "50%"}, {"producer": "1"},
                                  {"consumer": "2/3", "producer": "1/3"}]),
           "basis": rng.choice(["fees", "volume"]),
           "cash_fraction": rng.choice(["20%", "30%", "1"])}
    if rng.random() < 0.6:
        pat["cap"] = "member_business"
        if rng.random() < 0.6:
            pat["cap_basis"] = rng.choice(["fees", "volume"])
    if rng.random() < 0.4:
        pat["notice"] = "qualified"
        pat["payment_due"] = rng.choice([{"months": 8, "days": 15}, {"months": 2},
                                         {"days": 30}])
    steps.append(pat)
    surplus = {"steps": steps,
               "costs": {"amount": {c: ("%d.00" % rng.choice([0, 5, 40, 300, 3000]) if e else
                                        str(rng.choice([0, 5, 40, 300, 3000])))
                                    for c, e in cfg["currencies"].items()}}}
    balances = {}
    for acct in (legal, free, loss):
        if rng.random() < 0.7:
            balances[acct] = {c: ("%d.00" % rng.choice([0, 20, 500]) if e else
                                  str(rng.choice([0, 20, 500])))
                              for c, e in cfg["currencies"].items() if rng.random() < 0.8}
    surplus["opening"] = {"as_of": first.isoformat(), "balances": balances}
    cover = [a for a in (free, legal) if a in balances]
    rng.shuffle(cover)
    if rng.random() < 0.8:
        surplus["loss_cover"] = cover + (["carry_forward"] if rng.random() < 0.5 else [])
    surplus["total_assets"] = {c: ("%d.00" % rng.choice([100, 5000, 100000]) if e else
                                   str(rng.choice([100, 5000, 100000])))
                               for c, e in cfg["currencies"].items()}
    if "retained_is_capital" in cfg["surplus"]:
        surplus["retained_is_capital"] = cfg["surplus"]["retained_is_capital"]
    cfg["surplus"] = surplus
    return cfg


class LawScenario(pv2.Scenario):
    MONTHS = 3

    def __init__(self, t, db, rng, k, seed):
        first = pv2.month_of(4 * k)
        zone_name = rng.choice(pv2.ZONES)
        self.t, self.db, self.rng, self.k = t, db, rng, k
        self.what = "seed %d law scenario %d" % (seed, k)
        from zoneinfo import ZoneInfo
        self.zone = ZoneInfo(zone_name)
        self.months = [first]
        for _ in range(self.MONTHS - 1):
            self.months.append(pv2.next_month(self.months[-1]))
        end = pv2.next_month(self.months[-1])
        special = pv2.change_days(self.zone, first, end) + [first, end - TD(days=1)]
        self.cfg = law_config(rng, k, zone_name, first)
        ids = [k * 1000 + i for i in range(1, rng.randint(2, 10))]
        self.memberships = pv2.random_memberships(rng, ids, first, end, special)
        self.capital = pv2.random_capital(rng, ids, first, end, special)
        self.rows = pv2.random_rows(rng, k, self.zone, first, end, ids, self.cfg["currencies"])
        self.costs = []
        pv2.make_sources(db, k, self.memberships, self.capital, self.rows, self.costs)
        self.path = db.write_config(self.cfg, "law%d.yaml" % k)
        self.history = []
        self.by_day = False
        self.verify_every = False

    def play(self):
        for i, month in enumerate(self.months):
            ok, parties, currencies = self.settle(month)
            if not ok or not self.distribute(month, parties, currencies,
                                             verify=i == len(self.months) - 1):
                return


def tally_of(results):
    out = {}
    for r in results:
        for c, e in r["currencies"].items():
            if e["surplus_minor"] < 0:
                out["loss year"] = out.get("loss year", 0) + 1
            if e["loss_covered_minor"] > 0:
                out["carried loss covered"] = out.get("carried loss covered", 0) + 1
            if any(x["amount_minor"] for x in e["loss_cover"]):
                out["reserve covers a loss"] = out.get("reserve covers a loss", 0) + 1
        for m in r["members"]:
            if m["withheld_minor"]:
                out["tax withheld"] = out.get("tax withheld", 0) + 1
                break
    return out


def scenarios(t):
    seed = int(os.environ.get("CS_SEED", "18018"))
    # the sanitizer build runs 10x slower: the plain run covers the 200
    n = int(os.environ.get("CS_LAW_CASES", "60" if os.environ.get("CS_SANITIZE") else "200"))
    rng = random.Random(seed)
    db = TestDB()
    tally = {}
    for k in range(1, n + 1):
        sc = LawScenario(t, db, rng, k, seed)
        sc.play()
        for key, v in tally_of(sc.history).items():
            tally[key] = tally.get(key, 0) + v
    print("scenarios: %d; windows with %s" % (n, ", ".join(
        "%s: %d" % kv for kv in sorted(tally.items()))))
    v = db.run("verify", "--chain")
    t.eq(v.code, 0, "the chain verifies %r" % v)
    db.drop()


def main():
    t = Runner()
    t.case(scenarios)
    t.finish()


if __name__ == "__main__":
    main()
