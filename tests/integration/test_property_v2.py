"""Config version 2 against the independent reference model (issue 16;
spec 10.1, 10.2, 10.5, 10.7.6, 10.7.7, 10.7.12), on random scenarios.

Every scenario is two consecutive months of a small cooperative in a time
zone of its own, with its own source relations (a schema s<k> with
transactions, memberships, capital movements and costs), so that all the
scenarios share one database and one coopsettle schema: scenario k uses the
months 3k - 2 and 3k - 1 counted from 2000-01 (a month apart from the next
scenario's, so no two windows overlap in any zone) and member ids from
k * 1000 (retained patronage, which the engine reads from every committed
distribute run, never crosses scenarios).

The random data aims at the cases the issue names: members of both
classes, periods that end and start again (touching or with a gap),
joins and leaves on the zone's clock-change days, on the window's first and
last day and on the day after it, capital movements with repayments (and
now and then one that makes the capital negative: invalid input), sales
at local midnight, refunds, guests, invalid rows with on_invalid:
quarantine. One scenario is Pacific/Apia in December 2011 (a month
without 30 December).

For each month: settle (the month whole, or day by day), compare the
currency totals, party totals (per member status), rejected rows and
ledger lines (with posted_on) with lib/reference.py; then distribute and
compare the statement; the second month's capital includes the first
month's retained patronage when retained_is_capital. Every distribute run
verifies, and so does the chain at the end. A share of the scenarios is
settled day by day, after a dry run of the whole month: the days' party
and currency totals, summed, equal the month's.

CS_V2_CASES (default 200; 60 in the sanitizer run, CS_SANITIZE) sets the number of scenarios, CS_SEED the seed.
"""
import datetime
import json
import os
import random
import sys
from zoneinfo import ZoneInfo

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from harness import Runner, TestDB  # noqa: E402
import reference  # noqa: E402

D = datetime.date
TD = datetime.timedelta
ZONES = ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "UTC",
         "Asia/Kolkata", "America/Sao_Paulo", "Pacific/Apia"]


def month_of(index):
    """The first day of month `index` counted from 2000-01 (may be < 0)."""
    y, m = divmod(index, 12)
    return D(2000 + y, m + 1, 1)


def next_month(d):
    return D(d.year + (d.month == 12), d.month % 12 + 1, 1)


def change_days(zone, first, end):
    """The local days in [first, end) on which the zone's offset changes."""
    out = []
    d = first
    while d < end:
        a = datetime.datetime(d.year, d.month, d.day, tzinfo=zone).utcoffset()
        e = d + TD(days=1)
        b = datetime.datetime(e.year, e.month, e.day, tzinfo=zone).utcoffset()
        if a != b:
            out.append(d)
        d = e
    return out


def random_config(rng, k, zone_name):
    cur = {"EUR": 2, "JPY": 0} if rng.random() < 0.3 else {"EUR": 2}
    fees = []
    if rng.random() < 0.5:
        fees.append({"id": "guests", "when": {"consumer_member": False},
                     "rate": rng.choice(["10%", "12.5%", "1/9"])})
    if rng.random() < 0.4:
        fees.append({"id": "outside-sellers", "when": {"producer_member": False},
                     "rate": rng.choice(["8%", "3/40"]), "fixed": "1.00"})
    if rng.random() < 0.3:
        fees.append({"id": "member-trade",
                     "when": {"producer_member": True, "consumer_member": True},
                     "rate": "2%", "min": "1.00",
                     "borne_by": {"producer": "1/3", "consumer": "2/3"}})
    fees.append({"id": "all", "rate": rng.choice(["5%", "7.5%", "1/7"]),
                 "borne_by": rng.choice([{"producer": "1/2", "consumer": "1/2"},
                                         {"producer": "1"}, {"producer": "2/3",
                                                             "consumer": "1/3"}])})
    steps = []
    if rng.random() < 0.5:
        steps.append({"id": "reserve", "type": "account", "share": rng.choice(["10%", "1/3"]),
                      "account": "equity:reserves:legal"})
    if rng.random() < 0.8:
        s = {"id": "interest", "type": "capital_interest",
             "rate": rng.choice(["3%", "10%", "50%", "100%"])}
        if rng.random() < 0.3:
            s["basis"] = "daily_balance"
        if rng.random() < 0.4:
            s["cap_share"] = rng.choice(["5%", "20%", "60%"])
        steps.append(s)
    p = {"id": "refund", "type": "patronage", "share": rng.choice(["remaining", "50%", "2/3"]),
         "basis": rng.choice(["fees", "volume"]),
         "classes": rng.choice([{"producer": "50%", "consumer": "50%"},
                                {"consumer": "1/3", "producer": "2/3"}, {"producer": "1"},
                                {"consumer": "1"}]),
         "cash_fraction": rng.choice(["20%", "1", "0", "1/3", "50%"])}
    if rng.random() < 0.3:
        p["min_patronage"] = rng.choice(["1.00", "5.00"])
    steps.append(p)
    surplus = {"steps": steps}
    if rng.random() < 0.7:
        surplus["costs"] = {"relation": "s%d.costs" % k}
    else:
        surplus["costs"] = {"amount": {c: ("%d.00" % rng.randint(0, 30) if e else
                                           str(rng.randint(0, 3000)))
                                       for c, e in cur.items()}}
    if rng.random() < 0.4:
        surplus["retained_is_capital"] = rng.random() < 0.5
    return {
        "version": 2,
        "cooperative": "Scenario %d eG" % k,
        "currency": "EUR",
        "currencies": cur,
        "timezone": zone_name,
        "rounding": rng.choice(["half_even", "half_up", "down", "up", "half_down"]),
        "on_invalid": "quarantine",
        "source": {"transactions": "s%d.transactions" % k, "members": "s%d.members" % k,
                   "capital": "s%d.capital" % k, "costs": "s%d.costs" % k},
        # a loss carried is a balance of the whole coopsettle schema: an
        # account of its own keeps each scenario's apart
        "accounts": {"loss_carried_forward": "equity:loss-carried-forward:s%d" % k},
        "fees": fees,
        "surplus": surplus,
    }


def random_day(rng, first, end, special):
    """A day near the two months: often one of the special days."""
    if special and rng.random() < 0.4:
        return rng.choice(special)
    span = (end - first).days
    return first + TD(days=rng.randint(-40, span + 10))


def random_memberships(rng, ids, first, end, special):
    rows = []
    for i in ids:
        kind = rng.random()
        classes = (["producer", "consumer"] if kind < 0.25 else
                   ["producer"] if kind < 0.6 else ["consumer"])
        for cls in classes:
            periods = 1 if rng.random() < 0.7 else rng.randint(2, 3)
            d = random_day(rng, first, end, special)
            for _ in range(periods):
                joined = d
                left = None
                if rng.random() < 0.6:
                    left = joined + TD(days=rng.randint(1, 50))
                    if special and rng.random() < 0.3:
                        later = [s for s in special if s > joined]
                        if later:
                            left = rng.choice(later)
                rows.append((i, cls, joined, left))
                if left is None:
                    break
                d = left + TD(days=rng.choice([0, 0, 1, 5, 20]))  # touching or a gap
    if rows and rng.random() < 0.04:  # an invalid row now and then
        i, cls, joined, left = rng.choice(rows)
        rows.append((i, cls, joined + TD(days=1), None) if rng.random() < 0.5
                    else (i, cls, joined, joined))
    return rows


def random_capital(rng, ids, first, end, special):
    rows = []
    for i in ids:
        if rng.random() < 0.3:
            continue
        days = sorted(random_day(rng, first, end, special) - TD(days=rng.randint(0, 30))
                      for _ in range(rng.randint(1, 4)))
        balance = 0
        for d in days:
            if balance > 0 and rng.random() < 0.35:
                amount = -rng.randint(1, balance)  # a repayment
                if rng.random() < 0.03:
                    amount = -balance - rng.randint(1, 500)  # negative: invalid
            else:
                amount = rng.choice([rng.randint(1, 5000), rng.randint(1, 10 ** 7), 25000])
            balance += amount
            rows.append((i, d, amount))
    return rows


def random_rows(rng, k, zone, first, end, ids, cur):
    """Transactions of [first, end) local days, some just inside and just
    outside the bounds, some at local midnight, refunds, guests, invalid."""
    parties = list(ids) + [k * 1000 + 900 + j for j in range(3)]  # never members
    rows = []
    n_days = (end - first).days
    for n in range(rng.randint(0, 70)):
        day = first + TD(days=rng.randint(-1, n_days))
        r = rng.random()
        if r < 0.15:
            wall = datetime.datetime(day.year, day.month, day.day)
        elif r < 0.25:
            wall = datetime.datetime(day.year, day.month, day.day, 23, 59, 59)
        else:
            wall = datetime.datetime(day.year, day.month, day.day, rng.randint(0, 23),
                                     rng.randint(0, 59))
        at = wall.replace(tzinfo=zone)
        at = (at.astimezone(datetime.timezone.utc).astimezone(zone)).isoformat()
        amount = rng.choice([rng.randint(1, 20000), rng.randint(1, 10 ** 7),
                             -rng.randint(1, 20000), 0])
        currency = rng.choice(list(cur))
        if rng.random() < 0.03:
            currency = "USD"  # not configured: invalid
        rows.append(dict(id=k * 100000 + n, occurred_at=at, producer=rng.choice(parties),
                         consumer=rng.choice(parties + [None, None]), amount=amount,
                         currency=currency, category="x"))
    if rows and rng.random() < 0.05:
        dup = dict(rng.choice(rows))
        rows.append(dup)  # a duplicate id: invalid
    return rows


def make_sources(db, k, memberships, capital, rows, costs):
    db.sql("CREATE SCHEMA s%d" % k)
    db.sql("CREATE TABLE s%d.transactions (LIKE coopsettle.transactions)" % k)
    db.sql("CREATE TABLE s%d.members (id bigint, class text, joined_on date, left_on date)" % k)
    db.sql("CREATE TABLE s%d.capital (member_id bigint, booked_on date, amount_minor bigint)" % k)
    db.sql("CREATE TABLE s%d.costs (booked_on date, currency text, amount_minor bigint)" % k)
    with db.conn.cursor() as cur:
        for r in memberships:
            cur.execute("INSERT INTO s%d.members VALUES (%%s, %%s, %%s, %%s)" % k, r)
        for r in capital:
            cur.execute("INSERT INTO s%d.capital VALUES (%%s, %%s, %%s)" % k, r)
        for r in costs:
            cur.execute("INSERT INTO s%d.costs VALUES (%%s, %%s, %%s)" % k, r)
        if rows:
            args = ",".join(cur.mogrify("(%s,%s,%s,%s,%s,%s,%s)", (
                t["id"], t["occurred_at"], t["producer"], t["consumer"], t["amount"],
                t["currency"], t["category"])).decode() for t in rows)
            cur.execute("INSERT INTO s%d.transactions VALUES " % k + args)


def lines_of(db, run_id):
    return [(a, b, c, d, int(e), f) for a, b, c, d, e, f in db.sql(
        "SELECT transaction_id, account, party_id, currency, amount_minor::text, posted_on"
        " FROM coopsettle.ledger_lines WHERE run_id = %s AND entry = 'post'"
        " ORDER BY journal, line_no", (run_id,))]


def merged(lines):
    """The model's distribute lines as the engine writes them: one line per
    account, party and currency (the model writes a member of both classes
    one cash and one retained line per class; the engine one per member,
    as spec 6 credits "per member"), in the order of their first line."""
    out, at = [], {}
    for step, a, b, c, d, e in lines:
        k = (a, b, c, e, step if b is None else None)  # two account steps: two lines
        if k in at:
            out[at[k]][3] += d
        else:
            at[k] = len(out)
            out.append([a, b, c, d, e])
    return [tuple(x) for x in out if x[3] != 0]


def dist_lines_of(db, run_id):
    return [(a, b, c, int(d), e) for a, b, c, d, e in db.sql(
        "SELECT account, party_id, currency, amount_minor::text, posted_on"
        " FROM coopsettle.ledger_lines WHERE run_id = %s AND entry = 'post'"
        " ORDER BY journal, line_no", (run_id,))]


def invalid_ids_named(stderr, ids):
    return all(("member %d" % i) in stderr for i in ids if i is not None)


class Scenario:
    def __init__(self, t, db, rng, k, seed):
        self.t, self.db, self.rng, self.k = t, db, rng, k
        self.what = "seed %d scenario %d" % (seed, k)
        first = month_of(3 * k - 2)
        zone_name = rng.choice(ZONES)
        if k == 48:  # 2011-11 and 2011-12 in Apia: 2011-12-30 does not exist
            zone_name = "Pacific/Apia"
        self.zone = ZoneInfo(zone_name)
        self.months = [first, next_month(first)]
        end = next_month(self.months[1])
        special = change_days(self.zone, first, end) + [
            first, self.months[1], end, self.months[1] - TD(days=1), end - TD(days=1)]
        self.cfg = random_config(rng, k, zone_name)
        ids = [k * 1000 + i for i in range(1, rng.randint(2, 14))]
        self.memberships = random_memberships(rng, ids, first, end, special)
        self.capital = random_capital(rng, ids, first, end, special)
        self.rows = random_rows(rng, k, self.zone, first, end, ids, self.cfg["currencies"])
        self.costs = [(first + TD(days=rng.randint(-2, (end - first).days + 1)),
                       rng.choice(list(self.cfg["currencies"])), rng.randint(0, 4000))
                      for _ in range(rng.randint(0, 4))]
        make_sources(db, k, self.memberships, self.capital, self.rows, self.costs)
        self.path = db.write_config(self.cfg, "s%d.yaml" % k)
        self.history = []  # the model's results of the windows before
        self.by_day = rng.random() < 0.08

    def windows(self, month):
        """The settle runs of the month: (period text, from, to)."""
        if not self.by_day:
            p = month.strftime("%Y-%m")
            return [(p,) + reference.period_window(self.zone, p)]
        out = []
        d = month
        while d < next_month(month):
            if reference.day_exists(self.zone, d):
                p = d.isoformat()
                out.append((p,) + reference.period_window(self.zone, p))
            d += TD(days=1)
        return out

    def settle(self, month):
        """Settles the month; returns (ok, [party lists], [currency maps])."""
        t, db = self.t, self.db
        parties, currencies = [], []
        whole = None
        if self.by_day:
            r = db.run("settle", "--config", self.path, "--period", month.strftime("%Y-%m"),
                       "--dry-run", "--json", "--allow-open")
            whole = r.json() if r.code == 0 else None
        for period, wfrom, wto in self.windows(month):
            what = "%s: settle %s" % (self.what, period)
            r = db.run("settle", "--config", self.path, "--period", period, "--json", "--allow-open")
            rows = reference.rows_in_window(self.cfg, self.rows, wfrom, wto)
            try:
                cur, par, lines, rejected = reference.settle_v2(self.cfg, self.memberships, rows)
            except reference.InvalidInput as e:
                t.eq(r.code, 3, what + ": invalid %s rows are exit 3 %r" % (e.kind, r))
                t.check(invalid_ids_named(r.stderr, e.ids),
                        what + ": names the ids %r: %s" % (e.ids, r.stderr))
                return False, [], []
            if r.code != 0:
                t.check(False, what + ": %r" % r)
                return False, [], []
            st = r.json()
            t.eq(st["currencies"], cur, what + ": currency totals")
            t.eq(st["parties"], par, what + ": party totals")
            t.eq([(x["id"], x["reason"]) for x in st["rejected"]],
                 [(x["id"], x["reason"]) for x in rejected], what + ": rejected rows")
            t.eq(lines_of(db, st["run_id"]),
                 [(a, b, c, d, e, f) for a, b, c, d, e, f in lines], what + ": ledger lines")
            t.eq(reference.settle_fund_problems(self.cfg, cur, lines), [],
                 what + ": fund parts and income make the fees")
            t.eq(reference.transaction_balance_problems(lines), [],
                 what + ": every transaction balances")
            t.eq(reference.settle_vat_problems(self.cfg, cur, par, lines), [],
                 what + ": the VAT lines make the VAT totals")
            parties.append(par)
            currencies.append(cur)
        if whole is not None:
            t.eq(reference.sum_parties(*parties), whole["parties"],
                 "%s: the days' party totals sum to the month's" % self.what)
            t.eq(reference.sum_currencies(*currencies), whole["currencies"],
                 "%s: the days' currency totals sum to the month's" % self.what)
        return True, parties, currencies

    def distribute(self, month, parties, currencies, verify=True):
        t, db, cfg = self.t, self.db, self.cfg
        p = month.strftime("%Y-%m")
        what = "%s: distribute %s" % (self.what, p)
        wfrom, wto = reference.period_window(self.zone, p)
        days = reference.local_days(self.zone, wfrom, wto)
        if "relation" in cfg["surplus"]["costs"]:
            costs = reference.costs_in_days(self.costs, days)
        else:
            costs = {c: reference.money_minor(v, cfg["currencies"][c])
                     for c, v in cfg["surplus"]["costs"]["amount"].items()}
        r = db.run("distribute", "--config", self.path, "--period", p, "--json", "--allow-open")
        try:
            want = reference.distribute_law(
                cfg, self.memberships, [x for par in parties for x in par],
                reference.fee_income_of(*currencies), costs, self.capital, self.history,
                wfrom, wto, settled=reference.sum_currencies(*currencies))
            want_cur, want_members = want["currencies"], want["members"]
        except reference.InvalidInput as e:
            t.eq(r.code, 3, what + ": invalid %s rows are exit 3 %r" % (e.kind, r))
            t.check(invalid_ids_named(r.stderr, e.ids),
                    what + ": names the ids %r: %s" % (e.ids, r.stderr))
            return False
        if r.code != 0:
            t.check(False, what + ": %r" % r)
            return False
        st = r.json()
        t.eq(st["currencies"], want_cur, what + ": currencies")
        t.eq(st["members"], want_members, what + ": members")
        bal = db.sql("SELECT count(*) FROM (SELECT currency FROM coopsettle.ledger_lines"
                     " WHERE run_id = %s GROUP BY currency HAVING sum(amount_minor) <> 0) x",
                     (st["run_id"],))[0][0]
        t.eq(bal, 0, what + ": balanced")
        t.eq(dist_lines_of(db, st["run_id"]), merged(want["lines"]), what + ": ledger lines")
        t.eq(reference.law_invariant_problems(cfg, want), [], what + ": the model's invariants")
        posted = db.sql("SELECT DISTINCT posted_on FROM coopsettle.ledger_lines"
                        " WHERE run_id = %s", (st["run_id"],))
        t.check(all(x[0] == days[-1] for x in posted),
                what + ": every line posted on the last day %s: %r" % (days[-1], posted))
        if verify:
            v = db.run("verify", "--run", str(st["run_id"]))
            t.eq(v.code, 0, what + ": verifies %r" % v)
        self.history.append(want)
        return True

    def covers(self):
        """The cases of the issue this scenario has, for the closing tally."""
        first, end = self.months[0], next_month(self.months[1])
        ms = self.memberships
        by_id = {}
        for i, cls, j, l in ms:
            by_id.setdefault(i, []).append((cls, j, l))
        dst = change_days(self.zone, first, end)
        last_days = [self.months[1] - TD(days=1), end - TD(days=1)]
        out = set()
        if any(len({c for c, _, _ in p}) == 2 for p in by_id.values()):
            out.add("dual role")
        if any(sum(1 for c2, _, _ in p if c2 == c) > 1 for p in by_id.values() for c, _, _ in p):
            out.add("rejoin")
        if any(j in dst or l in dst for _, _, j, l in ms):
            out.add("join or leave on a clock-change day")
        if any(l is not None and l - TD(days=1) in last_days for _, _, _, l in ms):
            out.add("leave after the window's last day")
        if any(first <= j < end for _, _, j, _ in ms) and any(
                l is not None and first < l < end for _, _, _, l in ms):
            out.add("join and leave mid-window")
        if any(a < 0 for _, _, a in self.capital):
            out.add("repayment")
        if self.by_day:
            out.add("month and its days")
        return out

    def play(self):
        for month in self.months:
            ok, parties, currencies = self.settle(month)
            if not ok or not self.distribute(month, parties, currencies):
                return


def scenarios(t):
    seed = int(os.environ.get("CS_SEED", "16016"))
    # the sanitizer build runs 10x slower: the plain run covers the 200
    n = int(os.environ.get("CS_V2_CASES", "60" if os.environ.get("CS_SANITIZE") else "200"))
    rng = random.Random(seed)
    db = TestDB()
    tally = {}
    for k in range(n):
        sc = Scenario(t, db, rng, k, seed)
        for c in sc.covers():
            tally[c] = tally.get(c, 0) + 1
        sc.play()
    print("scenarios: %d; with %s" % (n, ", ".join(
        "%s: %d" % kv for kv in sorted(tally.items()))))
    # the engine computed, from what every run stored, what it committed
    v = db.run("verify", "--chain")
    t.eq(v.code, 0, "the chain of %d scenarios verifies %r" % (n, v))
    db.drop()


def main():
    t = Runner()
    t.case(scenarios)
    t.finish()


if __name__ == "__main__":
    main()
