"""The reference model of config version 2 (tests/integration/lib/reference.py,
the functions after "Config version 2"), checked against examples worked by
hand. No database: this script needs neither PGHOST nor the engine; the
engine's property tests compare their runs with the model, and this file is
what makes the model itself trustworthy.

Every expected figure below is worked in the comment above it, from the
spec (SETTLEMENT.md §3-§6 and §10.1, §10.2, §10.7.6, §10.7.7, §10.7.12),
without running the model. Amounts are minor units (cents).
"""
import os
import random
import sys
from datetime import date, datetime, timedelta, timezone
from fractions import Fraction

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import reference as ref  # noqa: E402

D = date
UTC = timezone.utc
CLASSES = ("producer", "consumer")


class Checks:
    """Counts checks and prints the closing line ctest reads (as harness.Runner,
    without importing the database driver)."""

    def __init__(self):
        self.passed = 0
        self.failed = 0

    def eq(self, got, want, what):
        if got == want:
            self.passed += 1
        else:
            self.failed += 1
            print("FAIL: %s\n  got:  %r\n  want: %r" % (what, got, want), flush=True)

    def check(self, cond, what):
        self.eq(bool(cond), True, what)

    def raises(self, fn, kind, ids, what):
        try:
            fn()
        except ref.InvalidInput as e:
            self.eq((e.kind, e.ids), (kind, ids), what)
            return
        self.eq("no exception", "InvalidInput(%s, %r)" % (kind, ids), what)

    def case(self, fn):
        try:
            fn(self)
        except Exception as e:  # noqa: BLE001 - report and go on
            import traceback
            traceback.print_exc()
            self.failed += 1
            print("FAIL: %s raised %r" % (fn.__name__, e), flush=True)

    def finish(self):
        print("%d passed, %d failed" % (self.passed, self.failed))
        sys.exit(1 if self.failed else 0)


def config(fees, steps=None, **kw):
    cfg = {"version": 2, "cooperative": "Referenz eG", "currency": "EUR",
           "currencies": {"EUR": 2}, "timezone": "Europe/Berlin", "rounding": "half_even",
           "fees": fees}
    if steps is not None:
        cfg["surplus"] = {"costs": {"amount": {"EUR": "0"}}, "steps": steps}
    cfg.update(kw)
    return cfg


def tx(i, at, producer, consumer, amount, currency="EUR", category="crafts"):
    return {"id": i, "occurred_at": at, "producer": producer, "consumer": consumer,
            "amount": amount, "currency": currency, "category": category}


def party(pid, side, member, n, gross, fees, currency="EUR"):
    return {"id": pid, "side": side, "currency": currency, "member": member,
            "transactions": n, "gross_minor": gross, "fees_minor": fees}


def alloc(mid, ci, pat, cash, ret, currency="EUR"):
    return {"id": mid, "currency": currency, "capital_interest_minor": ci,
            "patronage_minor": pat, "cash_minor": cash, "retained_minor": ret}


NOV = ref.period_window("Europe/Berlin", "2026-11")
MEMBER_SELLER_FEES = [{"id": "member-seller", "when": {"producer_member": True}, "rate": "5%"},
                      {"id": "other-seller", "rate": "8%"}]


def dual_role(t):
    """Member 3 sells (producer since 2020) and buys (consumer since
    2026-01-01): two membership rows, one id. Member 5 is a producer only.

    Rules: consumer_member false -> 10%, split 1/2 : 1/2; else 4%, producer
    bears all.
      tx 1, 2026-11-10: producer 3 -> consumer 5, 100.00. 5 is no consumer
        member: 10% of 10000 = 1000; LR(1000; 1/2, 1/2) = 500 / 500.
      tx 2, 2026-11-11: producer 5 -> consumer 3, 27.50. 3 is a consumer
        member: 4% of 2750 = 110, f_p 110, f_c 0.
    Currency: 2 transactions, gross 12750, fees 1110 (producers 610,
    consumers 500).
    Parties (producer side first, then id): producer 3 member (1, 10000,
    500); producer 5 member (1, 2750, 110); consumer 3 member (1, 2750, 0);
    consumer 5 non-member (1, 10000, 500).
    Lines: tx 1: clearing 5 +(10000 + 500) = 10500; payable 3
    -(10000 - 500) = -9500; fees 3 -500; fees 5 -500. tx 2: clearing 3
    +2750; payable 5 -(2750 - 110) = -2640; fees 5 -110; fees 3 is 0, not
    written.

    Distribute November, costs 0: S = 1110. One patronage step, remaining,
    basis volume, classes 1/2 : 1/2, cash 1/2: P = 1110, classes
    LR(1110; 1/2, 1/2) = 555 / 555.
      producers (member business on the producer side): 3 -> 10000,
      5 -> 2750; LR(555; 10000, 2750): quotas 5550000/12750 = 435.294 and
      1526250/12750 = 119.706; floors 435 + 119 = 554, the one unit left
      goes to the larger fraction, member 5: 435 / 120.
      consumers: 3 -> 2750 (member business); 5 holds no consumer
      membership (and its consumer business is non-member business): 3 gets
      all 555.
    Member 3: patronage 435 + 555 = 990; cash per class allocation
    ceil(435/2) + ceil(555/2) = 218 + 278 = 496 (ceil(990/2) would be 495),
    retained 494. Member 5: 120, cash 60, retained 60.
    """
    cfg = config([{"id": "outsider-buyer", "when": {"consumer_member": False}, "rate": "10%",
                   "borne_by": {"producer": "1/2", "consumer": "1/2"}},
                  {"id": "member-buyer", "rate": "4%"}],
                 [{"id": "pat", "type": "patronage", "share": "remaining", "basis": "volume",
                   "classes": {"producer": "1/2", "consumer": "1/2"}, "cash_fraction": "1/2"}])
    ms = [(3, "producer", D(2020, 1, 1), None), (3, "consumer", D(2026, 1, 1), None),
          (5, "producer", D(2020, 1, 1), None)]
    rows = [tx(1, "2026-11-10T12:00:00+01:00", 3, 5, 10000),
            tx(2, "2026-11-11T12:00:00+01:00", 5, 3, 2750)]
    t.eq(ref.invalid_membership_ids(ms), [], "dual role: one id in two classes is valid")
    cur, parties, lines, rejected = ref.settle_v2(cfg, ms, rows)
    t.eq(cur, {"EUR": {"transactions": 2, "gross_minor": 12750, "fees_minor": 1110,
                       "fees_producer_minor": 610, "fees_consumer_minor": 500}},
         "dual role: currency totals")
    t.eq(parties, [party(3, "producer", True, 1, 10000, 500),
                   party(5, "producer", True, 1, 2750, 110),
                   party(3, "consumer", True, 1, 2750, 0),
                   party(5, "consumer", False, 1, 10000, 500)], "dual role: parties")
    nov10, nov11 = D(2026, 11, 10), D(2026, 11, 11)
    t.eq(lines, [(1, "assets:clearing", 5, "EUR", 10500, nov10),
                 (1, "liabilities:payable:producers", 3, "EUR", -9500, nov10),
                 (1, "income:fees", 3, "EUR", -500, nov10),
                 (1, "income:fees", 5, "EUR", -500, nov10),
                 (2, "assets:clearing", 3, "EUR", 2750, nov11),
                 (2, "liabilities:payable:producers", 5, "EUR", -2640, nov11),
                 (2, "income:fees", 5, "EUR", -110, nov11)], "dual role: lines")
    t.eq(rejected, [], "dual role: nothing rejected")
    cur_d, members = ref.distribute_v2(cfg, ms, parties, ref.fee_income_of(cur), {}, [], [],
                                       *NOV)
    t.eq(cur_d, {"EUR": {"fee_income_minor": 1110, "costs_minor": 0, "surplus_minor": 1110,
                         "steps": [{"id": "pat", "amount_minor": 1110}],
                         "retained_surplus_minor": 0}}, "dual role: distribute currencies")
    t.eq(members, [alloc(3, 0, 990, 496, 494), alloc(5, 0, 120, 60, 60)],
         "dual role: one row per member, both classes' refunds, cash per class")


def leave_and_rejoin(t):
    """Producer 7 is a member [2020-01-01, 2026-11-10) and again from
    2026-11-20; producer 6 the whole time. Guests buy. Member seller 5%,
    other 8%, 100.00 each (Europe/Berlin, +01:00 in November):
      11  11-05 10:00      member       500
      14  11-09 23:59:59   member       500   (last day of the first period)
      15  11-10 00:00      not a member 800   (left_on is not a member day)
      12  11-15 10:00      not a member 800
      16  11-19 23:59:59   not a member 800
      17  11-20 00:00      member       500   (rejoined)
      13  11-25 10:00      member       500
      18  11-12 producer 6 member       500
    Producer 7: non-member (3, 30000, 2400) listed before member (4, 40000,
    2000). Currency: 8 transactions, gross 80000, fees 4900.

    Distribute November, costs 0, S = 4900. Member 7 holds 1000.00 capital
    since 2019-12-01. Steps: capital interest 3%; patronage remaining,
    producers only, basis fees, cash fraction 1 (default).
      days of membership of 7: 11-01..11-09 (9) + 11-20..11-30 (11) = 20;
      i_7 = 3% x 100000 x 20 / 365 = 60000/365 = 164.38: amt 164, all to 7.
      A = 4900 - 164 = 4736 = P. Bases are member business only: 6 -> 500,
      7 -> 2000 (not 4400). LR(4736; 500, 2000): quotas 947.2 and 3788.8,
      floors 4735, the unit to 7 (0.8): 947 / 3789.
    """
    cfg = config(MEMBER_SELLER_FEES,
                 [{"id": "ci", "type": "capital_interest", "rate": "3%"},
                  {"id": "pat", "type": "patronage", "share": "remaining",
                   "classes": {"producer": "1"}}])
    ms = [(6, "producer", D(2020, 1, 1), None),
          (7, "producer", D(2020, 1, 1), D(2026, 11, 10)), (7, "producer", D(2026, 11, 20), None)]
    at = "2026-11-%s+01:00"
    rows = [tx(11, at % "05T10:00:00", 7, None, 10000), tx(12, at % "15T10:00:00", 7, None, 10000),
            tx(13, at % "25T10:00:00", 7, None, 10000), tx(14, at % "09T23:59:59", 7, None, 10000),
            tx(15, at % "10T00:00:00", 7, None, 10000), tx(16, at % "19T23:59:59", 7, None, 10000),
            tx(17, at % "20T00:00:00", 7, None, 10000), tx(18, at % "12T10:00:00", 6, None, 10000)]
    cur, parties, lines, _ = ref.settle_v2(cfg, ms, rows)
    t.eq(parties, [party(6, "producer", True, 1, 10000, 500),
                   party(7, "producer", False, 3, 30000, 2400),
                   party(7, "producer", True, 4, 40000, 2000)], "rejoin: parties")
    t.eq(cur["EUR"]["fees_minor"], 4900, "rejoin: fees")
    t.eq(ref.membership_days_v2(ms, 7, "producer", ref.local_days("Europe/Berlin", *NOV)), 20,
         "rejoin: 20 membership days")
    cur_d, members = ref.distribute_v2(cfg, ms, parties, ref.fee_income_of(cur), {},
                                       [(7, D(2019, 12, 1), 100000)], [], *NOV)
    t.eq(cur_d["EUR"]["steps"], [{"id": "ci", "amount_minor": 164},
                                 {"id": "pat", "amount_minor": 4736}], "rejoin: steps")
    t.eq(members, [alloc(6, 0, 947, 947, 0), alloc(7, 164, 3789, 3789, 0)],
         "rejoin: interest on 20 days, patronage on member business")
    # validation (§10.1, §10.7.12): periods are [joined_on, left_on)
    t.eq(ref.invalid_membership_ids([(7, "producer", D(2020, 1, 1), D(2026, 11, 10)),
                                     (7, "producer", D(2026, 11, 10), None)]), [],
         "touching periods do not overlap")
    overlapping = [(7, "producer", D(2020, 1, 1), D(2026, 11, 10)),
                   (7, "producer", D(2026, 11, 9), None)]
    t.eq(ref.invalid_membership_ids(overlapping), [7], "periods sharing 11-09 overlap")
    t.eq(ref.invalid_membership_ids([(10, "producer", D(2026, 1, 1), None),
                                     (10, "producer", D(2027, 1, 1), None),
                                     (8, "consumer", D(2026, 11, 1), D(2026, 11, 1)),
                                     (8, "producer", D(2026, 11, 1), D(2026, 12, 1)),
                                     (9, "producer", D(2026, 1, 1), None),
                                     (9, "consumer", D(2026, 1, 1), None),
                                     (None, "producer", D(2026, 1, 1), None),
                                     (11, "seller", D(2026, 1, 1), None),
                                     (12, "consumer", None, None)]),
         [None, 8, 10, 11, 12],
         "invalid: two open periods, left_on = joined_on, NULL id, bad class, NULL joined_on")
    t.raises(lambda: ref.settle_v2(cfg, overlapping, rows), "membership", [7],
             "settle refuses overlapping memberships")
    t.raises(lambda: ref.distribute_v2(cfg, overlapping, parties, {"EUR": 4900}, {}, [], [],
                                       *NOV), "membership", [7],
             "distribute refuses overlapping memberships")


def dst_days(t):
    """Europe/Berlin. 2026-03-29 has 23 hours (02:00 CET -> 03:00 CEST,
    01:00 UTC): it runs from 2026-03-28T23:00Z to 2026-03-29T22:00Z.
    2026-10-25 has 25 hours (03:00 CEST -> 02:00 CET, 01:00 UTC): from
    2026-10-24T22:00Z to 2026-10-25T23:00Z.

    Consumer 4 joins on 2026-03-29; consumer 5 leaves on 2026-10-25.
    Producer 1 is a member throughout. Rules: consumer_member false -> 9%,
    else 3%, producer bears the fee; 10.00 each.
      21  2026-03-28T22:59:59Z  23:59:59 CET, 03-28    not a member   90
      22  2026-03-28T23:00:00Z  00:00 CET, 03-29       member         30
          (its UTC date is 03-28: a day taken in UTC would charge 90)
      23  2026-03-29T01:30:00Z  03:30 CEST, 03-29      member         30
      24  '2026-03-29 02:30' without offset: that wall time does not exist;
          PostgreSQL reads it with the offset before the jump (CET,
          01:30Z = 03:30 CEST), day 03-29                member    30
      25  consumer 5, 2026-10-24T21:59:59Z, 23:59:59 CEST, 10-24  member 30
      26  consumer 5, 2026-10-24T22:00:00Z, 00:00 CEST, 10-25 (UTC date
          10-24)                                        not a member 90
      27  consumer 5, 2026-10-25T22:30:00Z, 23:30 CET, 10-25   not     90
      28  consumer 5, '2026-10-25 02:30' without offset: the wall time
          happens twice; PostgreSQL takes the offset after the jump (CET,
          01:30Z), day 10-25                             not a member 90
    Producer 1 (member): 8 transactions, 8000, fees 90+30+30+30+30+90+90+90
    = 480. Consumer 4: non-member (1, 1000, 0), member (3, 3000, 0).
    Consumer 5: non-member (3, 3000, 0), member (1, 1000, 0).
    Local days: March 2026 has 31, the day window of 03-29 is 23 hours.
    Membership days: consumer 4 in March: 29, 30, 31 = 3; consumer 5 in
    October: 10-01..10-24 = 24.
    """
    cfg = config([{"id": "guest", "when": {"consumer_member": False}, "rate": "9%"},
                  {"id": "member", "rate": "3%"}])
    ms = [(1, "producer", D(2020, 1, 1), None), (4, "consumer", D(2026, 3, 29), None),
          (5, "consumer", D(2020, 1, 1), D(2026, 10, 25))]
    rows = [tx(21, "2026-03-28T22:59:59+00:00", 1, 4, 1000),
            tx(22, "2026-03-28T23:00:00+00:00", 1, 4, 1000),
            tx(23, "2026-03-29T01:30:00+00:00", 1, 4, 1000),
            tx(24, datetime(2026, 3, 29, 2, 30), 1, 4, 1000),
            tx(25, "2026-10-24T21:59:59+00:00", 1, 5, 1000),
            tx(26, "2026-10-24T22:00:00+00:00", 1, 5, 1000),
            tx(27, "2026-10-25T22:30:00+00:00", 1, 5, 1000),
            tx(28, datetime(2026, 10, 25, 2, 30), 1, 5, 1000)]
    _, parties, lines, _ = ref.settle_v2(cfg, ms, rows)
    t.eq(parties, [party(1, "producer", True, 8, 8000, 480),
                   party(4, "consumer", False, 1, 1000, 0),
                   party(4, "consumer", True, 3, 3000, 0),
                   party(5, "consumer", False, 3, 3000, 0),
                   party(5, "consumer", True, 1, 1000, 0)], "DST: parties")
    fee_of = {tid: -amt for (tid, acct, _, _, amt, _) in lines if acct == "income:fees"}
    t.eq(fee_of, {21: 90, 22: 30, 23: 30, 24: 30, 25: 30, 26: 90, 27: 90, 28: 90},
         "DST: fee of each transaction")
    posted = {tid: day for (tid, _, _, _, _, day) in lines}
    t.eq(posted, {21: D(2026, 3, 28), 22: D(2026, 3, 29), 23: D(2026, 3, 29),
                  24: D(2026, 3, 29), 25: D(2026, 10, 24), 26: D(2026, 10, 25),
                  27: D(2026, 10, 25), 28: D(2026, 10, 25)}, "DST: posted_on is the local day")
    t.eq(ref.period_window("Europe/Berlin", "2026-03-29"),
         (datetime(2026, 3, 28, 23, tzinfo=UTC), datetime(2026, 3, 29, 22, tzinfo=UTC)),
         "DST: 2026-03-29 is 23 hours")
    t.eq(ref.period_window("Europe/Berlin", "2026-10-25"),
         (datetime(2026, 10, 24, 22, tzinfo=UTC), datetime(2026, 10, 25, 23, tzinfo=UTC)),
         "DST: 2026-10-25 is 25 hours")
    march = ref.local_days("Europe/Berlin", *ref.period_window("Europe/Berlin", "2026-03"))
    t.eq(len(march), 31, "DST: March has 31 local days")
    t.eq(ref.membership_days_v2(ms, 4, "consumer", march), 3, "DST: joined 03-29: 3 days")
    october = ref.local_days("Europe/Berlin", *ref.period_window("Europe/Berlin", "2026-10"))
    t.eq(ref.membership_days_v2(ms, 5, "consumer", october), 24, "DST: left 10-25: 24 days")
    day = ref.period_window("Europe/Berlin", "2026-03-29")
    t.eq([r["id"] for r in ref.rows_in_window(cfg, rows, *day)], [22, 23, 24],
         "DST: the 23-hour day holds 22, 23, 24")


def leave_on_last_day(t):
    """Window November 2026. Producer 8 has left_on 2026-11-30, the window's
    last day: a member on 11-01..11-29, not on 11-30. Producer 9 has
    left_on 2026-12-01: a member the whole month. Member seller 5%, other
    8%, guests buying 100.00:
      31  8, 11-29 23:30   member        500
      32  8, 11-30 10:00   not a member  800
      33  9, 11-30 23:59:59 member       500
    Each holds 365.00 capital since 2026-01-01; capital interest 10%:
      i_8 = 10% x 36500 x 29 / 365 = 290 exactly; i_9 = 36500 x 30 / 3650 =
      300. S = 1800 (costs 0): interest 590, A = 1210.
    Patronage remaining, producers, basis fees: 8 -> 500 (the 800 is
    non-member business), 9 -> 500: 605 each.
    In December 9 (left_on 12-01, the window's first day) has no membership
    day: not eligible, no interest.
    """
    cfg = config(MEMBER_SELLER_FEES,
                 [{"id": "ci", "type": "capital_interest", "rate": "10%"},
                  {"id": "pat", "type": "patronage", "share": "remaining",
                   "classes": {"producer": "1"}}])
    ms = [(8, "producer", D(2026, 1, 1), D(2026, 11, 30)),
          (9, "producer", D(2026, 1, 1), D(2026, 12, 1))]
    rows = [tx(31, "2026-11-29T23:30:00+01:00", 8, None, 10000),
            tx(32, "2026-11-30T10:00:00+01:00", 8, None, 10000),
            tx(33, "2026-11-30T23:59:59+01:00", 9, None, 10000)]
    cur, parties, _, _ = ref.settle_v2(cfg, ms, rows)
    t.eq(parties, [party(8, "producer", False, 1, 10000, 800),
                   party(8, "producer", True, 1, 10000, 500),
                   party(9, "producer", True, 1, 10000, 500)], "last day: parties")
    caps = [(8, D(2026, 1, 1), 36500), (9, D(2026, 1, 1), 36500)]
    cur_d, members = ref.distribute_v2(cfg, ms, parties, ref.fee_income_of(cur), {}, caps, [],
                                       *NOV)
    t.eq(cur_d["EUR"]["steps"], [{"id": "ci", "amount_minor": 590},
                                 {"id": "pat", "amount_minor": 1210}], "last day: steps")
    t.eq(members, [alloc(8, 290, 605, 605, 0), alloc(9, 300, 605, 605, 0)],
         "last day: 29 and 30 days of interest")
    dec = ref.local_days("Europe/Berlin", *ref.period_window("Europe/Berlin", "2026-12"))
    t.eq(ref.membership_days_v2(ms, 9, None, dec), 0, "left_on on the first day: no day")
    _, members = ref.distribute_v2(cfg, ms, [party(9, "producer", True, 1, 10000, 500)],
                                   {"EUR": 500}, {}, caps, [],
                                   *ref.period_window("Europe/Berlin", "2026-12"))
    t.eq(members, [], "December: no member day, no interest, not eligible")


def capital_movements(t):
    """Capital interest, basis daily_balance (the version 2 default), rate
    5%, November 2026 (30 local days). Producers 1 and 2, consumer 3, all
    members since 2020.
      member 1: +1000.00 on 2025-01-01, +500.00 on 11-10, -1200.00 (a
        repayment) on 11-20. Day D counts the capital at the end of D - 1:
        D = 1..10 -> 100000 (end of 10-31..11-09), D = 11..20 -> 150000,
        D = 21..30 -> 30000; sum 10 x 100000 + 10 x 150000 + 10 x 30000 =
        2,800,000; i_1 = 5% x 2,800,000 / 365 = 140000/365 = 383.56.
      member 2: +1000.00 since 2020 and 73.00 retained patronage of a
        distribute run whose last day was 10-31 (in capital from the end of
        10-31, so on every day of November): 30 x 107300 = 3,219,000;
        i_2 = 160950/365 = 440.96.
      member 3: -0.01 booked on 11-30: capital at the end of 11-30 is
        below 0, but no November day counts it (D = 30 reads the end of
        11-29): valid, no interest. In December it is read on 12-01: invalid.
      id 99 holds no membership: its rows (even negative) are ignored.
    S = 100000 (given fee income, costs 0); amt = floor(300950/365 =
    824.52) = 824; LR(824; 140000, 160950): 824 x 140000 / 300950 =
    383.32, 824 x 160950 / 300950 = 440.68; floors 823, the unit to 2:
    383 / 441. The account step takes the remaining 99176.
    With retained_is_capital false: i_2 = 150000/365, sum 290000/365 =
    794.52 -> 794; LR(794; 140000, 150000) = 383.31 / 410.69 -> 383 / 411.
    Constant capital: member 2 without the retained part has 30 x 100000,
    and 5% x 3,000,000 / 365 equals §6's rate x C x d / 365 =
    5% x 100000 x 30 / 365 exactly (150000/365); the version 1 model gives
    the same statement.
    """
    steps = [{"id": "ci", "type": "capital_interest", "rate": "5%"},
             {"id": "rest", "type": "account", "share": "remaining",
              "account": "equity:reserves:legal"}]
    cfg = config(MEMBER_SELLER_FEES, steps)
    ms = [(1, "producer", D(2020, 1, 1), None), (2, "producer", D(2020, 1, 1), None),
          (3, "consumer", D(2020, 1, 1), None)]
    mv = [(1, D(2025, 1, 1), 100000), (1, D(2026, 11, 10), 50000), (1, D(2026, 11, 20), -120000),
          (2, D(2020, 1, 1), 100000), (3, D(2026, 11, 30), -1), (99, D(2026, 11, 5), -5000)]
    retained = [(2, D(2026, 10, 31), 7300)]
    days = ref.local_days("Europe/Berlin", *NOV)
    t.eq([ref.capital_at_end_of(mv, retained, 1, D(2026, 11, d)) for d in (9, 10, 19, 20)],
         [100000, 150000, 150000, 30000], "capital at the end of a day, movements included")
    t.eq(ref.capital_at_end_of(mv, retained, 2, D(2026, 10, 30)), 100000,
         "retained patronage is not capital before the end of its last day")
    t.eq(ref.capital_at_end_of(mv, retained, 2, D(2026, 10, 31)), 107300,
         "retained patronage is capital from the end of its last day")
    t.eq(ref.daily_balance_sum(ms, mv, retained, 1, days), 2800000, "member 1's daily balances")
    t.eq(ref.daily_balance_sum(ms, mv, retained, 2, days), 3219000, "member 2's daily balances")
    w = ref.capital_interest_weights(steps[0], ms, mv, retained, days)
    t.eq(w, {1: Fraction(140000, 365), 2: Fraction(160950, 365)}, "i_m exact; member 3 none")
    t.eq(ref.invalid_capital_ids(ms, mv, retained, days), [], "November: capital never below 0")
    cur_d, members = ref.distribute_v2(cfg, ms, [], {"EUR": 100000}, {}, mv, retained, *NOV)
    t.eq(cur_d["EUR"]["steps"], [{"id": "ci", "amount_minor": 824},
                                 {"id": "rest", "amount_minor": 99176}], "capital: steps")
    t.eq(members, [alloc(1, 383, 0, 0, 0), alloc(2, 441, 0, 0, 0)], "capital: allocation")
    cfg_no = config(MEMBER_SELLER_FEES, steps)
    cfg_no["surplus"]["retained_is_capital"] = False
    _, members = ref.distribute_v2(cfg_no, ms, [], {"EUR": 100000}, {}, mv, retained, *NOV)
    t.eq(members, [alloc(1, 383, 0, 0, 0), alloc(2, 411, 0, 0, 0)],
         "retained_is_capital false: retained patronage is no capital")
    # constant capital: daily_balance is §6's rate x C x d / 365, exactly
    const = ref.capital_interest_weights(steps[0], ms, [(2, D(2020, 1, 1), 100000)], [], days)
    t.eq(const, {2: Fraction(5, 100) * 100000 * 30 / 365}, "constant capital: C x d exactly")
    t.eq(const[2], Fraction(150000, 365), "constant capital: 150000/365")
    v1 = ref.distribute(dict(cfg, version=1), [(2, "producer", D(2020, 1, 1), None, 100000)],
                        {"EUR": 100000}, {}, {}, {}, D(2026, 11, 1), D(2026, 12, 1))
    v2 = ref.distribute_v2(cfg, [(2, "producer", D(2020, 1, 1), None)], [], {"EUR": 100000}, {},
                           [(2, D(2020, 1, 1), 100000)], [], *NOV)
    t.eq(v2, v1, "constant capital: version 2 gives version 1's statement")
    t.eq(v2[1], [alloc(2, 410, 0, 0, 0)], "constant capital: floor(410.96) = 410")
    # negative capital on a counted day: December 1 reads member 3's end of 11-30
    dec = ref.period_window("Europe/Berlin", "2026-12")
    t.raises(lambda: ref.distribute_v2(cfg, ms, [], {"EUR": 100000}, {}, mv, retained, *dec),
             "capital", [3], "capital below 0 on a counted day is invalid, naming the member")
    t.eq(ref.invalid_capital_ids(ms, mv + [(1, None, 5), (None, D(2026, 11, 2), 5),
                                           (99, None, None)], retained, days), [None, 1],
         "NULL columns: invalid, except in rows of ids without a membership")
    t.eq(ref.retained_of([alloc(4, 0, 10, 2, 8), alloc(5, 3, 0, 0, 0),
                          alloc(4, 0, 10, 2, 8, "CHF")], "EUR", D(2026, 11, 30)),
         [(4, D(2026, 11, 30), 8)], "retained_of: base currency, non-zero retained only")


def apia(t):
    """Pacific/Apia skipped 2011-12-30: 2011-12-29 ended at 24:00 -10:00
    and the next instant was 2011-12-31 00:00 +14:00 (2011-12-30T10:00Z).
    December 2011 runs from 2011-12-01 00:00 -10:00 (2011-12-01T10:00Z) to
    2012-01-01 00:00 +14:00 (2011-12-31T10:00Z): 30 local days, 12-30 none.
    --period 2011-12-30 is refused.
      41  2011-12-30T09:59:59Z = 12-29 23:59:59 -10   producer 1 not yet a
          member (joined_on 2011-12-30, the skipped date: a member from
          12-31, the first day D with 12-30 <= D): 8% of 100.00 = 800
      42  2011-12-30T10:00:00Z = 12-31 00:00 +14       member: 5% = 500
    Distribute December (base currency WST), capital interest 10%:
      producer 2, member from 12-01, 365.00 since November: 30 days,
      i_2 = 10% x 36500 x 30 / 365 = 300 exactly.
      producer 1: 365.00 booked on 2011-12-30 (a date, though not a day of
      the zone); counted days: 12-31 only, reading the end of 12-30:
      36500; i_1 = 10% x 36500 x 1 / 365 = 10.
    Costs from rows: 1.00 booked 2011-12-30 (no day of the window: not
    counted), 2.00 on 12-31: costs 200. S = 1300 - 200 = 1100.
    Interest 310 (1: 10, 2: 300), A = 790. Patronage remaining, producers,
    basis fees, cash 1/2: bases 1 -> 500 (tx 42 only), 2 -> 0 (not
    eligible): member 1 gets 790, cash 395, retained 395.
    """
    cfg = config(MEMBER_SELLER_FEES,
                 [{"id": "ci", "type": "capital_interest", "rate": "10%"},
                  {"id": "pat", "type": "patronage", "share": "remaining",
                   "classes": {"producer": "1"}, "cash_fraction": "1/2"}],
                 timezone="Pacific/Apia", currency="WST", currencies={"WST": 2})
    cfg["surplus"]["costs"] = {"relation": "coopsettle.operating_costs"}
    zone = "Pacific/Apia"
    dec = ref.period_window(zone, "2011-12")
    t.eq(dec, (datetime(2011, 12, 1, 10, tzinfo=UTC), datetime(2011, 12, 31, 10, tzinfo=UTC)),
         "Apia: December 2011's window")
    days = ref.local_days(zone, *dec)
    t.eq((len(days), D(2011, 12, 30) in days, days[-2:]),
         (30, False, [D(2011, 12, 29), D(2011, 12, 31)]), "Apia: 30 days, no 12-30")
    t.eq(ref.day_exists(zone, D(2011, 12, 30)), False, "Apia: 12-30 is no day")
    try:
        ref.period_window(zone, "2011-12-30")
        t.check(False, "Apia: --period 2011-12-30 is refused")
    except ValueError:
        t.check(True, "Apia: --period 2011-12-30 is refused")
    t.eq(ref.period_window(zone, "2011-12-29"),
         (datetime(2011, 12, 29, 10, tzinfo=UTC), datetime(2011, 12, 30, 10, tzinfo=UTC)),
         "Apia: 12-29 ends where 12-31 begins")
    ms = [(1, "producer", D(2011, 12, 30), None), (2, "producer", D(2011, 12, 1), None)]
    rows = [tx(41, "2011-12-30T09:59:59+00:00", 1, None, 10000, "WST"),
            tx(42, "2011-12-30T10:00:00+00:00", 1, None, 10000, "WST")]
    cur, parties, lines, _ = ref.settle_v2(cfg, ms, rows)
    t.eq(parties, [party(1, "producer", False, 1, 10000, 800, "WST"),
                   party(1, "producer", True, 1, 10000, 500, "WST")], "Apia: parties")
    t.eq(sorted({(tid, day) for (tid, _, _, _, _, day) in lines}),
         [(41, D(2011, 12, 29)), (42, D(2011, 12, 31))], "Apia: posted on 12-29 and 12-31")
    costs = ref.costs_in_days([(D(2011, 12, 30), "WST", 100), (D(2011, 12, 31), "WST", 200),
                               (D(2012, 1, 1), "WST", 400)], days)
    t.eq(costs, {"WST": 200}, "Apia: a cost booked on the skipped date is in no window")
    mv = [(1, D(2011, 12, 30), 36500), (2, D(2011, 11, 1), 36500)]
    cur_d, members = ref.distribute_v2(cfg, ms, parties, ref.fee_income_of(cur), costs, mv, [],
                                       *dec)
    t.eq(cur_d, {"WST": {"fee_income_minor": 1300, "costs_minor": 200, "surplus_minor": 1100,
                         "steps": [{"id": "ci", "amount_minor": 310},
                                   {"id": "pat", "amount_minor": 790}],
                         "retained_surplus_minor": 0}}, "Apia: distribute currencies")
    t.eq(members, [alloc(1, 10, 790, 395, 395, "WST"), alloc(2, 300, 0, 0, 0, "WST")],
         "Apia: distribute members")


def invalid_transactions(t):
    """§4 in version 2: a NULL occurred_at is in every window's read (it can
    be placed in none, and must be reported); reasons in canonical order
    (id NULLs first): NULL id, then by id. Both rows of a duplicate id are
    rejected. Rule: a catch-all 5%; producer 1 a member."""
    cfg = config([{"id": "all", "rate": "5%"}])
    ms = [(1, "producer", D(2020, 1, 1), None)]
    rows = [tx(50, "2026-11-02T10:00:00+01:00", 1, None, 100),
            tx(50, "2026-11-03T10:00:00+01:00", 1, None, 200),
            tx(51, "2026-11-04T10:00:00+01:00", 1, None, 300, "USD"),
            tx(52, None, 1, None, 400),
            tx(None, "2026-11-05T10:00:00+01:00", 1, None, 500),
            tx(53, "2026-11-06T10:00:00+01:00", None, None, 600),
            tx(54, "2026-12-01T00:00:00+01:00", 1, None, 700),
            tx(55, "2026-11-30T23:59:59+01:00", 1, None, 800)]
    read = ref.rows_in_window(cfg, rows, *NOV)
    t.eq([r["id"] for r in read], [50, 50, 51, 52, None, 53, 55],
         "rows read: the window's and the NULL occurred_at")
    cur, parties, _, rejected = ref.settle_v2(cfg, ms, read)
    t.eq(rejected, [{"id": None, "reason": "id is null"},
                    {"id": 50, "reason": "duplicate id"},
                    {"id": 50, "reason": "duplicate id"},
                    {"id": 51, "reason": "currency 'USD' is not configured"},
                    {"id": 52, "reason": "occurred_at is null"},
                    {"id": 53, "reason": "producer_id is null"}], "rejected, in order")
    # 55 only: 5% of 800 = 40
    t.eq(parties, [party(1, "producer", True, 1, 800, 40)], "only 55 settles")


def month_vs_days(t):
    """A month settled as a whole and the same month settled day by day
    (one window per local day, October 2026 with its 25-hour day) give the
    same party totals, currency totals and lines, summed. Random
    memberships (dual roles, periods that end and restart inside the
    month), random transactions near midnight and the DST change."""
    rng = random.Random(1604)
    zone = "Europe/Berlin"
    cfg = config([{"id": "both", "when": {"producer_member": True, "consumer_member": True},
                   "rate": "2%", "borne_by": {"producer": "1/2", "consumer": "1/2"}},
                  {"id": "seller", "when": {"producer_member": True}, "rate": "5%"},
                  {"id": "rest", "rate": "9%", "min": "0.10",
                   "borne_by": {"producer": "2/3", "consumer": "1/3"}}])
    month = ref.period_window(zone, "2026-10")
    days = ref.local_days(zone, *month)
    t.eq(len(days), 31, "October has 31 local days")
    t.eq(month[1] - month[0], timedelta(days=31, hours=1), "October is 31 days and 1 hour long")
    for scenario in range(60):
        ms = []
        for mid in range(1, 9):
            for cls in ("producer", "consumer"):
                if rng.random() < 0.6:
                    j = D(2026, 10, 1) + timedelta(days=rng.randrange(-5, 25))
                    left = j + timedelta(days=rng.randrange(1, 12)) if rng.random() < 0.5 else None
                    ms.append((mid, cls, j, left))
                    if left is not None and rng.random() < 0.5:
                        ms.append((mid, cls, left + timedelta(days=rng.randrange(0, 5)), None))
        rows = []
        for i in range(40):
            base = month[0] + timedelta(days=rng.randrange(0, 31))
            at = base + timedelta(hours=rng.choice([0, 0, 1, 22, 23, 24, 25]),
                                  seconds=rng.choice([-1, 0, 1, 1800]))
            rows.append(tx(i + 1, at, rng.randrange(1, 10),
                           rng.choice([None, rng.randrange(1, 10)]),
                           rng.choice([1, 99, 1000, 123456, -5000])))
        whole = ref.settle_v2(cfg, ms, ref.rows_in_window(cfg, rows, *month))
        per_day = [ref.settle_v2(cfg, ms, ref.rows_in_window(cfg, rows, *ref.days_window(
            zone, d, d + timedelta(days=1)))) for d in days]
        what = "scenario %d: " % scenario
        t.eq(sum(len(ref.rows_in_window(cfg, rows, *ref.days_window(zone, d, d + timedelta(
            days=1)))) for d in days), len(ref.rows_in_window(cfg, rows, *month)),
            what + "the day windows partition the month")
        t.eq(ref.sum_parties(*[p for _, p, _, _ in per_day]), whole[1], what + "party totals")
        t.eq(ref.sum_currencies(*[c for c, _, _, _ in per_day]), whole[0],
             what + "currency totals")
        def line_key(line):
            return (line[0], line[1], line[2] is None, line[2] or 0, line[4])
        t.eq(sorted((line for _, _, ls, _ in per_day for line in ls), key=line_key),
             sorted(whole[2], key=line_key), what + "lines")
        t.check(all(p["member"] in (True, False) for p in whole[1]), what + "member flags")
        # lines of each transaction sum to zero, and are posted on its own day
        by_tx = {}
        for (tid, _, _, _, amt, day) in whole[2]:
            by_tx.setdefault(tid, []).append((amt, day))
        t.check(all(sum(a for a, _ in v) == 0 and len({d for _, d in v}) == 1
                    for v in by_tx.values()), what + "balanced, one posting day per transaction")


def same_as_version_1(t):
    """Where nothing depends on time, version 2 must give version 1's
    figures: one class per id, one period each, capital constant since
    before the window. Random configs and members; the settle side with
    periods covering the whole window (version 1's fee flags ignore dates),
    the distribute side with periods starting and ending anywhere (both
    versions count the same membership days; version 2's patronage bases
    are the parties' member business)."""
    rng = random.Random(2026)
    first, end = D(2026, 11, 1), D(2026, 12, 1)
    for scenario in range(150):
        what = "scenario %d: " % scenario
        cfg = config([{"id": "m", "when": {"consumer_member": True},
                       "rate": rng.choice(["3%", "1/7", "0.5%"]),
                       "borne_by": {"producer": "1/3", "consumer": "2/3"}},
                      {"id": "g", "rate": rng.choice(["9%", "12.5%"]), "fixed": "0.05",
                       "max": "20.00"}],
                     rounding=rng.choice(["half_even", "half_up", "down", "up"]),
                     currencies={"EUR": 2, "CHF": 2})
        steps = []
        if rng.random() < 0.6:
            steps.append({"id": "res", "type": "account", "share": rng.choice(["10%", "1/3"]),
                          "account": "equity:reserves:legal"})
        ci = {"id": "ci", "type": "capital_interest", "rate": rng.choice(["3%", "5%", "100%"])}
        if rng.random() < 0.5:
            ci["cap_share"] = rng.choice(["1%", "20%"])
        steps.append(ci)
        steps.append({"id": "pat", "type": "patronage", "share": rng.choice(["remaining", "50%"]),
                      "basis": rng.choice(["fees", "volume"]),
                      "classes": rng.choice([{"producer": "60%", "consumer": "40%"},
                                             {"consumer": "1/3", "producer": "2/3"}]),
                      "min_patronage": rng.choice(["0", "0.50"]),
                      "cash_fraction": rng.choice(["20%", "1", "1/3"])})
        cfg["surplus"] = {"costs": {"amount": {"EUR": "0", "CHF": "0"}}, "steps": steps}
        cls = {i: rng.choice(CLASSES) for i in range(1, 9)}
        # settle: whole-window memberships
        ms = [(i, c, D(2020, 1, 1), None) for i, c in cls.items() if rng.random() < 0.7]
        rows = [tx(k, datetime(2026, 11, rng.randrange(1, 31), rng.randrange(0, 24),
                               tzinfo=ref.zone_of("Europe/Berlin")),
                   rng.randrange(1, 9), rng.choice([None, rng.randrange(1, 9)]),
                   rng.choice([0, 7, 1999, 45000, -3000]), rng.choice(["EUR", "CHF"]))
                for k in range(1, 30)]
        v1 = ref.settle(dict(cfg, version=1), {m[0]: m[1] for m in ms}, rows)
        v2 = ref.settle_v2(cfg, ms, rows)
        t.eq(v2[0], v1[0], what + "settle currencies as version 1")
        merged = ref.sum_parties([dict(p, member=None) for p in v2[1]])
        t.eq([{k: v for k, v in p.items() if k != "member"} for p in merged], v1[1],
             what + "settle parties, member flags summed away, as version 1")
        t.eq([line[:5] for line in v2[2]], v1[2], what + "settle lines as version 1")
        # distribute: dated periods, constant capital
        members1, ms2, mv, parties = [], [], [], []
        fees, gross = {}, {}
        for i, c in cls.items():
            j = first + timedelta(days=rng.randrange(-40, 29))
            left = j + timedelta(days=rng.randrange(1, 60)) if rng.random() < 0.4 else None
            cap = rng.choice([0, 0, 10000, 123457])
            members1.append((i, c, j, left, cap))
            ms2.append((i, c, j, left))
            if cap:
                mv.append((i, first - timedelta(days=rng.randrange(1, 400)), cap))
            for cur in ("EUR", "CHF"):
                f, g = rng.randrange(-500, 5000), rng.randrange(-500, 90000)
                fees[(i, cur)], gross[(i, cur)] = f, g
                parties.append(party(i, c, True, 1, g, f, cur))
                # business on the other side, or as a non-member, is not patronage
                parties.append(party(i, "consumer" if c == "producer" else "producer", False,
                                     1, 10 ** 6, 10 ** 5, cur))
        income = {"EUR": rng.randrange(-1000, 60000), "CHF": rng.randrange(0, 9000)}
        want = ref.distribute(dict(cfg, version=1), members1, income, {}, fees, gross, first,
                              end)
        got = ref.distribute_v2(cfg, ms2, parties, income, {}, mv, [], *NOV)
        t.eq(got, want, what + "distribute as version 1")


def main():
    t = Checks()
    for fn in (dual_role, leave_and_rejoin, dst_days, leave_on_last_day, capital_movements,
               apia, invalid_transactions, month_vs_days, same_as_version_1):
        t.case(fn)
    t.finish()


if __name__ == "__main__":
    main()
