"""The reference model of the cooperative law of config version 2
(tests/integration/lib/reference.py: settle_v2's fee funds and the section
"cooperative law": distribute_law, distribute_years and their helpers),
checked against examples worked by hand. No database: this script needs
neither PGHOST nor the engine.

Every expected figure below is worked in the comment above it, from the
spec (SETTLEMENT.md §2, §6, §10.2, §10.3 and §10.7.1-11), without running
the model. Amounts are minor units (cents); Europe/Berlin; rounding
half_even. Windows are calendar years unless said otherwise: 2026 and 2027
have 365 local days, 2028 has 366.
"""
import os
import random
import sys
from datetime import date, timedelta
from fractions import Fraction

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import reference as ref  # noqa: E402
from test_reference_v2 import Checks, party, tx, CLASSES  # noqa: E402

D = date
ZONE = "Europe/Berlin"
LEGAL = "equity:reserves:legal"
OTHER = "equity:reserves:other"
EMPTY = "equity:reserves:empty"
LOSS = "equity:loss-carried-forward"
SURPLUS = "equity:surplus"
FREE = "equity:reserves:free"
CI = "liabilities:capital-interest"
WH = "liabilities:withholding-tax"
CASH = "liabilities:patronage"
RET = "equity:member-capital"
COMMUNITY = "liabilities:funds:community"
SOLIDARITY = "liabilities:funds:solidarity"


def year(y):
    return ref.period_window(ZONE, str(y))


TOP_LEVEL = ("currency", "currencies", "timezone", "rounding", "accounts")


def config(steps, fees=None, **keys):
    """A version 2 config; keys in TOP_LEVEL go to the top, the others
    (opening, loss_cover, total_assets, ...) into `surplus`."""
    cfg = {"version": 2, "cooperative": "Gesetz eG", "currency": "EUR",
           "currencies": {"EUR": 2}, "timezone": ZONE, "rounding": "half_even",
           "fees": fees or [{"id": "all", "rate": "10%"}],
           "surplus": {"costs": {"amount": {"EUR": "0"}}, "steps": steps}}
    for k, v in keys.items():
        (cfg if k in TOP_LEVEL else cfg["surplus"])[k] = v
    return cfg


def member(mid, ci=0, wh=0, net=None, pat=0, cash=0, ret=0, currency="EUR"):
    return {"id": mid, "currency": currency, "capital_interest_minor": ci, "withheld_minor": wh,
            "capital_interest_net_minor": ci - wh if net is None else net,
            "patronage_minor": pat, "cash_minor": cash, "retained_minor": ret}


def law_checks(t, cfg, r, what):
    """Every result must keep the model's invariants."""
    t.eq(ref.law_invariant_problems(cfg, r), [], what + ": invariants")


def lines_of(r):
    """Lines without posted_on, for comparing (the posted_on is checked
    separately: every line on the window's last day)."""
    return [ln[:5] for ln in r["lines"]]


def posted_on_last_day(t, r, what):
    t.check(all(ln[5] == r["last_day"] for ln in r["lines"]), what + ": posted on the last day")


def loss_cover_two_reserves(t):
    """Opening as of 2026-01-01: other reserve 150.00, legal reserve 300.00,
    a third reserve 0.00; loss_cover [other, empty, legal, carry_forward].
    One account step (remaining, to the legal reserve), never reached in a
    loss year.

    2026, fee income 100.00, costs 500.00: S = 10000 - 50000 = -40000.
    L0 = 0 (no loss carried in), c = min(max(S, 0), L0) = 0, S' = S.
    L = 40000: other gives min(40000, max(0, 15000)) = 15000, L = 25000;
    empty gives min(25000, 0) = 0 (not listed, no line); legal gives
    min(25000, 30000) = 25000, L = 0: nothing carried forward.
    Lines (§10.7.1): surplus -40000 (the credit +S), other +15000, legal
    +25000; sum 0. steps [], retained 0, members none.

    Costs 600.00 instead: S = -50000; other 15000, legal 30000 (all of
    it), carried forward 5000: lines surplus -50000, other +15000, legal
    +30000, loss account +5000. loss_carried_out 5000.

    After the second variant, 2027 starts with other 0, legal 0, loss
    5000 (the debit balance), empty 0.
    """
    cfg = config([{"id": "rest", "type": "account", "share": "remaining", "account": LEGAL}],
                 opening={"as_of": "2026-01-01",
                          "balances": {OTHER: {"EUR": "150.00"}, LEGAL: {"EUR": "300.00"},
                                       EMPTY: {"EUR": "0"}}},
                 loss_cover=[OTHER, EMPTY, LEGAL, "carry_forward"])
    r = ref.distribute_law(cfg, [], [], {"EUR": 10000}, {"EUR": 50000}, [], [], *year(2026))
    t.eq(r["currencies"]["EUR"],
         {"fee_income_minor": 10000, "costs_minor": 50000, "surplus_minor": -40000,
          "loss_carried_in_minor": 0, "loss_covered_minor": 0, "distributable_minor": -40000,
          "loss_cover": [{"account": OTHER, "amount_minor": 15000},
                         {"account": LEGAL, "amount_minor": 25000}],
          "loss_carried_out_minor": 0, "steps": [], "retained_surplus_minor": 0},
         "loss cover: two reserves cover 400.00")
    t.eq(lines_of(r), [(None, SURPLUS, None, "EUR", -40000), (None, OTHER, None, "EUR", 15000),
                       (None, LEGAL, None, "EUR", 25000)], "loss cover: lines in list order")
    t.eq(r["members"], [], "loss cover: no member gets anything")
    posted_on_last_day(t, r, "loss cover")
    law_checks(t, cfg, r, "loss cover")
    r = ref.distribute_law(cfg, [], [], {"EUR": 10000}, {"EUR": 60000}, [], [], *year(2026))
    e = r["currencies"]["EUR"]
    t.eq((e["loss_cover"], e["loss_carried_out_minor"]),
         ([{"account": OTHER, "amount_minor": 15000}, {"account": LEGAL, "amount_minor": 30000}],
          5000), "loss cover: reserves exhausted, 50.00 carried forward")
    t.eq(lines_of(r), [(None, SURPLUS, None, "EUR", -50000), (None, OTHER, None, "EUR", 15000),
                       (None, LEGAL, None, "EUR", 30000), (None, LOSS, None, "EUR", 5000)],
         "loss cover: the carried-forward debit last")
    law_checks(t, cfg, r, "loss cover, carried")
    bal = ref.balances_at(cfg, [r], year(2027)[0])
    t.eq({k: bal.get((k, "EUR")) for k in (OTHER, LEGAL, EMPTY, LOSS)},
         {OTHER: 0, LEGAL: 0, EMPTY: 0, LOSS: 5000}, "loss cover: balances at 2027's start")


def target_mid_allocation(t):
    """Opening as of 2026-01-01: legal reserve 480.00. total_assets
    60000.50. S = 1000.00 (fee income 100000, costs 0), no loss.
      leg1: account legal, share 10%, until {EUR: "500.00"}:
        round(10% x 100000) = 10000; target 50000, b = 48000, room 2000:
        amt = min(100000, 10000, 2000) = 2000. A = 98000.
      leg2: account legal again, share 5%, until {share_of_total_assets:
        1%}: target floor(1% x 6000050) = floor(60000.5) = 60000; b =
        48000 + 2000 (leg1, earlier in this run) = 50000, room 10000;
        round(5% x 100000) = 5000: amt 5000. A = 93000.
      bonus: account liabilities:bonus, remaining, until {CHF: "1.00"}:
        EUR is missing from the map, so no target: amt = A = 93000.
    Retained surplus 0. Lines: surplus +100000, legal -2000 (leg1),
    legal -5000 (leg2), bonus -93000.
    A second run with the same figures in 2027 (legal now 48000 + 7000 =
    55000): leg1 room max(0, 50000 - 55000) = 0, amt 0; leg2 room 60000 -
    55000 = 5000, amt 5000; bonus 95000.
    """
    cfg = config([{"id": "leg1", "type": "account", "share": "10%", "account": LEGAL,
                   "until": {"EUR": "500.00"}},
                  {"id": "leg2", "type": "account", "share": "5%", "account": LEGAL,
                   "until": {"share_of_total_assets": "1%"}},
                  {"id": "bonus", "type": "account", "share": "remaining",
                   "account": "liabilities:bonus", "until": {"CHF": "1.00"}}],
                 opening={"as_of": "2026-01-01", "balances": {LEGAL: {"EUR": "480.00"}}},
                 total_assets={"EUR": "60000.50"})
    r = ref.distribute_law(cfg, [], [], {"EUR": 100000}, {}, [], [], *year(2026))
    t.eq(r["currencies"]["EUR"]["steps"],
         [{"id": "leg1", "amount_minor": 2000}, {"id": "leg2", "amount_minor": 5000},
          {"id": "bonus", "amount_minor": 93000}], "target: leg1 stops at 500.00")
    t.eq(r["currencies"]["EUR"]["retained_surplus_minor"], 0, "target: nothing retained")
    t.eq(lines_of(r), [(None, SURPLUS, None, "EUR", 100000), ("leg1", LEGAL, None, "EUR", -2000),
                       ("leg2", LEGAL, None, "EUR", -5000),
                       ("bonus", "liabilities:bonus", None, "EUR", -93000)], "target: lines")
    t.eq([(s["id"], s["target"], s["b_before"], s["room"]) for s in r["detail"]["EUR"]["steps"]],
         [("leg1", 50000, 48000, 2000), ("leg2", 60000, 50000, 10000),
          ("bonus", None, None, None)], "target: targets, b and room")
    law_checks(t, cfg, r, "target")
    r2 = ref.distribute_law(cfg, [], [], {"EUR": 100000}, {}, [], [r], *year(2027))
    t.eq(r2["currencies"]["EUR"]["steps"],
         [{"id": "leg1", "amount_minor": 0}, {"id": "leg2", "amount_minor": 5000},
          {"id": "bonus", "amount_minor": 95000}], "target: a reserve above a target gets 0")
    law_checks(t, cfg, r2, "target, 2027")
    # §10.7.5: a share_of_total_assets target needs total_assets for every currency
    bad = dict(cfg, currencies={"EUR": 2, "CHF": 2})
    t.check("currencies" not in cfg["surplus"], "the helper puts currencies at the top")
    t.eq(ref.law_config_problems(bad),
         ["surplus.total_assets must name every currency (missing CHF)"],
         "target: total_assets must name every currency")


def interest_blocked_by_loss(t):
    """Opening as of 2026-01-01: a loss of 100.00 carried in (the loss
    account's debit balance). Member 1 (producer since 2020) holds 1000.00
    capital since 2020. S = 500.00 (fee income 50000, costs 0).
    L0 = 10000; c = min(50000, 10000) = 10000; S' = 40000.
      ci, rate 10%, blocked_by_loss: L0 > 0 before the cover: amt 0.
      rest: account remaining: 40000.
    Lines: surplus +50000, loss -10000 (the cover), rest -40000.
    loss_carried_out = L0 - c = 0.
    Without blocked_by_loss: i_1 = 10% x 100000 x 365 / 365 = 10000 (365
    days of capital 100000, daily_balance), amt = min(10000, 40000) =
    10000; rest 30000.
    2027 after the blocked run: L0 = 0, so the step pays 10000 again.
    """
    steps = [{"id": "ci", "type": "capital_interest", "rate": "10%", "blocked_by_loss": True},
             {"id": "rest", "type": "account", "share": "remaining", "account": LEGAL}]
    cfg = config(steps, opening={"as_of": "2026-01-01", "balances": {LOSS: {"EUR": "100.00"}}})
    ms = [(1, "producer", D(2020, 1, 1), None)]
    mv = [(1, D(2020, 1, 1), 100000)]
    r = ref.distribute_law(cfg, ms, [], {"EUR": 50000}, {}, mv, [], *year(2026))
    e = r["currencies"]["EUR"]
    t.eq((e["loss_carried_in_minor"], e["loss_covered_minor"], e["distributable_minor"],
          e["loss_carried_out_minor"]), (10000, 10000, 40000, 0), "blocked: L0, c, S', carried")
    t.eq(e["steps"], [{"id": "ci", "amount_minor": 0}, {"id": "rest", "amount_minor": 40000}],
         "blocked: no interest though the surplus covers the loss")
    t.eq(r["members"], [], "blocked: no member row")
    t.eq(lines_of(r), [(None, SURPLUS, None, "EUR", 50000), (None, LOSS, None, "EUR", -10000),
                       ("rest", LEGAL, None, "EUR", -40000)], "blocked: the cover line")
    law_checks(t, cfg, r, "blocked")
    free = config([dict(steps[0], blocked_by_loss=False), steps[1]],
                  opening=cfg["surplus"]["opening"])
    r = ref.distribute_law(free, ms, [], {"EUR": 50000}, {}, mv, [], *year(2026))
    t.eq(r["currencies"]["EUR"]["steps"],
         [{"id": "ci", "amount_minor": 10000}, {"id": "rest", "amount_minor": 30000}],
         "not blocked: 10% of 1000.00")
    r1 = ref.distribute_law(cfg, ms, [], {"EUR": 50000}, {}, mv, [], *year(2026))
    r2 = ref.distribute_law(cfg, ms, [], {"EUR": 50000}, {}, mv, [r1], *year(2027))
    t.eq(r2["currencies"]["EUR"]["steps"],
         [{"id": "ci", "amount_minor": 10000}, {"id": "rest", "amount_minor": 40000}],
         "blocked: the loss covered in 2026, 2027 pays interest")


def kstg_cap_binds(t):
    """Rule 10%, producer bears the fee. Producer 1 is a member, producer 2
    holds no membership; buyers are guests (never members).
      tx 1: producer 1, 300.00: fee 3000 (member side: producer 1).
      tx 2: producer 2, 100.00: fee 1000 (no member side).
    Settle: fees 4000, gross 40000. Costs 1.00: S = 3900 = S'.
    patronage remaining, producers, cap: member_business:
      cap_basis fees: M = 3000 (producer 1's member fees), T = 4000 (every
        fee borne): cap = floor(3900 x 3000 / 4000) = floor(2925) = 2925.
        P = min(3900, 2925) = 2925, all to member 1 (the only eligible
        producer); retained surplus 3900 - 2925 = 975.
      cap_basis volume: T = 2 x 40000 = 80000 (every transaction has two
        sides), M = 30000 (producer 1's side of tx 1; the guests' sides
        are no member business): cap = floor(3900 x 30000 / 80000) =
        floor(1462.5) = 1462; retained 2438.
      Producer 1 not a member (no member business): M = 0, cap 0, P 0.
    share 50% with the fees cap: round(50% x 3900) = 1950 < 2925: the cap
    does not bind, P = 1950, cap_minor still 2925.
    """
    fees = [{"id": "all", "rate": "10%"}]
    ms = [(1, "producer", D(2020, 1, 1), None)]
    rows = [tx(1, "2026-06-01T10:00:00+02:00", 1, None, 30000),
            tx(2, "2026-06-02T10:00:00+02:00", 2, None, 10000)]

    def run(basis, share="remaining", memberships=ms):
        cfg = config([{"id": "pat", "type": "patronage", "share": share,
                       "classes": {"producer": "1"}, "cap": "member_business",
                       "cap_basis": basis}], fees)
        cur, parties, _, _ = ref.settle_v2(cfg, memberships, rows)
        return cfg, ref.distribute_law(cfg, memberships, parties, ref.fee_income_of(cur),
                                       {"EUR": 100}, [], [], *year(2026), settled=cur)

    cfg, r = run("fees")
    t.eq(r["currencies"]["EUR"]["steps"], [{"id": "pat", "amount_minor": 2925,
                                           "cap_minor": 2925}], "KStG fees: the cap binds")
    t.eq(r["currencies"]["EUR"]["retained_surplus_minor"], 975, "KStG fees: the rest retained")
    t.eq(r["members"], [member(1, pat=2925, cash=2925)], "KStG fees: member 1")
    t.eq(lines_of(r), [(None, SURPLUS, None, "EUR", 3900), ("pat", CASH, 1, "EUR", -2925),
                       (None, FREE, None, "EUR", -975)], "KStG fees: lines")
    law_checks(t, cfg, r, "KStG fees")
    cfg, r = run("volume")
    t.eq(r["currencies"]["EUR"]["steps"], [{"id": "pat", "amount_minor": 1462,
                                           "cap_minor": 1462}], "KStG volume: floor(1462.5)")
    t.eq(r["currencies"]["EUR"]["retained_surplus_minor"], 2438, "KStG volume: retained")
    cfg, r = run("fees", memberships=[(1, "producer", D(2027, 1, 1), None)])
    t.eq(r["currencies"]["EUR"]["steps"], [{"id": "pat", "amount_minor": 0, "cap_minor": 0}],
         "KStG: no member business, cap 0")
    cfg, r = run("fees", share="50%")
    t.eq(r["currencies"]["EUR"]["steps"], [{"id": "pat", "amount_minor": 1950,
                                           "cap_minor": 2925}], "KStG: a cap that does not bind")
    t.eq((ref.kstg_cap(3900, 3000, 0), ref.kstg_cap(3900, -5, 4000), ref.kstg_cap(0, 1, 2)),
         (0, 0, 0), "KStG: T <= 0 or M <= 0 gives 0")


def fee_fund_odd_cent(t):
    """Rule 'fund': 5%, funds [community 50%], producer bears the fee.
      tx 1, producer 1 -> guest, 1.00: f = 5, f_p = 5, f_c = 0.
        LR(5; community 1/2 (key 0), income 1/2 (key 1)): quotas 2.5 and
        2.5, floors 2 + 2, r = 1, a tie: the fund (key 0) gets the unit:
        community 3, income 2.
        Lines: clearing (guest) +100; payable 1 -(100 - 5) = -95; income 1
        -2; income (guest) 0, not written; community 1 -3.
      tx 2, its refund, -1.00: f = -5, LR(-5) = -(LR(5)): community -3,
        income -2, the exact mirror: clearing -100, payable +95, income +2,
        community +3.
    Rule 'two': 7%, borne 1/2 : 1/2, funds [community 1/3, solidarity
    1/6] (income 1/2); producer 2 -> consumer 3, 1.00:
      f = 7; LR(7; 1/2, 1/2) = 3.5 / 3.5, tie to the producer: f_p 4, f_c 3.
      producer 4: quotas 4/3, 2/3, 2; floors 1, 0, 2 = 3, r = 1, the
        largest fraction is solidarity's 2/3: community 1, solidarity 1,
        income 2.
      consumer 3: quotas 1, 1/2, 3/2; floors 1, 0, 1 = 2, r = 1; fractions
        solidarity 1/2 and income 1/2 tie: solidarity (key 1) before income
        (key 2): community 1, solidarity 1, income 1.
      Lines: clearing 3 +(100 + 3) = 103; payable 2 -(100 - 4) = -96;
        income 2 -2; income 3 -1; then the producer side's funds:
        community 2 -1, solidarity 2 -1; then the consumer's: community 3
        -1, solidarity 3 -1. Sum 103 - 96 - 2 - 1 - 4 = 0.
    Currency EUR: 3 transactions, gross 100 - 100 + 100 = 100, fees
    5 - 5 + 7 = 7 (producers 4, consumers 3), fee_income 2 - 2 + 2 + 1 = 3,
    funds community 3 - 3 + 1 + 1 = 2, solidarity 1 + 1 = 2; 3 + 2 + 2 = 7.
    Parties keep the whole fee: producer 1 (2, 0, 0), producer 2 (1, 100,
    4), consumer 3 (1, 100, 3).
    Distribute: fee_income for §6 = 3 (income:fees only); the KStG cap's T
    = 7 (fund parts included).
    """
    fees = [{"id": "fund", "when": {"category": ["fund"]}, "rate": "5%",
             "funds": [{"account": COMMUNITY, "share": "50%"}]},
            {"id": "two", "rate": "7%", "borne_by": {"producer": "1/2", "consumer": "1/2"},
             "funds": [{"account": COMMUNITY, "share": "1/3"},
                       {"account": SOLIDARITY, "share": "1/6"}]}]
    cfg = config([{"id": "pat", "type": "patronage", "share": "remaining",
                   "classes": {"producer": "1"}}], fees)
    ms = [(1, "producer", D(2020, 1, 1), None), (2, "producer", D(2020, 1, 1), None),
          (3, "consumer", D(2020, 1, 1), None)]
    rows = [tx(1, "2026-06-01T10:00:00+02:00", 1, None, 100, category="fund"),
            tx(2, "2026-06-02T10:00:00+02:00", 1, None, -100, category="fund"),
            tx(3, "2026-06-03T10:00:00+02:00", 2, 3, 100)]
    cur, parties, lines, rejected = ref.settle_v2(cfg, ms, rows)
    t.eq(rejected, [], "funds: nothing rejected")
    t.eq(cur, {"EUR": {"transactions": 3, "gross_minor": 100, "fees_minor": 7,
                       "fees_producer_minor": 4, "fees_consumer_minor": 3,
                       "fee_income_minor": 3, "funds": {COMMUNITY: 2, SOLIDARITY: 2}}},
         "funds: currency totals")
    t.eq(parties, [party(1, "producer", True, 2, 0, 0), party(2, "producer", True, 1, 100, 4),
                   party(3, "consumer", True, 1, 100, 3)], "funds: parties bear whole fees")
    d1, d2, d3 = D(2026, 6, 1), D(2026, 6, 2), D(2026, 6, 3)
    P = "liabilities:payable:producers"
    t.eq(lines, [(1, "assets:clearing", None, "EUR", 100, d1), (1, P, 1, "EUR", -95, d1),
                 (1, "income:fees", 1, "EUR", -2, d1), (1, COMMUNITY, 1, "EUR", -3, d1),
                 (2, "assets:clearing", None, "EUR", -100, d2), (2, P, 1, "EUR", 95, d2),
                 (2, "income:fees", 1, "EUR", 2, d2), (2, COMMUNITY, 1, "EUR", 3, d2),
                 (3, "assets:clearing", 3, "EUR", 103, d3), (3, P, 2, "EUR", -96, d3),
                 (3, "income:fees", 2, "EUR", -2, d3), (3, "income:fees", 3, "EUR", -1, d3),
                 (3, COMMUNITY, 2, "EUR", -1, d3), (3, SOLIDARITY, 2, "EUR", -1, d3),
                 (3, COMMUNITY, 3, "EUR", -1, d3), (3, SOLIDARITY, 3, "EUR", -1, d3)],
         "funds: lines, fund lines after the four, producer side first")
    t.eq(ref.settle_fund_problems(cfg, cur, lines), [], "funds: parts + income = fee")
    t.eq(ref.fee_fund_split(5, fees[0]["funds"]), ([(COMMUNITY, 3)], 2), "funds: odd cent")
    t.eq(ref.fee_fund_split(-5, fees[0]["funds"]), ([(COMMUNITY, -3)], -2),
         "funds: a refund mirrors the odd cent")
    t.eq(ref.fee_income_of(cur), {"EUR": 3}, "funds: §6's fee income is income:fees only")
    t.eq(ref.window_business(cur, "EUR", "fees"), 7, "funds: the KStG T includes fund parts")
    # §10.7.9 config errors
    bad = config([], [{"id": "x", "rate": "1%", "funds": [{"account": COMMUNITY, "share": "1/2"},
                                                            {"account": "income:fees",
                                                             "share": "1/2"}]}])
    t.eq(ref.law_config_problems(bad), ["rule 'x': fund shares sum to 1 or more",
                                        "rule 'x': fund account is accounts.fee_income"],
         "funds: shares summing to 1, the income account")


def withholding_fraction(t):
    """capital interest 5%, withholding 26.375%, daily_balance, 2026 (365
    days). Member 1: 1000.00 since 2020; member 2: 333.33 since 2020.
    i_1 = 5% x 100000 = 5000; i_2 = 5% x 33333 = 1666.65; sum 6666.65:
    amt = floor(6666.65) = 6666. LR(6666; 5000, 1666.65): quotas
    33330000/6666.65 = 4999.5125 and 6666 - 4999.5125 = 1666.4875; floors
    4999 + 1666 = 6665, r = 1, the larger fraction is member 1's: 5000 /
    1666.
    w_1 = floor(5000 x 0.26375) = floor(1318.75) = 1318, net 3682.
    w_2 = floor(1666 x 0.26375) = floor(439.4075) = 439, net 1227.
    The rest (remaining, legal): 10000 - 6666 = 3334 (S = 100.00).
    Lines: surplus +10000; legal -3334; member 1: capital interest -3682,
    withholding -1318; member 2: -1227, -439.
    """
    cfg = config([{"id": "ci", "type": "capital_interest", "rate": "5%",
                   "withholding": "26.375%"},
                  {"id": "rest", "type": "account", "share": "remaining", "account": LEGAL}])
    ms = [(1, "producer", D(2020, 1, 1), None), (2, "consumer", D(2020, 1, 1), None)]
    mv = [(1, D(2020, 1, 1), 100000), (2, D(2020, 1, 1), 33333)]
    r = ref.distribute_law(cfg, ms, [], {"EUR": 10000}, {}, mv, [], *year(2026))
    t.eq(r["members"], [member(1, ci=5000, wh=1318), member(2, ci=1666, wh=439)],
         "withholding: floor of the tax, gross = withheld + net")
    t.eq(lines_of(r), [(None, SURPLUS, None, "EUR", 10000), ("rest", LEGAL, None, "EUR", -3334),
                       ("ci", CI, 1, "EUR", -3682), ("ci", WH, 1, "EUR", -1318),
                       ("ci", CI, 2, "EUR", -1227), ("ci", WH, 2, "EUR", -439)],
         "withholding: both lines carry the member")
    law_checks(t, cfg, r, "withholding")


def opening_balance_basis(t):
    """basis opening_balance, rate 4% (§10.7.6). Member 1 (producer since
    2020): 1234.56 booked 2025-06-01. Member 3 (consumer since 2020):
    1000.00 on 2024-01-01 and +500.00 on 2026-05-01 (after the window's
    start: not in C). Member 2 joins on 2026-03-01: not a member on the
    first day, no interest, whatever its capital. S = 1000.00.
    One-year window 2026: d = 365, Y = 365 (2026-01-01..2026-12-31):
      i_1 = 4% x 123456 = 4938.24 (exactly rate x C), i_3 = 4% x 100000 =
      4000; sum 8938.24, amt 8938. LR(8938; 4938.24, 4000): quotas
      8938 x 4938.24 / 8938.24 = 4938.1074 and 3999.8926; floors 8937, the
      unit to member 3 (.8926): 4938 / 4000.
    Q1 2026 ([2026-01-01, 2026-04-01)): d = 31 + 28 + 31 = 90, Y = 365:
      i_1 = 4938.24 x 90 / 365 = 1217.6482, i_3 = 4000 x 90 / 365 =
      986.3014, sum 2203.9496: amt 2203. LR on weights 123456 : 100000
      (same rate, d, Y): quotas 2203 x 123456 / 223456 = 1217.1236 and
      2203 x 100000 / 223456 = 985.8764; floors 2202, the unit to member 3:
      1217 / 986.
    Y: 2028 (a leap year) has 366; from 2027-03-01 the twelve months hold
    2028-02-29: 366; from 2028-02-29 they end before 2029-02-28 (the day
    clamped, §10.7.11's rule): 365.
    A member with C below 0 on the first day is invalid input.
    """
    cfg = config([{"id": "ci", "type": "capital_interest", "rate": "4%",
                   "basis": "opening_balance"},
                  {"id": "rest", "type": "account", "share": "remaining", "account": LEGAL}])
    ms = [(1, "producer", D(2020, 1, 1), None), (2, "producer", D(2026, 3, 1), None),
          (3, "consumer", D(2020, 1, 1), None)]
    mv = [(1, D(2025, 6, 1), 123456), (2, D(2020, 1, 1), 900000), (3, D(2024, 1, 1), 100000),
          (3, D(2026, 5, 1), 50000)]
    w = ref.capital_interest_weights(cfg["surplus"]["steps"][0], ms, mv, [],
                                     ref.local_days(ZONE, *year(2026)), zone=ZONE)
    t.eq(w, {1: Fraction(4, 100) * 123456, 3: Fraction(4000)},
         "opening: a one-year window pays exactly rate x C")
    r = ref.distribute_law(cfg, ms, [], {"EUR": 100000}, {}, mv, [], *year(2026))
    t.eq(r["members"], [member(1, ci=4938), member(3, ci=4000)], "opening: one year")
    t.eq(r["currencies"]["EUR"]["steps"], [{"id": "ci", "amount_minor": 8938},
                                           {"id": "rest", "amount_minor": 91062}],
         "opening: one year, steps")
    q1 = ref.days_window(ZONE, D(2026, 1, 1), D(2026, 4, 1))
    r = ref.distribute_law(cfg, ms, [], {"EUR": 100000}, {}, mv, [], *q1)
    t.eq(r["members"], [member(1, ci=1217), member(3, ci=986)], "opening: a quarter, d/Y")
    t.eq((ref.year_days(ZONE, D(2028, 1, 1)), ref.year_days(ZONE, D(2027, 3, 1)),
          ref.year_days(ZONE, D(2028, 2, 29))), (366, 366, 365), "opening: Y")
    t.raises(lambda: ref.distribute_law(cfg, ms, [], {"EUR": 100000}, {},
                                        mv + [(3, D(2025, 12, 31), -150000)], [], *year(2026)),
             "capital", [3], "opening: C below 0 is invalid")


def three_years(t):
    """Opening as of 2026-01-01: legal reserve 200.00; no loss.
    loss_cover [legal, carry_forward]. Steps:
      legal: account, share 10%, until {EUR: "250.00"};
      ci: capital_interest 5%, blocked_by_loss, withholding 25%;
      pat: patronage remaining, producers, cash 1/2.
    Producers 1 and 2, members since 2020; member 1 holds 1000.00 capital
    since 2020. Patronage bases (member fees): 1 -> 60000, 2 -> 40000.

    2026: fee income 100000, costs 40000: S = 60000; L0 = 0, c = 0,
      S' = 60000. legal: round(10% x 60000) = 6000, room 25000 - 20000 =
      5000: 5000. A = 55000. ci: L0 = 0, not blocked; i_1 = 5% x 100000
      x 365/365 = 5000, amt 5000, w = floor(1250) = 1250, net 3750.
      A = 50000. pat: LR(50000; 60000, 40000) = 30000 / 20000; cash
      15000 / 10000, retained 15000 / 10000. Retained surplus 0.
      Lines: surplus +60000; legal -5000; member 1 interest -3750,
      withholding -1250, cash -15000, retained -15000; member 2 cash
      -10000, retained -10000. Sum 0.
    2027: fee income 20000, costs 100000: S = -80000, a loss year. L0 = 0.
      L = 80000; legal (balance 20000 + 5000 = 25000) gives 25000; 55000
      carried. Lines: surplus -80000, legal +25000, loss +55000.
      loss_carried_out 55000; steps []; no members.
    2028: fee income 100000, costs 20000: S = 80000; L0 = 55000;
      c = min(80000, 55000) = 55000; S' = 25000. legal: balance 25000 -
      25000 = 0, room 25000; round(10% x 25000) = 2500. A = 22500. ci:
      L0 = 55000 > 0 before the cover: blocked, 0. pat: LR(22500; 60000,
      40000) = 13500 / 9000; cash 6750 / 4500. Retained 0. Carried out 0.
      Lines: surplus +80000; loss -55000; legal -2500; member 1 cash
      -6750, retained -6750; member 2 cash -4500, retained -4500.
    Balances at 2029's start: legal 20000 - 5000 + 25000 - 2500 ... as
      credit balances: 20000 + 5000 - 25000 + 2500 = 2500; loss 55000 -
      55000 = 0; capital interest 3750; withholding 1250.
    Member 1's capital at the end of 2027-12-31: 100000 + 15000 (2026's
    retained patronage, capital from the end of 2026-12-31) = 115000;
    member 2's: 10000 (its retained patronage only).
    Had 2028 not been blocked: 366 days each, i_1 = 5% x 115000 x 366 /
    365 = 5765.75, i_2 = 5% x 10000 x 366 / 365 = 501.37; sum 6267.12:
    amt 6267. LR(6267; 115000, 10000): quotas 5765.64 and 501.36, floors
    6266, the unit to member 1: 5766 / 501. w_1 = floor(1441.5) = 1441,
    net 4325; w_2 = floor(125.25) = 125, net 376. A = 22500 - 6267 =
    16233; LR(16233; 60000, 40000) = 9739.8 / 6493.2 -> 9740 / 6493;
    cash ceil(4870) = 4870 and ceil(3246.5) = 3247.
    """
    steps = [{"id": "legal", "type": "account", "share": "10%", "account": LEGAL,
              "until": {"EUR": "250.00"}},
             {"id": "ci", "type": "capital_interest", "rate": "5%", "blocked_by_loss": True,
              "withholding": "25%"},
             {"id": "pat", "type": "patronage", "share": "remaining",
              "classes": {"producer": "1"}, "cash_fraction": "1/2"}]
    cfg = config(steps, opening={"as_of": "2026-01-01", "balances": {LEGAL: {"EUR": "200.00"}}},
                 loss_cover=[LEGAL, "carry_forward"])
    ms = [(1, "producer", D(2020, 1, 1), None), (2, "producer", D(2020, 1, 1), None)]
    mv = [(1, D(2020, 1, 1), 100000)]
    bases = [party(1, "producer", True, 1, 600000, 60000), party(2, "producer", True, 1, 400000,
                                                                  40000)]
    windows = [{"window": year(2026), "parties": bases, "fee_income": {"EUR": 100000},
                "costs": {"EUR": 40000}},
               {"window": year(2027), "parties": [], "fee_income": {"EUR": 20000},
                "costs": {"EUR": 100000}},
               {"window": year(2028), "parties": bases, "fee_income": {"EUR": 100000},
                "costs": {"EUR": 20000}}]
    r26, r27, r28 = ref.distribute_years(cfg, ms, mv, windows)
    t.eq(r26["currencies"]["EUR"],
         {"fee_income_minor": 100000, "costs_minor": 40000, "surplus_minor": 60000,
          "loss_carried_in_minor": 0, "loss_covered_minor": 0, "distributable_minor": 60000,
          "loss_cover": [], "loss_carried_out_minor": 0,
          "steps": [{"id": "legal", "amount_minor": 5000}, {"id": "ci", "amount_minor": 5000},
                    {"id": "pat", "amount_minor": 50000}], "retained_surplus_minor": 0},
         "three years: 2026")
    t.eq(r26["members"], [member(1, ci=5000, wh=1250, pat=30000, cash=15000, ret=15000),
                          member(2, pat=20000, cash=10000, ret=10000)], "three years: 2026 members")
    t.eq(lines_of(r26), [(None, SURPLUS, None, "EUR", 60000), ("legal", LEGAL, None, "EUR", -5000),
                         ("ci", CI, 1, "EUR", -3750), ("ci", WH, 1, "EUR", -1250),
                         ("pat", CASH, 1, "EUR", -15000), ("pat", RET, 1, "EUR", -15000),
                         ("pat", CASH, 2, "EUR", -10000), ("pat", RET, 2, "EUR", -10000)],
         "three years: 2026 lines")
    t.eq(r27["currencies"]["EUR"],
         {"fee_income_minor": 20000, "costs_minor": 100000, "surplus_minor": -80000,
          "loss_carried_in_minor": 0, "loss_covered_minor": 0, "distributable_minor": -80000,
          "loss_cover": [{"account": LEGAL, "amount_minor": 25000}],
          "loss_carried_out_minor": 55000, "steps": [], "retained_surplus_minor": 0},
         "three years: 2027, a loss year")
    t.eq((r27["members"], lines_of(r27)),
         ([], [(None, SURPLUS, None, "EUR", -80000), (None, LEGAL, None, "EUR", 25000),
               (None, LOSS, None, "EUR", 55000)]), "three years: 2027 lines")
    t.eq(r28["currencies"]["EUR"],
         {"fee_income_minor": 100000, "costs_minor": 20000, "surplus_minor": 80000,
          "loss_carried_in_minor": 55000, "loss_covered_minor": 55000,
          "distributable_minor": 25000, "loss_cover": [], "loss_carried_out_minor": 0,
          "steps": [{"id": "legal", "amount_minor": 2500}, {"id": "ci", "amount_minor": 0},
                    {"id": "pat", "amount_minor": 22500}], "retained_surplus_minor": 0},
         "three years: 2028 covers the loss first")
    t.eq(r28["members"], [member(1, pat=13500, cash=6750, ret=6750),
                          member(2, pat=9000, cash=4500, ret=4500)], "three years: 2028 members")
    t.eq(lines_of(r28), [(None, SURPLUS, None, "EUR", 80000), (None, LOSS, None, "EUR", -55000),
                         ("legal", LEGAL, None, "EUR", -2500), ("pat", CASH, 1, "EUR", -6750),
                         ("pat", RET, 1, "EUR", -6750), ("pat", CASH, 2, "EUR", -4500),
                         ("pat", RET, 2, "EUR", -4500)], "three years: 2028 lines")
    for r in (r26, r27, r28):
        law_checks(t, cfg, r, "three years %s" % r["last_day"].year)
        posted_on_last_day(t, r, "three years %s" % r["last_day"].year)
    t.eq([ref.balances_at(cfg, h, year(y)[0]).get((LEGAL, "EUR"))
          for h, y in (([], 2026), ([r26], 2027), ([r26, r27], 2028), ([r26, r27, r28], 2029))],
         [20000, 25000, 0, 2500], "three years: the legal reserve at each start")
    t.eq([ref.balances_at(cfg, h, year(y)[0]).get((LOSS, "EUR"), 0)
          for h, y in (([], 2026), ([r26], 2027), ([r26, r27], 2028), ([r26, r27, r28], 2029))],
         [0, 0, 55000, 0], "three years: the loss carried at each start")
    b29 = ref.balances_at(cfg, [r26, r27, r28], year(2029)[0])
    t.eq((b29[(CI, "EUR")], b29[(WH, "EUR")]), (3750, 1250), "three years: interest balances")
    hist_retained = ref.retained_from_history(cfg, [r26, r27])
    t.eq(ref.capital_at_end_of(mv, hist_retained, 1, D(2027, 12, 31)), 115000,
         "three years: 2026's retained patronage is capital")
    free = config([steps[0], dict(steps[1], blocked_by_loss=False), steps[2]],
                  opening=cfg["surplus"]["opening"], loss_cover=cfg["surplus"]["loss_cover"])
    f28 = ref.distribute_years(free, ms, mv, windows)[2]
    t.eq(f28["members"], [member(1, ci=5766, wh=1441, pat=9740, cash=4870, ret=4870),
                          member(2, ci=501, wh=125, pat=6493, cash=3247, ret=3246)],
         "three years: 2028 unblocked, interest on retained patronage too, 366 days")
    # window order and as_of (§10.7.2, §10.7.3)
    try:
        ref.distribute_law(cfg, ms, bases, {"EUR": 1}, {}, mv, [r26, r27, r28], *year(2027))
        t.check(False, "a window before a committed one is refused")
    except ref.WindowConflict:
        t.check(True, "a window before a committed one is refused")
    try:
        ref.distribute_law(cfg, ms, bases, {"EUR": 1}, {}, mv, [], *year(2025))
        t.check(False, "a window before as_of is a config error")
    except ref.ConfigError:
        t.check(True, "a window before as_of is a config error")
    # a run before as_of feeds nothing; S = 0 carries L0 unchanged
    later = config(steps, opening={"as_of": "2027-01-01",
                                   "balances": {LEGAL: {"EUR": "10.00"}, LOSS: {"EUR": "7.00"}}},
                   loss_cover=[LEGAL, "carry_forward"])
    t.eq(ref.balances_at(later, [r26], year(2027)[0]), {(LEGAL, "EUR"): 1000, (LOSS, "EUR"): 700},
         "a run before as_of does not feed the balances")
    z = ref.distribute_law(later, ms, bases, {"EUR": 500}, {"EUR": 500}, mv, [r26], *year(2027))
    t.eq((z["currencies"]["EUR"]["loss_carried_in_minor"],
          z["currencies"]["EUR"]["loss_carried_out_minor"], z["currencies"]["EUR"]["steps"],
          z["lines"], z["members"]),
         (700, 700, [{"id": "legal", "amount_minor": 0}, {"id": "ci", "amount_minor": 0},
                     {"id": "pat", "amount_minor": 0}], [], []),
         "S = 0: no line, steps 0, the loss carried unchanged")


def qualified_notice(t):
    """notice: qualified, payment_due {months: 8, days: 15} (§10.7.11):
    due = last day + 8 months (clamped) + 15 days.
      2026 (last day 2026-12-31): 2027-08-31 + 15 = 2027-09-15.
      Window ending 2026-06-30: 2027-02-28 + 15 = 2027-03-15.
      Window ending 2027-06-30: 2028-02-29 (a leap year) + 15 = 2028-03-15.
    Config errors: cash_fraction 19.99%; payment_due missing; {months: 8,
    days: 16}; {months: 7, days: 44} (last day 2000-07-01: 2001-02-01 +
    44 = 2001-03-17 > 2001-03-01 + 15 = 2001-03-16). {months: 7, days:
    43}, {months: 0, days: 200} and {months: 8, days: 15} are allowed.
    A run: S = 100.00, patronage remaining, cash 20%: 10000 to member 1,
    cash 2000, retained 8000; the step shows payment_due.
    """
    def step(pd=None, cash="20%"):
        st = {"id": "pat", "type": "patronage", "share": "remaining",
              "classes": {"producer": "1"}, "cash_fraction": cash, "notice": "qualified"}
        if pd is not None:
            st["payment_due"] = pd
        return st
    pd = {"months": 8, "days": 15}
    t.eq([ref.payment_due_date(d, pd) for d in (D(2026, 12, 31), D(2026, 6, 30),
                                                 D(2027, 6, 30))],
         [D(2027, 9, 15), D(2027, 3, 15), D(2028, 3, 15)], "notice: due dates")
    t.eq(ref.payment_due_problem(step(pd)), None, "notice: 8 months 15 days allowed")
    t.check(ref.payment_due_problem(step(pd, "19.99%")) is not None, "notice: cash below 20%")
    t.check(ref.payment_due_problem(step()) is not None, "notice: payment_due required")
    t.check(ref.payment_due_problem(step({"months": 8, "days": 16})) is not None,
            "notice: 8 months 16 days refused")
    t.check("2000-07-01" in (ref.payment_due_problem(step({"months": 7, "days": 44})) or ""),
            "notice: 7 months 44 days refused, naming 2000-07-01")
    t.eq([ref.payment_due_problem(step({"months": m, "days": d}))
          for m, d in ((7, 43), (0, 200))], [None, None], "notice: shorter periods allowed")
    cfg = config([step(pd)])
    ms = [(1, "producer", D(2020, 1, 1), None)]
    r = ref.distribute_law(cfg, ms, [party(1, "producer", True, 1, 1000, 100)],
                           {"EUR": 10000}, {}, [], [], *year(2026))
    t.eq(r["currencies"]["EUR"]["steps"],
         [{"id": "pat", "amount_minor": 10000, "payment_due": "2027-09-15"}],
         "notice: the step carries the due date")
    t.eq(r["members"], [member(1, pat=10000, cash=2000, ret=8000)], "notice: cash 20%")
    try:
        ref.distribute_law(config([step(pd, "10%")]), ms, [], {"EUR": 1}, {}, [], [],
                           *year(2026))
        t.check(False, "notice: a run refuses cash 10%")
    except ref.ConfigError:
        t.check(True, "notice: a run refuses cash 10%")


def law_config(t):
    """§10.3 / §10.7.2 config errors: a loss_cover account not named in the
    opening balances (also without any `opening`), carry_forward not last,
    a negative opening amount."""
    t.eq(ref.law_config_problems(config([], loss_cover=[LEGAL])),
         ["surplus.loss_cover: '%s' is not named in surplus.opening.balances" % LEGAL],
         "loss_cover without opening")
    t.eq(ref.law_config_problems(config([], opening={"as_of": "2026-01-01", "balances": {
        LEGAL: {"EUR": "-1.00"}}}, loss_cover=["carry_forward", LEGAL])),
         ["surplus.opening: balance of '%s' in EUR is negative" % LEGAL,
          "surplus.loss_cover: carry_forward must be last"], "negative opening, order")
    t.eq(ref.law_config_problems(config([], opening={"as_of": "2026-01-01", "balances": {
        LEGAL: {}}}, loss_cover=[LEGAL])), [], "named with no currency: opening 0")


def no_law_keys_as_today(t):
    """A version 2 config without any §10.3 key, one window, no history:
    distribute_law gives exactly distribute_v2's (pre-§10.3) figures. Per
    currency with S >= 0: every key of distribute_v2, and L0 = c = 0, S' =
    S, no loss_cover, nothing carried. With S < 0 (§10.7.1 applies to
    every version 2 config): steps [] where distribute_v2 shows every step
    0, retained 0 in both, and the loss is carried: loss_carried_out = -S.
    Members: the same rows, withheld 0, net = gross. Lines balance.
    Then a second window: when the first had S >= 0 in every currency
    (nothing carried), the second with the first as history equals
    distribute_v2 with the first's retained patronage (retained_of).
    Random: dated memberships (dual roles), capital moving inside the
    window, retained patronage of an earlier run, two currencies."""
    rng = random.Random(18)
    nov, dec = ref.period_window(ZONE, "2026-11"), ref.period_window(ZONE, "2026-12")
    legacy_keys = ("fee_income_minor", "costs_minor", "surplus_minor", "steps",
                   "retained_surplus_minor")
    compared = {"S>0": 0, "S=0": 0, "S<0": 0, "second window": 0}
    for scenario in range(150):
        what = "scenario %d: " % scenario
        steps = []
        if rng.random() < 0.6:
            steps.append({"id": "res", "type": "account", "share": rng.choice(["10%", "1/3"]),
                          "account": LEGAL})
        ci = {"id": "ci", "type": "capital_interest", "rate": rng.choice(["3%", "5%", "100%"])}
        if rng.random() < 0.5:
            ci["cap_share"] = rng.choice(["1%", "20%"])
        if rng.random() < 0.3:
            ci["basis"] = "daily_balance"
        steps.append(ci)
        steps.append({"id": "pat", "type": "patronage", "share": rng.choice(["remaining", "50%"]),
                      "basis": rng.choice(["fees", "volume"]),
                      "classes": rng.choice([{"producer": "60%", "consumer": "40%"},
                                             {"consumer": "1/3", "producer": "2/3"}]),
                      "min_patronage": rng.choice(["0", "0.50"]),
                      "cash_fraction": rng.choice(["20%", "1", "1/3"])})
        cfg = config(steps, currencies={"EUR": 2, "CHF": 2},
                     rounding=rng.choice(["half_even", "half_up", "down", "up"]))
        t.check(not ref.uses_law(cfg), what + "no law key")
        ms, mv, parties = [], [], []
        for i in range(1, 9):
            for cls in CLASSES:
                if rng.random() < 0.6:
                    j = D(2026, 11, 1) + timedelta(days=rng.randrange(-40, 25))
                    left = j + timedelta(days=rng.randrange(1, 60)) if rng.random() < 0.4 \
                        else None
                    ms.append((i, cls, j, left))
            if rng.random() < 0.6:
                mv.append((i, D(2026, 11, 1) - timedelta(days=rng.randrange(1, 400)),
                           rng.choice([10000, 123457])))
                if rng.random() < 0.5:
                    mv.append((i, D(2026, 11, rng.randrange(1, 31)), rng.choice([500, 7777])))
            for cur in ("EUR", "CHF"):
                for cls in CLASSES:
                    parties.append(party(i, cls, rng.random() < 0.8, 1,
                                         rng.randrange(-500, 90000), rng.randrange(-500, 5000),
                                         cur))
        retained = [(i, D(2026, 10, 31), rng.randrange(1, 5000)) for i in range(1, 9)
                    if rng.random() < 0.3]
        income = {"EUR": rng.choice([0, rng.randrange(-3000, 60000)]),
                  "CHF": rng.randrange(-2000, 9000)}
        costs = {"EUR": rng.choice([0, 100]), "CHF": 0}
        want = ref.distribute_v2(cfg, ms, parties, income, costs, mv, retained, *nov)
        got = ref.distribute_law(cfg, ms, parties, income, costs, mv, [], *nov,
                                 retained=retained)
        law_checks(t, cfg, got, what + "first window")
        for cur, w in want[0].items():
            g = got["currencies"][cur]
            S = w["surplus_minor"]
            compared["S>0" if S > 0 else "S=0" if S == 0 else "S<0"] += 1
            if S >= 0:
                t.eq({k: g[k] for k in legacy_keys}, w, what + cur + ": as distribute_v2")
                t.eq((g["loss_carried_in_minor"], g["loss_covered_minor"],
                      g["distributable_minor"], g["loss_cover"], g["loss_carried_out_minor"]),
                     (0, 0, S, [], 0), what + cur + ": no loss")
            else:
                t.eq(w["steps"], [{"id": st["id"], "amount_minor": 0} for st in steps],
                     what + cur + ": distribute_v2 shows every step 0")
                t.eq({k: g[k] for k in legacy_keys if k != "steps"},
                     {k: w[k] for k in legacy_keys if k != "steps"}, what + cur + ": loss year")
                t.eq((g["steps"], g["loss_carried_out_minor"], g["distributable_minor"]),
                     ([], -S, S), what + cur + ": a loss year carries -S")
        t.eq([{k: v for k, v in m.items()
               if k not in ("withheld_minor", "capital_interest_net_minor")}
              for m in got["members"]], want[1], what + "members as distribute_v2")
        t.check(all(m["withheld_minor"] == 0 for m in got["members"]), what + "nothing withheld")
        if all(w["surplus_minor"] >= 0 for w in want[0].values()):
            compared["second window"] += 1
            income2 = {"EUR": rng.randrange(0, 40000), "CHF": rng.randrange(0, 4000)}
            retained2 = retained + ref.retained_of(want[1], "EUR", D(2026, 11, 30))
            want2 = ref.distribute_v2(cfg, ms, parties, income2, {}, mv, retained2, *dec)
            got2 = ref.distribute_law(cfg, ms, parties, income2, {}, mv, [got], *dec,
                                      retained=retained)
            law_checks(t, cfg, got2, what + "second window")
            t.eq({c: {k: v[k] for k in legacy_keys} for c, v in got2["currencies"].items()},
                 want2[0], what + "second window as distribute_v2")
            t.eq([{k: v for k, v in m.items()
                   if k not in ("withheld_minor", "capital_interest_net_minor")}
                  for m in got2["members"]], want2[1], what + "second window members")
    t.check(all(n >= 10 for n in compared.values()),
            "every kind of case compared often enough: %r" % compared)


def random_law_sequences(t):
    """Random four-year sequences with every §10.3 key drawn at random:
    each result keeps the invariants (law_invariant_problems), and the
    years chain: the loss carried out of one year is the loss carried into
    the next, a reserve that starts at or below its target never ends above
    it, every reserve's balance at a year's start is its opening amount
    minus everything posted to it before, and a settle run's fund parts
    plus income are its fees."""
    rng = random.Random(1803)
    for scenario in range(100):
        what = "sequence %d: " % scenario
        fund = [{"account": COMMUNITY, "share": rng.choice(["1%", "1/3", "49%"])}]
        fees = [{"id": "f", "rate": rng.choice(["3%", "1/7"]),
                 "borne_by": {"producer": "1/2", "consumer": "1/2"}, "funds": fund}]
        steps = [{"id": "legal", "type": "account", "share": rng.choice(["5%", "1/3", "remaining"]),
                  "account": LEGAL,
                  "until": rng.choice([{"EUR": rng.choice(["0", "50.00", "400.00"])},
                                       {"share_of_total_assets": rng.choice(["1%", "10%"])}])},
                 {"id": "ci", "type": "capital_interest", "rate": rng.choice(["4%", "100%"]),
                  "basis": rng.choice(["daily_balance", "opening_balance"]),
                  "blocked_by_loss": rng.random() < 0.5,
                  "withholding": rng.choice(["0%", "26.375%", "1/3"])},
                 {"id": "pat", "type": "patronage", "share": "remaining",
                  "classes": {"producer": "1/2", "consumer": "1/2"}, "cash_fraction": "1/3",
                  "cap": "member_business", "cap_basis": rng.choice(["fees", "volume"]),
                  "notice": "qualified", "payment_due": {"months": 8, "days": 15}}]
        if steps[0]["share"] == "remaining":
            steps[0]["share"] = "50%"
        opening = {"as_of": "2026-01-01",
                   "balances": {LEGAL: {"EUR": rng.choice(["0", "100.00", "500.00"])},
                                OTHER: {"EUR": rng.choice(["0", "30.00"])},
                                LOSS: {"EUR": rng.choice(["0", "0", "80.00"])}}}
        cfg = config(steps, fees, opening=opening,
                     loss_cover=rng.choice([[OTHER, LEGAL], [LEGAL, "carry_forward"], []]),
                     total_assets={"EUR": rng.choice(["1000.00", "5000.00"])})
        t.eq(ref.law_config_problems(cfg), [], what + "a valid config")
        ms = [(i, rng.choice(CLASSES), D(2025, 1, 1) + timedelta(days=rng.randrange(0, 900)),
               None) for i in range(1, 7)]
        mv = [(i, D(2024, 1, 1) + timedelta(days=rng.randrange(0, 1500)),
               rng.choice([1000, 50000])) for i in range(1, 7)]
        windows, settles = [], []
        for y in (2026, 2027, 2028, 2029):
            rows = [tx(100 * y + k, "%d-%02d-10T10:00:00+01:00" % (y, rng.randrange(1, 13)),
                       rng.randrange(1, 8), rng.choice([None, rng.randrange(1, 8)]),
                       rng.choice([5000, 12345, 99999, -4000])) for k in range(12)]
            cur, parties, lines, _ = ref.settle_v2(cfg, ms, rows)
            t.eq(ref.settle_fund_problems(cfg, cur, lines), [], what + "%d funds" % y)
            windows.append({"window": year(y), "parties": parties,
                            "fee_income": ref.fee_income_of(cur), "settled": cur,
                            "costs": {"EUR": rng.choice([0, 1000, 3000, 9000])}})
            settles.append(cur)
        results = ref.distribute_years(cfg, ms, mv, windows)
        opening_legal = ref.money_minor(opening["balances"][LEGAL]["EUR"], 2)
        posted_legal = 0
        for k, r in enumerate(results):
            e = r["currencies"]["EUR"]
            law_checks(t, cfg, r, what + str(2026 + k))
            t.eq(r["balances"].get((LEGAL, "EUR")), opening_legal - posted_legal,
                 what + "legal reserve balance at the start of %d" % (2026 + k))
            posted_legal += sum(ln[4] for ln in r["lines"] if ln[1] == LEGAL)
            if k:
                t.eq(e["loss_carried_in_minor"],
                     results[k - 1]["currencies"]["EUR"]["loss_carried_out_minor"],
                     what + "the loss carried chains")
            for sd in r["detail"]["EUR"]["steps"]:
                if sd["target"] is not None and sd["b_before"] <= sd["target"]:
                    t.check(sd["b_before"] + sd["amount"] <= sd["target"],
                            what + "a reserve never passes its target")
            if e["surplus_minor"] < 0:
                t.eq(e["steps"], [], what + "a loss year runs no step")
            else:
                pat = e["steps"][2]
                t.check(pat["amount_minor"] <= pat["cap_minor"], what + "P within the cap")
                t.eq(pat["payment_due"], "%d-09-15" % (2027 + k), what + "due date")


def delegation(t):
    """distribute_v2 answers with distribute_law's shape for a config with a
    §10.3 key (here withholding 0%, so the figures are today's: 5% of
    1000.00 for 365 days = 5000) and keeps its own shape without."""
    steps = [{"id": "ci", "type": "capital_interest", "rate": "5%"},
             {"id": "rest", "type": "account", "share": "remaining", "account": LEGAL}]
    ms, mv = [(1, "producer", D(2020, 1, 1), None)], [(1, D(2020, 1, 1), 100000)]
    cur, members = ref.distribute_v2(config(steps), ms, [], {"EUR": 10000}, {}, mv, [],
                                     *year(2026))
    t.eq(members, [{"id": 1, "currency": "EUR", "capital_interest_minor": 5000,
                    "patronage_minor": 0, "cash_minor": 0, "retained_minor": 0}],
         "delegation: today's shape without law keys")
    law = config([dict(steps[0], withholding="0%"), steps[1]])
    cur, members = ref.distribute_v2(law, ms, [], {"EUR": 10000}, {}, mv, [], *year(2026))
    t.eq(members, [member(1, ci=5000)], "delegation: §10's shape with a law key")
    t.eq(cur["EUR"]["distributable_minor"], 10000, "delegation: S' shown")


def main():
    t = Checks()
    for fn in (loss_cover_two_reserves, target_mid_allocation, interest_blocked_by_loss,
               kstg_cap_binds, fee_fund_odd_cent, withholding_fraction, opening_balance_basis,
               three_years, qualified_notice, law_config, no_law_keys_as_today,
               random_law_sequences, delegation):
        t.case(fn)
    t.finish()


if __name__ == "__main__":
    main()
