"""Fees as invoiced (issue 21; spec 10.8): dated fee rules and VAT on fees
against the independent reference model, on random scenarios.

Each scenario is one month of a small cooperative (test_property_v2's
sources, a schema of its own), in a zone with clocks that change, mostly
in a month where they do (March, October), with fee rules dated from and
until local days that are often the clock-change days themselves, VAT
excluded or included at random rates, a top-level default or a rule's own
or none, on one or both sides, refunds, guests, and fee funds on the net
fee. Settle is compared with lib/reference.py: currency and party totals
(net fees, vat_minor, per VAT account), rejected rows, and every ledger
line with its posting date; every transaction's lines balance, and the
VAT lines make the VAT totals. A share of the scenarios is settled day by
day after a dry run of the whole month: the days add up to the month.

CS_VAT_CASES (default 200; 60 in the sanitizer run, CS_SANITIZE) sets the number of scenarios, CS_SEED the seed.
"""
import datetime
import os
import random
import sys
from zoneinfo import ZoneInfo

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
sys.path.insert(0, os.path.dirname(__file__))
from harness import Runner, TestDB  # noqa: E402
import reference  # noqa: E402
import test_property_v2 as pv2  # noqa: E402

D = datetime.date
TD = datetime.timedelta
ZONES = ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Europe/London",
         "UTC"]


def vat_spec(rng, sfx):
    v = {"rate": rng.choice(["19%", "16%", "7%", "20%", "1/3", "0%"])}
    if rng.random() < 0.4:
        v["included"] = True
    if rng.random() < 0.2:
        v["account"] = "liabilities:vat:reduced" + sfx
    return v


def vat_config(rng, k, zone_name, first, end, special, changes):
    cfg = pv2.random_config(rng, k, zone_name)
    sfx = ":s%d" % k
    cfg.pop("surplus", None)
    if rng.random() < 0.8:
        cfg["vat"] = vat_spec(rng, sfx)
    days = [first + TD(days=i) for i in range((end - first).days)]
    rules = []
    for i, rule in enumerate(cfg["fees"]):
        rule = dict(rule)
        if rng.random() < 0.5:  # a schedule that changes inside the month
            cut = (rng.choice(changes) if changes and rng.random() < 0.6
                   else rng.choice(special + days))
            when = dict(rule.get("when", {}))
            if rng.random() < 0.5:
                when["until"] = cut.isoformat()
            else:
                when["from"] = cut.isoformat()
                if rng.random() < 0.3:
                    when["until"] = (cut + TD(days=rng.randint(1, 10))).isoformat()
            rule["when"] = when
        r = rng.random()
        if r < 0.3:
            rule["vat"] = vat_spec(rng, sfx)
        elif r < 0.4:
            rule["vat"] = "none"
        if rng.random() < 0.3:
            rule["funds"] = [{"account": "liabilities:funds:community" + sfx,
                              "share": rng.choice(["50%", "1/3", "1%"])}]
        if rng.random() < 0.6:
            rule["borne_by"] = rng.choice([{"producer": "1/2", "consumer": "1/2"},
                                           {"producer": "1/3", "consumer": "2/3"},
                                           {"consumer": "1"}])
        rules.append(rule)
    # a last rule that always matches, so dated rules leave no gap
    rules.append({"id": "catch-all", "rate": rng.choice(["4%", "1/9"]),
                  "borne_by": {"producer": "1/2", "consumer": "1/2"}})
    cfg["fees"] = rules
    return cfg


class VatScenario(pv2.Scenario):
    def __init__(self, t, db, rng, k, seed):
        self.t, self.db, self.rng, self.k = t, db, rng, k
        self.what = "seed %d vat scenario %d" % (seed, k)
        zone_name = rng.choice(ZONES)
        self.zone = ZoneInfo(zone_name)
        # three scenarios a year, in months that do not touch (windows in
        # different zones of touching months could overlap)
        first = D(1970 + k // 3, (3, 6, 10)[k % 3], 1)
        self.months = [first]
        end = pv2.next_month(first)
        changes = pv2.change_days(self.zone, first, end)
        special = changes + [first, end - TD(days=1)]
        self.cfg = vat_config(rng, k, zone_name, first, end, special, changes)
        ids = [k * 1000 + i for i in range(1, rng.randint(2, 10))]
        self.memberships = pv2.random_memberships(rng, ids, first, end, special)
        self.capital = []
        self.rows = pv2.random_rows(rng, k, self.zone, first, end, ids, self.cfg["currencies"])
        self.costs = []
        pv2.make_sources(db, k, self.memberships, self.capital, self.rows, self.costs)
        self.path = db.write_config(self.cfg, "vat%d.yaml" % k)
        self.history = []
        self.by_day = rng.random() < 0.25

    def play(self):
        self.settle(self.months[0])


def scenarios(t):
    seed = int(os.environ.get("CS_SEED", "21021"))
    # the sanitizer build runs 10x slower: the plain run covers the 200
    n = int(os.environ.get("CS_VAT_CASES", "60" if os.environ.get("CS_SANITIZE") else "200"))
    rng = random.Random(seed)
    db = TestDB()
    kinds = {}
    for k in range(1, n + 1):
        sc = VatScenario(t, db, rng, k, seed)
        cfg = sc.cfg
        for rule in cfg["fees"]:
            v = reference.vat_of(cfg, rule)
            if v:
                kinds["VAT included" if v["included"] else "VAT excluded"] = \
                    kinds.get("VAT included" if v["included"] else "VAT excluded", 0) + 1
            w = rule.get("when", {})
            cuts = [w[x] for x in ("from", "until") if x in w]
            if any(D.fromisoformat(c) in pv2.change_days(sc.zone, sc.months[0],
                                                         pv2.next_month(sc.months[0]))
                   for c in cuts):
                kinds["a date on a clock-change day"] = \
                    kinds.get("a date on a clock-change day", 0) + 1
            if "funds" in rule and reference.vat_of(cfg, rule):
                kinds["funds on a net fee"] = kinds.get("funds on a net fee", 0) + 1
        if any(r["amount"] < 0 for r in sc.rows):
            kinds["refunds"] = kinds.get("refunds", 0) + 1
        if sc.by_day:
            kinds["month and its days"] = kinds.get("month and its days", 0) + 1
        sc.play()
    print("scenarios: %d; rules or scenarios with %s" % (n, ", ".join(
        "%s: %d" % kv for kv in sorted(kinds.items()))))
    v = db.run("verify", "--chain")
    t.eq(v.code, 0, "the chain verifies %r" % v)
    db.drop()


def main():
    t = Runner()
    t.case(scenarios)
    t.finish()


if __name__ == "__main__":
    main()
