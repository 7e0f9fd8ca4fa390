"""The reference model of fees as invoiced (tests/integration/lib/reference.py:
settle_v2's dated fee rules and VAT, vat_of, vat_split, vat_config_problems,
sum_settles and the settle checks), checked against examples worked by
hand. No database: this script needs neither PGHOST nor the engine.

Every expected figure below is worked in the comment above it, from the
spec (SETTLEMENT.md §2, §5, §10.1, §10.3's fee funds, §10.7.9 and §10.8
with its details 1-7), without running the model. Amounts are minor units
(cents); Europe/Berlin; rounding half_even unless said otherwise. A rule's
fee f is §5's (rate x |g|, rounded), split by borne_by into f_p, f_c; then
per side t = round(|f_side| x R) (VAT excluded, the side pays p = f + t,
net n = f) or t = round(|f_side| x R / (1 + R)) (included, p = f, n = f - t).
Lines are numbered as the model reads §10.8 (its reading R5): 1 clearing,
2 payable, 3 and 4 income:fees (producer, consumer), 5 and 6 VAT
(producer, consumer; only in a config with `vat`), then the fund lines.
"""
import os
import random
import sys
from datetime import date, datetime, timedelta
from fractions import Fraction

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import reference as ref  # noqa: E402
from test_reference_v2 import Checks, tx  # noqa: E402

D = date
ZONE = "Europe/Berlin"
CLEARING = "assets:clearing"
PAYABLE = "liabilities:payable:producers"
INCOME = "income:fees"
VAT = "liabilities:vat"
VAT19 = "liabilities:vat:19"
VAT7 = "liabilities:vat:7"
COMMUNITY = "liabilities:funds:community"
SOLIDARITY = "liabilities:funds:solidarity"
MEMBERS = [(1, "producer", D(2000, 1, 1), None), (2, "consumer", D(2000, 1, 1), None),
           (3, "producer", D(2000, 1, 1), None), (4, "consumer", D(2000, 1, 1), None)]


def config(fees, **top):
    cfg = {"version": 2, "cooperative": "Rechnung eG", "currency": "EUR",
           "currencies": {"EUR": 2}, "timezone": ZONE, "rounding": "half_even",
           "fees": fees}
    cfg.update(top)
    return cfg


def party(pid, side, n, gross, fees, vat=None, member=True, currency="EUR"):
    p = {"id": pid, "side": side, "currency": currency, "member": member,
         "transactions": n, "gross_minor": gross, "fees_minor": fees}
    if vat is not None:
        p["vat_minor"] = vat
    return p


def totals(n, gross, fp, fc, vat_minor=None, **extra):
    c = {"transactions": n, "gross_minor": gross, "fees_minor": fp + fc,
         "fees_producer_minor": fp, "fees_consumer_minor": fc}
    if vat_minor is not None:
        c["vat_minor"] = vat_minor
    c.update(extra)
    return c


def checks(t, cfg, result, what):
    """The model's own invariants on a settle result."""
    cur, parties, lines, _ = result
    t.eq(ref.transaction_balance_problems(lines), [], what + ": every transaction balances")
    t.eq(ref.settle_vat_problems(cfg, cur, parties, lines), [], what + ": VAT figures = lines")
    t.eq(ref.settle_fund_problems(cfg, cur, lines), [], what + ": income + funds + VAT = fee")


def excluded_and_included(t):
    """19% on a sale of 123.45 (12345) from producer 1 to consumer 2 on
    2026-06-01, rule 10%, the producer bears the fee:
      f = round(10% x 12345 = 1234.5) = 1234 (half_even, 1234 is even);
      f_p = 1234, f_c = 0.
    Excluded (the default): t_p = round(1234 x 0.19 = 234.46) = 234,
      p_p = 1234 + 234 = 1468, n_p = 1234.
      Lines: 1 clearing 2 +12345; 2 payable 1 -(12345 - 1468) = -10877;
      3 income 1 -1234; 4 income 2 is 0, not written; 5 VAT 1 -234; 6 is
      0. Sum 12345 - 10877 - 1234 - 234 = 0.
      Currency: 1 transaction, gross 12345, fees 1234 (producers 1234,
      consumers 0), vat 234. Parties: producer 1 (1, 12345, 1234, vat 234),
      consumer 2 (1, 12345, 0, vat 0).
    Included: t_p = round(1234 x 19/119 = 23446/119 = 197.03) = 197,
      p_p = 1234, n_p = 1234 - 197 = 1037.
      Lines: clearing +12345; payable -(12345 - 1234) = -11111; income
      -1037; VAT -197. Sum 12345 - 11111 - 1037 - 197 = 0.
      Currency: fees 1037, vat 197. Parties: producer 1 (1, 12345, 1037,
      197), consumer 2 (1, 12345, 0, 0).
    A VAT tie: f = 150, 150 x 0.19 = 28.5: half_even 28 (p 178), half_up
    29 (p 179); a refund f = -150 gives -28 / -178 (the magnitude rounded,
    the sign of g put back).
    """
    rows = [tx(1, "2026-06-01T10:00:00+02:00", 1, 2, 12345)]
    d = D(2026, 6, 1)
    cfg = config([{"id": "std", "rate": "10%", "vat": {"rate": "19%"}}])
    r = ref.settle_v2(cfg, MEMBERS, rows, line_numbers=True)
    cur, parties, lines, rejected = r
    t.eq(rejected, [], "excluded: nothing rejected")
    t.eq(cur, {"EUR": totals(1, 12345, 1234, 0, vat_minor=234)}, "excluded: currency totals")
    t.eq(parties, [party(1, "producer", 1, 12345, 1234, 234),
                   party(2, "consumer", 1, 12345, 0, 0)], "excluded: parties")
    t.eq(lines, [(1, CLEARING, 2, "EUR", 12345, d, 1), (1, PAYABLE, 1, "EUR", -10877, d, 2),
                 (1, INCOME, 1, "EUR", -1234, d, 3), (1, VAT, 1, "EUR", -234, d, 5)],
         "excluded: lines 1, 2, 3, 5")
    checks(t, cfg, r, "excluded")
    cfg = config([{"id": "std", "rate": "10%", "vat": {"rate": "19%", "included": True}}])
    r = ref.settle_v2(cfg, MEMBERS, rows)
    cur, parties, lines, _ = r
    t.eq(cur, {"EUR": totals(1, 12345, 1037, 0, vat_minor=197)}, "included: currency totals")
    t.eq(parties, [party(1, "producer", 1, 12345, 1037, 197),
                   party(2, "consumer", 1, 12345, 0, 0)], "included: parties")
    t.eq(lines, [(1, CLEARING, 2, "EUR", 12345, d), (1, PAYABLE, 1, "EUR", -11111, d),
                 (1, INCOME, 1, "EUR", -1037, d), (1, VAT, 1, "EUR", -197, d)],
         "included: lines")
    checks(t, cfg, r, "included")
    vat = {"rate": Fraction(19, 100), "included": False, "account": VAT}
    t.eq(ref.vat_split(150, 1500, vat, "half_even"), (28, 178, 150), "tie 28.5: half_even 28")
    t.eq(ref.vat_split(150, 1500, vat, "half_up"), (29, 179, 150), "tie 28.5: half_up 29")
    t.eq(ref.vat_split(-150, -1500, vat, "half_even"), (-28, -178, -150), "tie: a refund")
    t.eq(ref.vat_split(0, -1500, vat), (0, 0, 0), "no fee, no VAT")
    t.eq(ref.vat_split(150, 1500, None), (0, 150, 150), "no VAT: p = n = f")


def cap_before_vat(t):
    """§10.8.2: the cap "a fee never exceeds the amount" applies to f
    before VAT. Rule 10%, min 5.00, VAT 19% excluded; a sale of 3.00 (300)
    from producer 1 to a guest:
      raw = max(30, 500) = 500, min(500, 300) = 300: f = f_p = 300;
      t_p = 57, p_p = 357: the producer pays more than the sale brought.
      Lines: clearing (guest) +300; payable 1 -(300 - 357) = +57, a debit;
      income 1 -300; VAT 1 -57. Sum 300 + 57 - 300 - 57 = 0.
    """
    cfg = config([{"id": "min", "rate": "10%", "min": "5.00", "vat": {"rate": "19%"}}])
    r = ref.settle_v2(cfg, MEMBERS, [tx(1, "2026-06-01T10:00:00+02:00", 1, None, 300)])
    d = D(2026, 6, 1)
    t.eq(r[2], [(1, CLEARING, None, "EUR", 300, d), (1, PAYABLE, 1, "EUR", 57, d),
                (1, INCOME, 1, "EUR", -300, d), (1, VAT, 1, "EUR", -57, d)],
         "cap: the payable line is a debit")
    t.eq(r[0], {"EUR": totals(1, 300, 300, 0, vat_minor=57)}, "cap: totals")
    checks(t, cfg, r, "cap")


def refund(t):
    """A sale and its refund, rule 10%, VAT 19% excluded, producer 1 to
    consumer 2, 123.45 on 2026-06-01 (as excluded_and_included) and -123.45
    on 2026-06-05 (refunds are taxed at the rule matching on their own day,
    §10.8.5; here the same rule):
      refund: f = -1234, t = -round(234.46) = -234, p = -1468, n = -1234.
      Lines: clearing 2 -12345; payable 1 -(-12345 - (-1468)) = +10877;
      income 1 +1234; VAT 1 +234: the sale's lines negated.
    Currency: 2 transactions, gross 0, fees 0, vat 0. Parties: producer 1
    (2, 0, 0, 0), consumer 2 (2, 0, 0, 0).
    Included: the sale's n = 1037, t = 197; the refund's -1037, -197.
    """
    rows = [tx(1, "2026-06-01T10:00:00+02:00", 1, 2, 12345),
            tx(2, "2026-06-05T10:00:00+02:00", 1, 2, -12345)]
    cfg = config([{"id": "std", "rate": "10%", "vat": {"rate": "19%"}}])
    r = ref.settle_v2(cfg, MEMBERS, rows)
    cur, parties, lines, _ = r
    d = D(2026, 6, 5)
    t.eq([ln for ln in lines if ln[0] == 2],
         [(2, CLEARING, 2, "EUR", -12345, d), (2, PAYABLE, 1, "EUR", 10877, d),
          (2, INCOME, 1, "EUR", 1234, d), (2, VAT, 1, "EUR", 234, d)], "refund: lines")
    t.eq(cur, {"EUR": totals(2, 0, 0, 0, vat_minor=0)}, "refund: totals come to 0")
    t.eq(parties, [party(1, "producer", 2, 0, 0, 0), party(2, "consumer", 2, 0, 0, 0)],
         "refund: parties come to 0")
    checks(t, cfg, r, "refund")
    cfg = config([{"id": "std", "rate": "10%", "vat": {"rate": "19%", "included": True}}])
    _, _, lines, _ = ref.settle_v2(cfg, MEMBERS, rows)
    t.eq([(ln[0], ln[1], ln[4]) for ln in lines if ln[1] in (INCOME, VAT)],
         [(1, INCOME, -1037), (1, VAT, -197), (2, INCOME, 1037), (2, VAT, 197)],
         "refund, included: the mirror")


def rate_change(t):
    """Germany's VAT was 16% from 2020-07-01 to 2020-12-31 and 19% before
    and after: a dated rule 'h2-2020' (from 2020-07-01, until 2021-01-01,
    vat 16%) before the catch-all 'std', the 19% as the top-level default.
    A rule 'refund16' for the category 'refund-h2-2020' (vat 16%) is the
    workaround §10.8.5 names for refunds of sales made at 16%. Every rule
    10%; sales of 100.00 (f = 1000), producer 1, consumer 2.
      tx 1  2020-06-30 23:30 CEST (21:30Z)                 std    t 190
      tx 2  2020-07-01 00:30 CEST (2020-06-30T22:30Z: its UTC date is
            06-30, a rule taken on UTC dates would charge 19%) h2-2020 160
      tx 3  2020-12-31 23:30 CET (22:30Z)                   h2-2020 160
      tx 4  2021-01-01 00:30 CET (2020-12-31T23:30Z)        std    t 190
      tx 5  2021-01-05, -100.00, refunds tx 3: §10.8.5 taxes it at the
            rule of its own day: std, t -190 (the known limitation: 30
            cents more VAT back than tx 3 paid)
      tx 6  2021-01-10, -100.00, category refund-h2-2020, refunds tx 2:
            refund16, t -160
    Lines of tx 2: clearing 2 +10000; payable 1 -(10000 - 1160) = -8840;
      income 1 -1000; VAT 1 -160. Of tx 1: payable -(10000 - 1190) = -8810.
    The window [2020-06-15, 2020-07-15) (the change in its middle) holds
    tx 1 and 2: 2 transactions, gross 20000, fees 2000, vat 350.
    The window [2020-12-15, 2021-01-15) holds tx 3-6: 4 transactions,
    gross 0, fees 0, vat 160 + 190 - 190 - 160 = 0.
    """
    cfg = config([{"id": "refund16", "when": {"category": ["refund-h2-2020"]}, "rate": "10%",
                   "vat": {"rate": "16%"}},
                  {"id": "h2-2020", "when": {"from": "2020-07-01", "until": "2021-01-01"},
                   "rate": "10%", "vat": {"rate": "16%"}},
                  {"id": "std", "rate": "10%"}], vat={"rate": "19%"})
    rows = [tx(1, "2020-06-30T23:30:00+02:00", 1, 2, 10000),
            tx(2, "2020-07-01T00:30:00+02:00", 1, 2, 10000),
            tx(3, "2020-12-31T23:30:00+01:00", 1, 2, 10000),
            tx(4, "2021-01-01T00:30:00+01:00", 1, 2, 10000),
            tx(5, "2021-01-05T10:00:00+01:00", 1, 2, -10000),
            tx(6, "2021-01-10T10:00:00+01:00", 1, 2, -10000, category="refund-h2-2020")]
    t.eq([ref.matching_rule(cfg, MEMBERS, r)["id"] for r in rows],
         ["std", "h2-2020", "h2-2020", "std", "std", "refund16"], "rate change: rules")
    t.eq([ref.transaction_day(cfg, r) for r in rows[:4]],
         [D(2020, 6, 30), D(2020, 7, 1), D(2020, 12, 31), D(2021, 1, 1)],
         "rate change: local days, not UTC dates")
    t.eq(ref.vat_of(cfg, cfg["fees"][2]), {"rate": Fraction(19, 100), "included": False,
                                           "account": VAT}, "rate change: std takes the default")
    summer = ref.days_window(ZONE, D(2020, 6, 15), D(2020, 7, 15))
    r = ref.settle_v2(cfg, MEMBERS, ref.rows_in_window(cfg, rows, *summer))
    cur, parties, lines, _ = r
    t.eq(cur, {"EUR": totals(2, 20000, 2000, 0, vat_minor=350)}, "rate change: June/July totals")
    vat_lines = {ln[0]: ln[4] for ln in lines if ln[1] == VAT}
    t.eq(vat_lines, {1: -190, 2: -160}, "rate change: 19% on 06-30, 16% on 07-01")
    t.eq([ln[4] for ln in lines if ln[1] == PAYABLE], [-8810, -8840], "rate change: payables")
    checks(t, cfg, r, "rate change, summer")
    winter = ref.days_window(ZONE, D(2020, 12, 15), D(2021, 1, 15))
    r = ref.settle_v2(cfg, MEMBERS, ref.rows_in_window(cfg, rows, *winter))
    cur, parties, lines, _ = r
    t.eq({ln[0]: ln[4] for ln in lines if ln[1] == VAT}, {3: -160, 4: -190, 5: 190, 6: 160},
         "rate change: 16% on 12-31, 19% on 01-01 and on the refund, 16% by the workaround")
    t.eq(cur, {"EUR": totals(4, 0, 0, 0, vat_minor=0)}, "rate change: December/January totals")
    checks(t, cfg, r, "rate change, winter")


def both_sides(t):
    """Rule 7%, borne 2/3 producer, 1/3 consumer, VAT 19% excluded.
    tx 1, producer 3 -> consumer 4, 43.29 (4329):
      f = round(7% x 4329 = 303.03) = 303; LR(303; 2/3, 1/3) = 202 / 101
      exactly. t_p = round(202 x 0.19 = 38.38) = 38; t_c = round(101 x
      0.19 = 19.19) = 19; t = 57 (rounding the whole fee's VAT, 303 x 0.19
      = 57.57, would give 58: §10.8.7 sums the sides' roundings).
      p_p = 240, p_c = 120.
      Lines: 1 clearing 4 +(4329 + 120) = 4449; 2 payable 3 -(4329 - 240) =
      -4089; 3 income 3 -202; 4 income 4 -101; 5 VAT 3 -38; 6 VAT 4 -19.
      Sum 4449 - 4089 = 360 = 202 + 101 + 38 + 19.
    tx 2, the same from producer 3 to a guest: the same figures, the
      consumer lines with party None.
    Currency: 2 transactions, gross 8658, fees 606 (producers 404,
    consumers 202), vat 114 (the guest's 19 included). Parties: producer 3
    (2, 8658, 404, 76); consumer 4 (1, 4329, 101, 19); no guest party.
    Included instead: t_p = round(202 x 19/119 = 32.25) = 32, t_c =
    round(101 x 19/119 = 16.13) = 16; nets 170 / 85.
    """
    cfg = config([{"id": "both", "rate": "7%", "borne_by": {"producer": "2/3", "consumer": "1/3"},
                   "vat": {"rate": "19%"}}])
    rows = [tx(1, "2026-06-01T10:00:00+02:00", 3, 4, 4329),
            tx(2, "2026-06-01T11:00:00+02:00", 3, None, 4329)]
    d = D(2026, 6, 1)
    r = ref.settle_v2(cfg, MEMBERS, rows, line_numbers=True)
    cur, parties, lines, _ = r
    t.eq(lines, [(1, CLEARING, 4, "EUR", 4449, d, 1), (1, PAYABLE, 3, "EUR", -4089, d, 2),
                 (1, INCOME, 3, "EUR", -202, d, 3), (1, INCOME, 4, "EUR", -101, d, 4),
                 (1, VAT, 3, "EUR", -38, d, 5), (1, VAT, 4, "EUR", -19, d, 6),
                 (2, CLEARING, None, "EUR", 4449, d, 1), (2, PAYABLE, 3, "EUR", -4089, d, 2),
                 (2, INCOME, 3, "EUR", -202, d, 3), (2, INCOME, None, "EUR", -101, d, 4),
                 (2, VAT, 3, "EUR", -38, d, 5), (2, VAT, None, "EUR", -19, d, 6)],
         "both sides: six lines each")
    t.eq(cur, {"EUR": totals(2, 8658, 404, 202, vat_minor=114)}, "both sides: guests' VAT counts")
    t.eq(parties, [party(3, "producer", 2, 8658, 404, 76), party(4, "consumer", 1, 4329, 101, 19)],
         "both sides: parties")
    checks(t, cfg, r, "both sides")
    inc = {"rate": Fraction(19, 100), "included": True, "account": VAT}
    t.eq((ref.vat_split(202, 4329, inc), ref.vat_split(101, 4329, inc)),
         ((32, 202, 170), (16, 101, 85)), "both sides, included")


def fund_of_net_fee(t):
    """Rule 10%, VAT 19% included, funds [community 50%]; producer 1 sells
    12.30 (1230) to a guest on 2026-06-02, and refunds it on 06-03:
      f = f_p = 123 (the gross fee); t = round(123 x 19/119 = 2337/119 =
      19.64) = 20; n = 103. The fund splits the net fee: LR(103; community
      1/2 (key 0), income 1/2 (key 1)): quotas 51.5 and 51.5, floors 51 +
      51, r = 1, a tie: the fund gets the unit: community 52, income 51.
      Lines: 1 clearing (guest) +1230; 2 payable 1 -(1230 - 123) = -1107;
      3 income 1 -51; 4 is 0; 5 VAT 1 -20; 6 is 0; 7 community 1 -52.
      Sum 1230 - 1107 - 51 - 20 - 52 = 0.
      The refund: every line negated (LR of -103 is -(LR of 103)).
    Currency after the sale: 1 transaction, gross 1230, fees 103 (producers
    103), fee_income 51, funds {community: 52}, vat 20; fee_income + funds
    = fees (net). After both: everything 0.
    Producer 1 after the sale: (1, 1230, 103, vat 20).
    A config without `vat`, the same rule 10% (f = 123): LR(123; 1/2, 1/2)
    = 62 / 61, community 62 at line 5 (fund lines follow the four lines,
    numbered as before §10.8).
    """
    fees = [{"id": "fund", "rate": "10%", "vat": {"rate": "19%", "included": True},
             "funds": [{"account": COMMUNITY, "share": "50%"}]}]
    cfg = config(fees)
    sale = tx(1, "2026-06-02T10:00:00+02:00", 1, None, 1230)
    back = tx(2, "2026-06-03T10:00:00+02:00", 1, None, -1230)
    d2, d3 = D(2026, 6, 2), D(2026, 6, 3)
    r = ref.settle_v2(cfg, MEMBERS, [sale], line_numbers=True)
    cur, parties, lines, _ = r
    t.eq(lines, [(1, CLEARING, None, "EUR", 1230, d2, 1), (1, PAYABLE, 1, "EUR", -1107, d2, 2),
                 (1, INCOME, 1, "EUR", -51, d2, 3), (1, VAT, 1, "EUR", -20, d2, 5),
                 (1, COMMUNITY, 1, "EUR", -52, d2, 7)], "fund: lines 1, 2, 3, 5, 7")
    t.eq(cur, {"EUR": totals(1, 1230, 103, 0, vat_minor=20, fee_income_minor=51,
                             funds={COMMUNITY: 52})}, "fund: currency totals")
    t.eq(parties, [party(1, "producer", 1, 1230, 103, 20)], "fund: producer bears the net fee")
    checks(t, cfg, r, "fund")
    r = ref.settle_v2(cfg, MEMBERS, [sale, back])
    cur, _, lines, _ = r
    t.eq([ln for ln in lines if ln[0] == 2],
         [(2, CLEARING, None, "EUR", -1230, d3), (2, PAYABLE, 1, "EUR", 1107, d3),
          (2, INCOME, 1, "EUR", 51, d3), (2, VAT, 1, "EUR", 20, d3),
          (2, COMMUNITY, 1, "EUR", 52, d3)], "fund: the refund mirrors the odd cent")
    t.eq(cur, {"EUR": totals(2, 0, 0, 0, vat_minor=0, fee_income_minor=0, funds={COMMUNITY: 0})},
         "fund: sale and refund come to 0")
    checks(t, cfg, r, "fund and refund")
    plain = config([{"id": "fund", "rate": "10%",
                     "funds": [{"account": COMMUNITY, "share": "50%"}]}])
    _, _, lines, _ = ref.settle_v2(plain, MEMBERS, [sale], line_numbers=True)
    t.eq(lines, [(1, CLEARING, None, "EUR", 1230, d2, 1), (1, PAYABLE, 1, "EUR", -1107, d2, 2),
                 (1, INCOME, 1, "EUR", -61, d2, 3), (1, COMMUNITY, 1, "EUR", -62, d2, 5)],
         "fund without vat: the fund line is line 5")


def dst_boundaries(t):
    """Rules dated on Europe/Berlin's clock-change days of 2026 (03-29 has
    23 hours, from 2026-03-28T23:00Z; 10-25 has 25, from 2026-10-24T22:00Z),
    every rule 10%, sales of 10.00 (f = 100) from producer 1 to guests:
      'winter' until 2026-03-29, the top-level default VAT 19% excluded;
      'summer' from 2026-03-29 until 2026-10-25, vat 7%;
      'autumn' from 2026-10-25, vat 19% included.
      tx 1  2026-03-28 23:30 CET  (22:30Z 03-28)        winter t 19, n 100
      tx 2  2026-03-29 00:30 CET  (23:30Z, UTC date 03-28) summer t 7
      tx 6  '2026-03-29 02:30' without offset: a wall time the day skips,
            read with the offset before the jump, day 03-29: summer t 7
      tx 3  2026-10-24 23:30 CEST (21:30Z 10-24)        summer t 7
      tx 4  2026-10-25 00:30 CEST (22:30Z, UTC date 10-24) autumn:
            t = round(100 x 19/119 = 15.97) = 16, n 84
      tx 7  '2026-10-25 02:30' without offset: twice that day, day 10-25:
            autumn t 16, n 84
      tx 5  2026-10-25 23:30 CET  (22:30Z 10-25)        autumn t 16, n 84
    Lines of tx 1: clearing +1000; payable 1 -(1000 - 119) = -881; income
    -100; VAT -19. Of tx 4: payable -(1000 - 100) = -900; income -84; VAT
    -16. The 23-hour day 03-29 holds tx 2 and 6 (vat 14); 03-28 holds tx 1
    (vat 19); the 25-hour day 10-25 holds tx 4, 7, 5 (vat 48, fees 252).
    """
    cfg = config([{"id": "winter", "when": {"until": "2026-03-29"}, "rate": "10%"},
                  {"id": "summer", "when": {"from": "2026-03-29", "until": "2026-10-25"},
                   "rate": "10%", "vat": {"rate": "7%"}},
                  {"id": "autumn", "when": {"from": "2026-10-25"}, "rate": "10%",
                   "vat": {"rate": "19%", "included": True}}], vat={"rate": "19%"})
    rows = [tx(1, "2026-03-28T23:30:00+01:00", 1, None, 1000),
            tx(2, "2026-03-29T00:30:00+01:00", 1, None, 1000),
            tx(3, "2026-10-24T23:30:00+02:00", 1, None, 1000),
            tx(4, "2026-10-25T00:30:00+02:00", 1, None, 1000),
            tx(5, "2026-10-25T23:30:00+01:00", 1, None, 1000),
            tx(6, datetime(2026, 3, 29, 2, 30), 1, None, 1000),
            tx(7, datetime(2026, 10, 25, 2, 30), 1, None, 1000)]
    summer = cfg["fees"][1]
    t.eq([ref.rule_in_force(summer, x) for x in ("2026-03-28", "2026-03-29", "2026-10-24",
                                                 "2026-10-25")],
         [False, True, True, False], "DST: summer holds on [03-29, 10-25)")
    t.eq([ref.matching_rule(cfg, MEMBERS, r)["id"] for r in rows],
         ["winter", "summer", "summer", "autumn", "autumn", "summer", "autumn"], "DST: rules")
    r = ref.settle_v2(cfg, MEMBERS, rows)
    _, _, lines, _ = r
    t.eq({ln[0]: -ln[4] for ln in lines if ln[1] == VAT},
         {1: 19, 2: 7, 3: 7, 4: 16, 5: 16, 6: 7, 7: 16}, "DST: VAT of each transaction")
    t.eq({ln[0]: -ln[4] for ln in lines if ln[1] == INCOME},
         {1: 100, 2: 100, 3: 100, 4: 84, 5: 84, 6: 100, 7: 84}, "DST: net fee of each")
    t.eq([ln[4] for ln in lines if ln[1] == PAYABLE and ln[0] in (1, 4)], [-881, -900],
         "DST: payables")
    t.eq({ln[0]: ln[5] for ln in lines},
         {1: D(2026, 3, 28), 2: D(2026, 3, 29), 3: D(2026, 10, 24), 4: D(2026, 10, 25),
          5: D(2026, 10, 25), 6: D(2026, 3, 29), 7: D(2026, 10, 25)}, "DST: posted_on")
    checks(t, cfg, r, "DST")
    for day, ids, vat, fees in (("2026-03-28", [1], 19, 100), ("2026-03-29", [2, 6], 14, 200),
                                ("2026-10-25", [4, 5, 7], 48, 252)):
        w = ref.period_window(ZONE, day)
        got = ref.settle_v2(cfg, MEMBERS, ref.rows_in_window(cfg, rows, *w))
        t.eq((sorted({ln[0] for ln in got[2]}), got[0]["EUR"]["vat_minor"],
              got[0]["EUR"]["fees_minor"]), (ids, vat, fees), "DST: the day " + day)


def several_accounts(t):
    """Two VAT accounts: the top-level default {rate 19%, included true,
    account liabilities:vat:19}; rule 'books' (category books) {rate 7%,
    account liabilities:vat:7}; rule 'donation' vat: none; rule 'std'
    inherits the default. A rule's vat replaces the default whole: a rule
    {rate: 16%} alone would be excluded and on accounts.vat, not included
    on vat:19. Every rule 10%, producer 1 to consumer 2, 20.00 (f = 200):
      tx 1 books: excluded 7%: t = 14, n 200, payable -(2000 - 214) = -1786
      tx 2 std: included 19%: t = round(200 x 19/119 = 31.93) = 32, n 168
      tx 3 donation: no VAT: lines 1-3 only, n 200
    EUR: 3 transactions, gross 6000, fees 568, vat 46, vat {vat:19: 32,
    vat:7: 14} (more than one account: the map, R4); CHF (no sales): all 0,
    the map with both accounts at 0.
    A config whose only vat is `vat: none` on a rule has vat_minor (0)
    everywhere (R3), and no map (no account used).
    """
    fees = [{"id": "books", "when": {"category": ["books"]}, "rate": "10%",
             "vat": {"rate": "7%", "account": VAT7}},
            {"id": "donation", "when": {"category": ["donation"]}, "rate": "10%", "vat": "none"},
            {"id": "std", "rate": "10%"}]
    cfg = config(fees, vat={"rate": "19%", "included": True, "account": VAT19},
                 currencies={"EUR": 2, "CHF": 2})
    t.eq([ref.vat_of(cfg, r) for r in fees],
         [{"rate": Fraction(7, 100), "included": False, "account": VAT7}, None,
          {"rate": Fraction(19, 100), "included": True, "account": VAT19}], "vat_of each rule")
    t.eq(ref.vat_of(cfg, {"id": "x", "rate": "1%", "vat": {"rate": "16%"}}),
         {"rate": Fraction(16, 100), "included": False, "account": VAT},
         "a rule's vat replaces the default whole")
    t.eq(ref.vat_of(dict(cfg, accounts={"vat": "liabilities:ust"}),
                    {"id": "x", "rate": "1%", "vat": {"rate": "16%"}})["account"],
         "liabilities:ust", "accounts.vat is the default account")
    t.eq(ref.vat_accounts(cfg), [VAT7, VAT19], "two accounts used")
    rows = [tx(1, "2026-06-01T10:00:00+02:00", 1, 2, 2000, category="books"),
            tx(2, "2026-06-01T11:00:00+02:00", 1, 2, 2000),
            tx(3, "2026-06-01T12:00:00+02:00", 1, 2, 2000, category="donation")]
    r = ref.settle_v2(cfg, MEMBERS, rows, line_numbers=True)
    cur, parties, lines, _ = r
    t.eq(cur, {"EUR": totals(3, 6000, 568, 0, vat_minor=46, vat={VAT7: 14, VAT19: 32}),
               "CHF": totals(0, 0, 0, 0, vat_minor=0, vat={VAT7: 0, VAT19: 0})},
         "several accounts: the vat map")
    t.eq([(ln[0], ln[1], ln[4], ln[6]) for ln in lines if ln[1] not in (CLEARING,)],
         [(1, PAYABLE, -1786, 2), (1, INCOME, -200, 3), (1, VAT7, -14, 5),
          (2, PAYABLE, -1800, 2), (2, INCOME, -168, 3), (2, VAT19, -32, 5),
          (3, PAYABLE, -1800, 2), (3, INCOME, -200, 3)], "several accounts: lines")
    t.eq(parties, [party(1, "producer", 3, 6000, 568, 46), party(2, "consumer", 3, 6000, 0, 0)],
         "several accounts: parties")
    checks(t, cfg, r, "several accounts")
    off = config([{"id": "std", "rate": "10%", "vat": "none"}])
    t.check(ref.has_vat(off), "vat: none is a vat key")
    cur, parties, _, _ = ref.settle_v2(off, MEMBERS, rows[1:2])
    t.eq((cur, parties), ({"EUR": totals(1, 2000, 200, 0, vat_minor=0)},
                          [party(1, "producer", 1, 2000, 200, 0),
                           party(2, "consumer", 1, 2000, 0, 0)]), "vat: none only: vat_minor 0")
    t.check(not ref.has_vat(config(fees[2:], accounts={"vat": VAT19})),
            "accounts.vat alone is no vat")


def config_problems(t):
    """§10.8.4 and §10.8.1: from >= until; a rate outside [0, 1]; a vat map
    without rate (included or account without rate); a VAT account equal to
    accounts.fee_income, accounts.clearing, accounts.producer_payable or a
    fund account (any rule's), also when it is the default accounts.vat."""
    good = config([{"id": "a", "when": {"from": "2026-01-01", "until": "2026-01-02"},
                    "rate": "1%", "vat": {"rate": "100%", "included": True}},
                   {"id": "b", "rate": "1%", "vat": "none"},
                   {"id": "c", "rate": "1%", "vat": {"rate": "0"}}], vat={"rate": "19%"})
    t.eq(ref.vat_config_problems(good), [], "a good config: rates 0 and 1, one day")
    t.eq(ref.vat_config_problems(config([{"id": "a", "rate": "1%"}], vat="none")), [],
         "top-level vat: none is no error (R2)")
    bad = config([{"id": "same", "when": {"from": "2026-01-01", "until": "2026-01-01"},
                   "rate": "1%"},
                  {"id": "back", "when": {"from": "2026-02-01", "until": "2026-01-01"},
                   "rate": "1%", "vat": {"rate": "101%"}},
                  {"id": "neg", "rate": "1%", "vat": {"rate": "-1%"}},
                  {"id": "norate", "rate": "1%", "vat": {"included": True}},
                  {"id": "income", "rate": "1%", "vat": {"rate": "7%", "account": INCOME}},
                  {"id": "clear", "rate": "1%", "vat": {"rate": "7%", "account": CLEARING}},
                  {"id": "pay", "rate": "1%", "vat": {"rate": "7%", "account": PAYABLE}},
                  {"id": "fund", "rate": "1%", "vat": {"rate": "7%", "account": SOLIDARITY}},
                  {"id": "f", "rate": "1%", "funds": [{"account": SOLIDARITY, "share": "1%"}]}],
                 vat={"rate": "19%", "account": COMMUNITY, "colour": "red"})
    bad["fees"][-1]["funds"].append({"account": COMMUNITY, "share": "1%"})
    t.eq(ref.vat_config_problems(bad),
         ["vat: unknown key 'colour'",
          "vat account '%s' is a fund account" % COMMUNITY,
          "rule 'same': when.from 2026-01-01 is not before when.until 2026-01-01",
          "rule 'back': when.from 2026-02-01 is not before when.until 2026-01-01",
          "rule 'back': vat: rate 101% is outside [0, 1]",
          "rule 'neg': vat: rate -1% is outside [0, 1]",
          "rule 'norate': vat: rate is required",
          "rule 'income': vat account '%s' is accounts.fee_income" % INCOME,
          "rule 'clear': vat account '%s' is accounts.clearing" % CLEARING,
          "rule 'pay': vat account '%s' is accounts.producer_payable" % PAYABLE,
          "rule 'fund': vat account '%s' is a fund account" % SOLIDARITY],
         "every problem, in config order")
    renamed = config([{"id": "a", "rate": "1%"}], vat={"rate": "19%"},
                     accounts={"vat": "income:fees"})
    t.eq(ref.vat_config_problems(renamed),
         ["vat account 'income:fees' is accounts.fee_income"],
         "the default account accounts.vat is checked too")
    t.eq(ref.vat_config_problems(config([{"id": "a", "rate": "1%", "vat": None}])),
         ["rule 'a': vat must be a map or none"], "an empty vat")
    try:
        ref.settle_v2(bad, MEMBERS, [])
        t.check(False, "settle_v2 refuses a bad config")
    except ref.ConfigError as e:
        t.eq(len(e.problems), 11, "settle_v2 refuses a bad config")


# ---- random -------------------------------------------------------------------

def random_members(rng, month_first):
    ms = []
    for mid in range(1, 9):
        for cls in ("producer", "consumer"):
            if rng.random() < 0.6:
                j = month_first + timedelta(days=rng.randrange(-5, 25))
                left = j + timedelta(days=rng.randrange(1, 12)) if rng.random() < 0.5 else None
                ms.append((mid, cls, j, left))
                if left is not None and rng.random() < 0.5:
                    ms.append((mid, cls, left + timedelta(days=rng.randrange(0, 5)), None))
    return ms


def random_rule(rng, i, jpy):
    """A random fee rule; with jpy, its money is whole (exponent 0)."""
    r = {"id": "r%d" % i}
    if rng.random() < 0.4:
        r["tiers"] = [{"up_to": "10.00", "rate": rng.choice(["8%", "1/7"])},
                      {"rate": rng.choice(["5%", "2.5%"])}]
    else:
        r["rate"] = rng.choice(["3%", "9%", "12.5%", "1/9", "0"])
    if rng.random() < 0.3:
        r["fixed"] = rng.choice(["1", "2"] if jpy else ["0.05", "0.10"])
    if rng.random() < 0.3:
        r["min"] = rng.choice(["1", "5.00"] if jpy else ["0.50", "5.00"])
    if rng.random() < 0.2:
        r["max"] = "20.00"
    if rng.random() < 0.5:
        r["borne_by"] = rng.choice([{"producer": "2/3", "consumer": "1/3"},
                                    {"consumer": "1/2", "producer": "1/2"},
                                    {"consumer": "1"}])
    if rng.random() < 0.4:
        r["funds"] = rng.choice([[{"account": COMMUNITY, "share": "50%"}],
                                 [{"account": COMMUNITY, "share": "1/3"},
                                  {"account": SOLIDARITY, "share": "1/6"}],
                                 [{"account": SOLIDARITY, "share": "0.1"}]])
    return r


def random_when(rng):
    w = {}
    if rng.random() < 0.3:
        w["producer_member"] = rng.random() < 0.5
    if rng.random() < 0.3:
        w["consumer_member"] = rng.random() < 0.5
    if rng.random() < 0.2:
        w["category"] = ["books"]
    if rng.random() < 0.1:
        w["currency"] = ["CHF"]
    return w


def random_rows(rng, window, n, currencies):
    rows = []
    span = int((window[1] - window[0]).total_seconds())
    for i in range(n):
        if rng.random() < 0.5:  # near a local midnight or a clock change
            at = window[0] + timedelta(days=rng.randrange(0, span // 86400),
                                       hours=rng.choice([0, 1, 2, 22, 23, 24, 25]),
                                       seconds=rng.choice([-1, 0, 1, 1800]))
            at = min(max(at, window[0]), window[1] - timedelta(seconds=1))
        else:
            at = window[0] + timedelta(seconds=rng.randrange(0, span))
        rows.append(tx(i + 1, at, rng.randrange(1, 10), rng.choice([None, rng.randrange(1, 10)]),
                       rng.choice([0, 1, 7, 99, 1000, 4329, 12345, 123456, -5000, -12345]),
                       rng.choice(list(currencies)), rng.choice(["crafts", "books"])))
    return rows


def without_vat_unchanged(t):
    """§10.8.6: a version 2 config without any `vat` settles exactly as
    before §10.8. 150 random configs (rules with rates, tiers, fixed, min,
    max, borne_by, fee funds, member and category predicates; EUR and JPY
    with exponent 0), random dated memberships, sales, refunds, guests and
    invalid rows (NULLs, an unknown currency, duplicate ids): settle_v2
    gives what settle_v2_before_vat (the code path as it was) gives, no
    vat_minor anywhere, fund lines numbered from 5. The same config with
    every rule dated [2000-01-01, 2100-01-01) settles the same; with
    `vat: none` on every rule, the same lines and the figures with
    vat_minor 0 added, fund lines from 7."""
    rng = random.Random(1008)
    month = ref.period_window(ZONE, "2026-10")
    for scenario in range(150):
        what = "no vat, scenario %d: " % scenario
        currencies = rng.choice([{"EUR": 2}, {"EUR": 2, "JPY": 0, "CHF": 2}])
        fees = []
        for i in range(rng.randrange(1, 4)):
            r = random_rule(rng, i, "JPY" in currencies)
            w = random_when(rng)
            if w:
                r["when"] = w
            fees.append(r)
        if rng.random() < 0.8:
            fees.append(random_rule(rng, 9, "JPY" in currencies))  # a catch-all
        cfg = config(fees, currencies=currencies,
                     rounding=rng.choice(["half_even", "half_up", "half_down", "down", "up"]))
        ms = random_members(rng, D(2026, 10, 1))
        rows = random_rows(rng, month, 30, currencies)
        rows.append(tx(900, month[0] + timedelta(hours=5), 1, None, 100, "USD"))
        rows.append(tx(901, month[0] + timedelta(hours=6), None, 2, 100))
        rows.append(tx(902, None, 1, 2, 100))
        rows += [dict(rows[0], occurred_at=month[0] + timedelta(hours=7))] \
            if rng.random() < 0.3 else []
        before = ref.settle_v2_before_vat(cfg, ms, rows)
        now = ref.settle_v2(cfg, ms, rows)
        t.eq(now, before, what + "settle_v2 as before §10.8")
        t.check(not any("vat_minor" in c or "vat" in c for c in now[0].values()) and
                not any("vat_minor" in p for p in now[1]), what + "no vat fields")
        numbered = ref.settle_v2(cfg, ms, rows, line_numbers=True)[2]
        t.check(all(ln[6] <= 4 or ln[1] in (COMMUNITY, SOLIDARITY) for ln in numbered) and
                all(ln[6] >= 5 for ln in numbered if ln[1] in (COMMUNITY, SOLIDARITY)),
                what + "fund lines from 5")
        checks(t, cfg, now, what.rstrip(": "))
        dated = config([dict(r, when=dict(r.get("when", {}), **{"from": "2000-01-01",
                                                                   "until": "2100-01-01"}))
                        for r in fees], currencies=currencies, rounding=cfg["rounding"])
        t.eq(ref.settle_v2(dated, ms, rows), before, what + "dated over all days: the same")
        off = dict(cfg, fees=[dict(r, vat="none") for r in fees])
        got = ref.settle_v2(off, ms, rows, line_numbers=True)
        t.eq([ln[:6] for ln in got[2]], before[2], what + "vat: none: the same lines")
        t.check(all(ln[6] >= 7 for ln in got[2] if ln[1] in (COMMUNITY, SOLIDARITY)),
                what + "vat: none: fund lines from 7")
        t.eq(({c: {k: x for k, x in v.items() if k != "vat_minor"} for c, v in got[0].items()},
              [{k: x for k, x in p.items() if k != "vat_minor"} for p in got[1]]),
             before[:2], what + "vat: none: the same figures")
        t.check(all(v["vat_minor"] == 0 for v in got[0].values()) and
                all(p["vat_minor"] == 0 for p in got[1]), what + "vat: none: vat_minor 0")


def month_is_its_days(t):
    """A month settled whole equals its days settled one by one and summed
    (sum_settles): party totals with vat_minor, currency totals with vat,
    the vat map and funds, the lines in order. October 2026 (a 25-hour
    day) and March 2026 (a 23-hour day) in Europe/Berlin; random rules
    dated on random days of the month (some on the clock-change day),
    VAT excluded, included, none and a top-level default, one or two VAT
    accounts, fee funds, memberships, guests, refunds; every transaction's
    lines sum to 0, and the VAT and fund figures agree with the lines. VAT
    is rounded per side and transaction (§10.8.7), so the sums are exact.
    """
    rng = random.Random(1088)
    vats = [{"rate": "19%"}, {"rate": "7%", "included": True},
            {"rate": "16%", "account": VAT7}, {"rate": "1/3", "included": True, "account": VAT19},
            "none", None]

    def pick(choices):  # a copy: a scenario may take the account out
        v = rng.choice(choices)
        return dict(v) if isinstance(v, dict) else v
    compared = 0
    for scenario in range(80):
        what = "month = days, scenario %d: " % scenario
        period = rng.choice(["2026-10", "2026-03"])
        first = D(2026, int(period[5:]), 1)
        month = ref.period_window(ZONE, period)
        days = ref.local_days(ZONE, *month)
        change = D(2026, int(period[5:]), 25 if period == "2026-10" else 29)
        fees = []
        for i in range(rng.randrange(2, 6)):
            r = random_rule(rng, i, True)
            w = random_when(rng) if rng.random() < 0.5 else {}
            if rng.random() < 0.7:
                a = rng.choice([change, first + timedelta(days=rng.randrange(0, 31))])
                if rng.random() < 0.5:
                    w["from"] = a.isoformat()
                if rng.random() < 0.7:
                    w["until"] = (a + timedelta(days=rng.randrange(1, 20))).isoformat()
            if w:
                r["when"] = w
            v = pick(vats)
            if v is not None:
                r["vat"] = v
            fees.append(r)
        if rng.random() < 0.8:
            fees.append(random_rule(rng, 9, True))  # a catch-all (else rejects)
            v = pick(vats)
            if v is not None:
                fees[-1]["vat"] = v
        top = {}
        if rng.random() < 0.6:
            top["vat"] = pick(vats[:4])
        if rng.random() < 0.5:  # one VAT account (no `vat` map) or several
            for spec in [r.get("vat") for r in fees] + [top.get("vat")]:
                if isinstance(spec, dict):
                    spec.pop("account", None)
        cfg = config(fees, currencies={"EUR": 2, "JPY": 0},
                     rounding=rng.choice(["half_even", "half_up", "down", "up"]), **top)
        if ref.vat_config_problems(cfg):
            continue
        ms = random_members(rng, first)
        rows = random_rows(rng, month, 40, cfg["currencies"])
        whole = ref.settle_v2(cfg, ms, ref.rows_in_window(cfg, rows, *month), line_numbers=True)
        per_day = [ref.settle_v2(cfg, ms, ref.rows_in_window(
            cfg, rows, *ref.days_window(ZONE, d, d + timedelta(days=1))), line_numbers=True)
            for d in days]
        summed = ref.sum_settles(*per_day)
        t.eq(summed[0], whole[0], what + "currency totals")
        t.eq(summed[1], whole[1], what + "party totals")
        t.eq(summed[2], whole[2], what + "lines")
        t.eq(summed[3], whole[3], what + "rejected")
        checks(t, cfg, whole, what.rstrip(": "))
        for d, r in zip(days, per_day):
            t.check(all(ln[5] == d for ln in r[2]), what + "posted on its day %s" % d)
        compared += 1
    t.check(compared >= 60, "month = days: %d scenarios compared" % compared)


def main():
    t = Checks()
    for fn in (excluded_and_included, cap_before_vat, refund, rate_change, both_sides,
               fund_of_net_fee, dst_boundaries, several_accounts, config_problems,
               without_vat_unchanged, month_is_its_days):
        t.case(fn)
    t.finish()


if __name__ == "__main__":
    main()
