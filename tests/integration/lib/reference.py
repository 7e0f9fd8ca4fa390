"""An independent reference model of spec sections 1, 2 and 5, written for
clarity, not speed, with Python's exact Fractions. The tests compare the
engine's statements with what this model computes from the same config
(a Python dict) and rows. It shares no code with the engine.
"""
from fractions import Fraction
import math


def rate(text):
    text = str(text)
    if text.endswith("%"):
        return Fraction(text[:-1]) / 100
    if "/" in text:
        n, d = text.split("/")
        return Fraction(int(n), int(d))
    return Fraction(text)


def money_minor(text, exponent):
    v = Fraction(str(text)) * 10 ** exponent
    assert v.denominator == 1, "inexact money in test config"
    return int(v)


def round_mode(x, mode):
    """Round exact x to an integer: magnitude rounded, sign put back."""
    sign = -1 if x < 0 else 1
    m = abs(x)
    fl = math.floor(m)
    frac = m - fl
    if mode == "down":
        r = fl
    elif mode == "up":
        r = fl if frac == 0 else fl + 1
    elif frac > Fraction(1, 2):
        r = fl + 1
    elif frac < Fraction(1, 2):
        r = fl
    elif mode == "half_up":
        r = fl + 1
    elif mode == "half_down":
        r = fl
    else:  # half_even
        r = fl if fl % 2 == 0 else fl + 1
    return sign * r


def largest_remainder(total, parts):
    """parts: list of (key, weight). Returns {key: part}."""
    if total < 0:
        return {k: -v for k, v in largest_remainder(-total, parts).items()}
    W = sum(Fraction(w) for _, w in parts)
    assert W > 0
    quotas = {k: Fraction(total) * Fraction(w) / W for k, w in parts}
    base = {k: math.floor(q) for k, q in quotas.items()}
    r = total - sum(base.values())
    order = sorted(quotas, key=lambda k: (-(quotas[k] - base[k]), k))
    for k in order[:r]:
        base[k] += 1
    return base


def rule_matches(rule, cfg, tx, pm, cm):
    w = rule.get("when", {})
    exp = cfg["currencies"][tx["currency"]]
    a = abs(tx["amount"])
    if "category" in w and tx["category"] not in w["category"]:
        return False
    if "currency" in w and tx["currency"] not in w["currency"]:
        return False
    if "producer_member" in w and w["producer_member"] != pm:
        return False
    if "consumer_member" in w and w["consumer_member"] != cm:
        return False
    if "min_amount" in w and a < money_minor(w["min_amount"], exp):
        return False
    if "max_amount" in w and a > money_minor(w["max_amount"], exp):
        return False
    return True


def fee(rule, cfg, tx):
    """Returns (f, f_p, f_c) with the signs of g."""
    g = tx["amount"]
    if g == 0:
        return 0, 0, 0
    exp = cfg["currencies"][tx["currency"]]
    a = abs(g)
    raw = Fraction(money_minor(rule.get("fixed", "0"), exp))
    if "rate" in rule:
        raw += rate(rule["rate"]) * a
    else:
        prev = 0
        for t in rule["tiers"]:
            up = money_minor(t["up_to"], exp) if "up_to" in t else None
            hi = a if up is None else min(a, up)
            if hi - prev > 0:
                raw += rate(t["rate"]) * (hi - prev)
            if up is None:
                break
            prev = up
    if "min" in rule:
        raw = max(raw, money_minor(rule["min"], exp))
    if "max" in rule:
        raw = min(raw, money_minor(rule["max"], exp))
    raw = min(raw, a)
    f = round_mode(raw, cfg.get("rounding", "half_even"))
    borne = rule.get("borne_by", {"producer": "1"})
    parts = [(0, rate(borne.get("producer", "0"))), (1, rate(borne.get("consumer", "0")))]
    split = largest_remainder(f, parts)
    s = -1 if g < 0 else 1
    return s * f, s * split[0], s * split[1]


def settle(cfg, members, rows):
    """members: {id: class}; rows: list of dicts with id, producer, consumer,
    amount, currency, category (all valid and in the window).
    Returns (currencies, parties, lines) as the statement should show them."""
    currencies = {c: dict(transactions=0, gross_minor=0, fees_minor=0,
                          fees_producer_minor=0, fees_consumer_minor=0)
                  for c in cfg["currencies"]}
    parties = {}
    lines = []
    rejected = []
    for tx in sorted(rows, key=lambda t: t["id"]):
        pm = members.get(tx["producer"]) == "producer"
        cm = tx["consumer"] is not None and members.get(tx["consumer"]) == "consumer"
        rule = next((r for r in cfg["fees"] if rule_matches(r, cfg, tx, pm, cm)), None)
        if rule is None:
            rejected.append({"id": tx["id"], "reason": "no fee rule matches"})
            continue
        f, fp, fc = fee(rule, cfg, tx)
        g = tx["amount"]
        c = currencies[tx["currency"]]
        c["transactions"] += 1
        c["gross_minor"] += g
        c["fees_minor"] += f
        c["fees_producer_minor"] += fp
        c["fees_consumer_minor"] += fc
        for key, fee_part in ((("producer", tx["producer"]), fp), (("consumer", tx["consumer"]), fc)):
            if key[1] is None:
                continue
            p = parties.setdefault((key[0], key[1], tx["currency"]),
                                   dict(transactions=0, gross_minor=0, fees_minor=0))
            p["transactions"] += 1
            p["gross_minor"] += g
            p["fees_minor"] += fee_part
        for acct, party, amt in (("assets:clearing", tx["consumer"], g + fc),
                                 ("liabilities:payable:producers", tx["producer"], -(g - fp)),
                                 ("income:fees", tx["producer"], -fp),
                                 ("income:fees", tx["consumer"], -fc)):
            if amt != 0:
                lines.append((tx["id"], acct, party, tx["currency"], amt))
    plist = []
    for (side, pid, cur), v in sorted(parties.items(),
                                      key=lambda kv: (kv[0][0] != "producer", kv[0][1], kv[0][2])):
        d = {"id": pid, "side": side, "currency": cur}
        d.update(v)
        plist.append(d)
    return currencies, plist, lines, rejected


def membership_days(joined, left, first, end):
    """Local days [first, end) (datetime.date) a member belongs: joined <= d
    and (left is None or d < left)."""
    lo = max(first, joined)
    hi = end if left is None else min(end, left)
    return max(0, (hi - lo).days)


def distribute(cfg, members, fee_income, costs, fees_by_member, gross_by_member, first, end):
    """members: list of (id, class, joined date, left date or None, capital).
    fee_income, costs: {currency: int}. fees_by_member/gross_by_member:
    {(id, currency): int} on the member's own side.
    Returns (currencies, members) as the statement should show them."""
    rounding = cfg.get("rounding", "half_even")
    out_cur = {}
    allocs = {}
    steps = cfg["surplus"]["steps"]
    for cur in sorted(cfg["currencies"]):
        exp = cfg["currencies"][cur]
        S = fee_income.get(cur, 0) - costs.get(cur, 0)
        amounts = []
        A = S
        if S > 0:
            for st in steps:
                if st["type"] == "capital_interest":
                    amt = 0
                    if cur == cfg["currency"]:
                        w = {}
                        for (mid, cls, j, l, cap) in members:
                            d = membership_days(j, l, first, end)
                            if cap > 0 and d > 0:
                                w[mid] = rate(st["rate"]) * cap * d / 365
                        if w:
                            lim = min(sum(w.values()), A)
                            if "cap_share" in st:
                                lim = min(lim, rate(st["cap_share"]) * S)
                            amt = math.floor(lim)
                            if amt > 0:
                                for mid, v in largest_remainder(amt, list(w.items())).items():
                                    a = allocs.setdefault((mid, cur), [0, 0, 0, 0])
                                    a[0] += v
                else:
                    if st["share"] == "remaining":
                        pool = A
                    else:
                        pool = min(A, round_mode(rate(st["share"]) * S, rounding))
                    if st["type"] == "account":
                        amt = pool
                    else:
                        amt = 0
                        classes = list(st["classes"].items())
                        if pool > 0:
                            camt = largest_remainder(pool, [(i, rate(v)) for i, (k, v) in enumerate(classes)])
                            basis = gross_by_member if st.get("basis") == "volume" else fees_by_member
                            minp = money_minor(st.get("min_patronage", "0"), exp)
                            cash_f = rate(st.get("cash_fraction", "1"))
                            for i, (cls_name, _) in enumerate(classes):
                                elig = []
                                for (mid, cls, j, l, cap) in members:
                                    p = basis.get((mid, cur), 0)
                                    if cls == cls_name and p > 0 and p >= minp and \
                                            membership_days(j, l, first, end) > 0:
                                        elig.append((mid, p))
                                if not elig or camt[i] == 0:
                                    continue
                                for mid, R in largest_remainder(camt[i], elig).items():
                                    cash = math.ceil(R * cash_f)
                                    a = allocs.setdefault((mid, cur), [0, 0, 0, 0])
                                    a[1] += R
                                    a[2] += cash
                                    a[3] += R - cash
                                    amt += R
                A -= amt
                amounts.append({"id": st["id"], "amount_minor": amt})
        else:
            amounts = [{"id": st["id"], "amount_minor": 0} for st in steps]
            A = 0
        out_cur[cur] = {"fee_income_minor": fee_income.get(cur, 0), "costs_minor": costs.get(cur, 0),
                        "surplus_minor": S, "steps": amounts, "retained_surplus_minor": A}
    mlist = []
    for (mid, cur), a in sorted(allocs.items()):
        if any(a):
            mlist.append({"id": mid, "currency": cur, "capital_interest_minor": a[0],
                          "patronage_minor": a[1], "cash_minor": a[2], "retained_minor": a[3]})
    return out_cur, mlist
