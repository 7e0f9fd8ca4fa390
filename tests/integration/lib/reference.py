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


# =============================================================================
# Config version 2: time-true records (spec §10.1, §10.2, §10.7.6, §10.7.7,
# §10.7.12), written from the spec alone. Nothing above this line changes
# its behaviour; the functions below use rate, money_minor, round_mode,
# largest_remainder, rule_matches and fee, which are the same for both
# versions (§10 changes neither rounding nor the fee of one transaction).
#
# Types, for every function below:
#   day          datetime.date (a local date in the config's zone); a
#                'YYYY-MM-DD' string is accepted wherever a day is taken
#   instant      an aware datetime; a naive one (a `timestamp without time
#                zone` column) is a wall time in the config's zone; an ISO
#                8601 string is accepted too
#   membership   (id, class, joined_on, left_on): left_on None = still a
#                member; the period is [joined_on, left_on) (§10.7.12)
#   movement     (member_id, booked_on, amount_minor): source.capital
#   retained     (member_id, last_day, retained_minor): the base currency's
#                retained patronage of a member in an earlier committed
#                distribute run whose last local day is last_day (§10.7.7)
#   transaction  dict: id, occurred_at, producer, consumer (None: a guest),
#                amount, currency, category
#   party total  dict: id, side, currency, member, transactions,
#                gross_minor, fees_minor (the --json `parties` entries)
#
# What the model does not cover (later issues; it raises NotImplementedError
# rather than compute something else): dated fee rules and VAT (§10.8), fee
# funds, loss cover and reserve targets (§10.3), capital interest bases other
# than daily_balance, withholding, blocked_by_loss, the KStG cap.
# =============================================================================
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

CLASSES = ("producer", "consumer")
DEFAULT_ACCOUNTS = {"clearing": "assets:clearing",
                    "producer_payable": "liabilities:payable:producers",
                    "fee_income": "income:fees"}


class InvalidInput(Exception):
    """Invalid input data (the engine's exit 3). kind: 'membership' or
    'capital'; ids: the offending ids, sorted (None, for a NULL id, first);
    problems: [(id, reason)] in row order."""

    def __init__(self, kind, ids, problems=()):
        super().__init__("invalid %s rows: ids %r" % (kind, ids))
        self.kind = kind
        self.ids = ids
        self.problems = list(problems)


def _id_order(i):
    return (i is not None, i if i is not None else 0)


def as_day(d):
    if d is None or isinstance(d, date) and not isinstance(d, datetime):
        return d
    if isinstance(d, datetime):
        raise TypeError("a day is a date, not a datetime: %r" % (d,))
    return date.fromisoformat(str(d))


def zone_of(cfg_or_name):
    """The ZoneInfo of a config dict (its `timezone`, default UTC) or a name."""
    name = cfg_or_name if isinstance(cfg_or_name, str) else cfg_or_name.get("timezone", "UTC")
    return ZoneInfo(name)


def as_instant(t, zone):
    """An aware datetime for t; naive wall times are read in zone (as the
    engine's session reads a `timestamp without time zone` column)."""
    if t is None:
        return None
    if isinstance(t, str):
        t = datetime.fromisoformat(t)
    if t.tzinfo is None:
        # PostgreSQL's rule for a wall time the zone does not have once: a
        # time in a gap (clocks set forward) takes the offset before the
        # transition, Python's fold=0; a repeated time (clocks set back)
        # the offset after it, the later instant, Python's fold=1.
        t0, t1 = t.replace(tzinfo=zone, fold=0), t.replace(tzinfo=zone, fold=1)
        repeated = t0.utcoffset() != t1.utcoffset() and _wall(t1, zone) == t
        t = t1 if repeated else t0
    return t


# ---- time (§3) ----------------------------------------------------------------

def _wall(u, zone):
    """The local wall time of instant u in zone, naive."""
    # via UTC: astimezone() to an aware datetime's own tzinfo changes nothing,
    # so a nonexistent wall time would come back as itself
    return u.astimezone(timezone.utc).astimezone(zone).replace(tzinfo=None)


def day_start(zone, day):
    """Local midnight of day as a UTC instant: the first instant whose local
    wall time is day 00:00 or later. When day 00:00 is repeated (clocks set
    back over midnight) it is the earlier instant; when it falls into a gap
    (clocks set forward over midnight) it is the first instant after the
    gap. For a day the zone skipped whole (Pacific/Apia 2011-12-30) this is
    the next day's start: see day_exists."""
    zone = zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)
    day = as_day(day)
    midnight = datetime(day.year, day.month, day.day)
    u0 = midnight.replace(tzinfo=zone, fold=0).astimezone(timezone.utc)
    if _wall(u0, zone) == midnight:
        return u0
    # In a gap: fold=1 reads the wall time with the offset after the
    # transition, an instant before the gap; fold=0 one after it. The
    # transition lies between; bisect to the second (tz transitions fall on
    # whole seconds).
    lo = midnight.replace(tzinfo=zone, fold=1).astimezone(timezone.utc)
    hi = u0
    assert _wall(lo, zone) < midnight <= _wall(hi, zone)
    while hi - lo > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        mid = mid.replace(microsecond=0)
        if mid <= lo:
            mid = lo + timedelta(seconds=1)
        if _wall(mid, zone) >= midnight:
            hi = mid
        else:
            lo = mid
    return hi


def day_exists(zone, day):
    """False for a date no instant of the zone has (a skipped day)."""
    zone = zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)
    day = as_day(day)
    return day_start(zone, day).astimezone(zone).date() == day


def local_day(zone, instant):
    """The local date of an instant in zone (§10.1: a transaction's day)."""
    zone = zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)
    return _wall(as_instant(instant, zone), zone).date()


def days_window(zone, first_day, end_day):
    """The window [local midnight of first_day, local midnight of end_day):
    end_day is the day after the last one."""
    zone = zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)
    return day_start(zone, first_day), day_start(zone, end_day)


def period_window(zone, period):
    """The window of a --period value: YYYY-MM-DD, YYYY-MM, YYYY-Qn, YYYY (§3).
    A day the zone skipped is refused (ValueError), as the engine refuses it
    with exit 2."""
    zone = zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)
    p = str(period)
    if len(p) == 10:
        first = date.fromisoformat(p)
        if not day_exists(zone, first):
            raise ValueError("%s is no day in %s" % (p, zone.key))
        end = first + timedelta(days=1)
    elif len(p) == 7 and p[4] == "-" and p[5] != "Q":
        first = date(int(p[:4]), int(p[5:7]), 1)
        end = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    elif len(p) == 7 and p[5] == "Q":
        q = int(p[6])
        assert 1 <= q <= 4, p
        first = date(int(p[:4]), 3 * q - 2, 1)
        end = date(first.year + (q == 4), (3 * q) % 12 + 1, 1)
    elif len(p) == 4:
        first, end = date(int(p), 1, 1), date(int(p) + 1, 1, 1)
    else:
        raise ValueError("not a period: %r" % p)
    return days_window(zone, first, end)


def local_days(zone, window_from, window_to):
    """The local days of a window: the dates whose local midnight lies in
    [window_from, window_to), in order (§3). A skipped day is no day."""
    zone = zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)
    window_from = as_instant(window_from, zone)
    window_to = as_instant(window_to, zone)
    d = window_from.astimezone(zone).date() - timedelta(days=1)
    last = window_to.astimezone(zone).date() + timedelta(days=1)
    out = []
    while d <= last:
        if day_exists(zone, d) and window_from <= day_start(zone, d) < window_to:
            out.append(d)
        d += timedelta(days=1)
    return out


# ---- memberships (§10.1, §10.7.12) -------------------------------------------

def membership_problems(rows):
    """[(id, reason)] for the invalid membership rows, in row order: a NULL
    id, class or joined_on; a class other than producer/consumer;
    left_on <= joined_on; a period that overlaps another period of the same
    (id, class) (both rows are named; touching periods do not overlap)."""
    problems = []
    good = []
    for r in rows:
        mid, cls, joined, left = r[0], r[1], as_day(r[2]), as_day(r[3])
        if mid is None:
            problems.append((None, "id is null"))
        elif cls is None:
            problems.append((mid, "class is null"))
        elif cls not in CLASSES:
            problems.append((mid, "class is neither 'producer' nor 'consumer'"))
        elif joined is None:
            problems.append((mid, "joined_on is null"))
        elif left is not None and left <= joined:
            problems.append((mid, "left_on is not after joined_on"))
        else:
            good.append((mid, cls, joined, left))
    for i, (mid, cls, j1, l1) in enumerate(good):
        for (mid2, cls2, j2, l2) in good[:i] + good[i + 1:]:
            if (mid2, cls2) != (mid, cls):
                continue
            # [j1, l1) and [j2, l2) overlap when each starts before the other ends
            if (l2 is None or j1 < l2) and (l1 is None or j2 < l1):
                problems.append((mid, "its %s periods overlap" % cls))
                break
    return problems


def invalid_membership_ids(rows):
    """The ids of invalid membership rows, sorted, each once (None first)."""
    return sorted({i for i, _ in membership_problems(rows)}, key=_id_order)


def check_memberships(rows):
    """Raises InvalidInput('membership', ids) when any row is invalid: every
    run that reads memberships validates every row (§10.7.12)."""
    problems = membership_problems(rows)
    if problems:
        raise InvalidInput("membership", invalid_membership_ids(rows), problems)


def is_member(memberships, party, cls, day):
    """Whether party is a member of class cls on local day `day`: a row
    (party, cls) with joined_on <= day and (left_on None or day < left_on)."""
    day = as_day(day)
    if party is None:
        return False
    for r in memberships:
        if r[0] == party and r[1] == cls and as_day(r[2]) <= day and \
                (r[3] is None or day < as_day(r[3])):
            return True
    return False


def is_member_of_any(memberships, party, day):
    return any(is_member(memberships, party, c, day) for c in CLASSES)


def membership_days_v2(memberships, party, cls, days):
    """How many of `days` party is a member of cls (cls None: of any class)."""
    if cls is None:
        return sum(1 for d in days if is_member_of_any(memberships, party, d))
    return sum(1 for d in days if is_member(memberships, party, cls, d))


def member_ids(memberships):
    """Every id that holds a membership, sorted."""
    return sorted({r[0] for r in memberships if r[0] is not None})


# ---- settle (§4, §5 with §10.1) -----------------------------------------------

def rows_in_window(cfg, rows, window_from, window_to):
    """The transactions a settle run of [window_from, window_to) reads: those
    with from <= occurred_at < to, and those with a NULL occurred_at (which
    belong to no window but are invalid in every one, so every run reports
    them)."""
    zone = zone_of(cfg)
    out = []
    for t in rows:
        at = as_instant(t.get("occurred_at"), zone)
        if at is None or as_instant(window_from, zone) <= at < as_instant(window_to, zone):
            out.append(t)
    return out


def _canonical_key(t, zone):
    """The engine's documented input order: id (NULL first), then the other
    columns (NULLs last), texts bytewise."""
    def last(v):
        return (v is None, v if v is not None else 0)
    at = as_instant(t.get("occurred_at"), zone)
    return (_id_order(t.get("id")),
            (at is None, at.astimezone(timezone.utc) if at else datetime.min),
            last(t.get("producer")), last(t.get("consumer")), last(t.get("amount")),
            (t.get("currency") is None, (t.get("currency") or "").encode()),
            (t.get("category") is None, (t.get("category") or "").encode()))


def transaction_problem(cfg, t, duplicate):
    """Why a transaction cannot be settled (§4), or None."""
    for key, col in (("id", "id"), ("occurred_at", "occurred_at"), ("producer", "producer_id"),
                     ("amount", "amount_minor"), ("currency", "currency")):
        if t.get(key) is None:
            return "%s is null" % col
    if t["currency"] not in cfg["currencies"]:
        return "currency '%s' is not configured" % t["currency"]
    if duplicate:
        return "duplicate id"
    return None


def _no_v2_extras(cfg):
    for r in cfg["fees"]:
        if "vat" in r:
            raise NotImplementedError("fee rule key 'vat' (spec §10.8)")
        for k in ("from", "until"):
            if k in r.get("when", {}):
                raise NotImplementedError("dated fee rules (spec §10.8)")
    if "vat" in cfg:
        raise NotImplementedError("vat (spec §10.8)")


def settle_v2(cfg, memberships, rows):
    """Settles the transactions `rows` (those the run reads: see
    rows_in_window) with a version 2 config.

    Each transaction's local day is taken in cfg['timezone']; producer_member
    and consumer_member are evaluated on it (a guest is never a member).
    Invalid rows are rejected with their reason (§4); the caller decides
    what on_invalid does with them.

    Returns (currencies, parties, lines, rejected):
      currencies {code: {transactions, gross_minor, fees_minor,
                  fees_producer_minor, fees_consumer_minor}} for every
                  configured currency; when any rule has `funds`, also
                  fee_income_minor (the income:fees part) and funds
                  {ACCOUNT: minor} (§10.7.9; see fee_fund_split);
      parties    [{id, side, currency, member, transactions, gross_minor,
                  fees_minor}] sorted by side (producer first), id,
                  currency, member (false before true): the --json list;
      lines      [(transaction id, account, party or None, currency,
                  amount, posted_on)], the four lines of §5 per transaction
                  in canonical order, then its fund lines (producer side
                  first, funds in config order), lines of 0 left out,
                  posted_on the transaction's local day (§10.5);
      rejected   [{id, reason}] in canonical order.
    Raises InvalidInput('membership', ids) when a membership row is invalid.
    """
    _no_v2_extras(cfg)
    check_memberships(memberships)
    zone = zone_of(cfg)
    accounts = dict(DEFAULT_ACCOUNTS)
    accounts.update({k: v for k, v in cfg.get("accounts", {}).items() if k in accounts})
    fund_accounts = fee_fund_accounts(cfg)
    currencies = {c: dict(transactions=0, gross_minor=0, fees_minor=0,
                          fees_producer_minor=0, fees_consumer_minor=0)
                  for c in cfg["currencies"]}
    if fund_accounts:
        for c in currencies.values():
            c["fee_income_minor"] = 0
            c["funds"] = {a: 0 for a in fund_accounts}
    seen = {}
    for t in rows:
        if t.get("id") is not None:
            seen[t["id"]] = seen.get(t["id"], 0) + 1
    parties, lines, rejected = {}, [], []
    for t in sorted(rows, key=lambda t: _canonical_key(t, zone)):
        why = transaction_problem(cfg, t, seen.get(t.get("id"), 0) > 1)
        if why:
            rejected.append({"id": t.get("id"), "reason": why})
            continue
        day = local_day(zone, t["occurred_at"])
        pm = is_member(memberships, t["producer"], "producer", day)
        cm = is_member(memberships, t.get("consumer"), "consumer", day)
        rule = next((r for r in cfg["fees"] if rule_matches(r, cfg, t, pm, cm)), None)
        if rule is None:
            rejected.append({"id": t["id"], "reason": "no fee rule matches"})
            continue
        f, fp, fc = fee(rule, cfg, t)
        g = t["amount"]
        c = currencies[t["currency"]]
        c["transactions"] += 1
        c["gross_minor"] += g
        c["fees_minor"] += f
        c["fees_producer_minor"] += fp
        c["fees_consumer_minor"] += fc
        for side, pid, was_member, part in (("producer", t["producer"], pm, fp),
                                            ("consumer", t.get("consumer"), cm, fc)):
            if pid is None:
                continue  # a guest counts in the currency totals only
            p = parties.setdefault((side, pid, t["currency"], was_member),
                                   dict(transactions=0, gross_minor=0, fees_minor=0))
            p["transactions"] += 1
            p["gross_minor"] += g
            p["fees_minor"] += part
        funds = rule.get("funds", [])
        fund_p, income_p = fee_fund_split(fp, funds)
        fund_c, income_c = fee_fund_split(fc, funds)
        if fund_accounts:
            c["fee_income_minor"] += income_p + income_c
            for (acct, part) in fund_p + fund_c:
                c["funds"][acct] += part
        fund_lines = [(acct, t["producer"], -part) for acct, part in fund_p] + \
                     [(acct, t.get("consumer"), -part) for acct, part in fund_c]
        for acct, party, amt in [(accounts["clearing"], t.get("consumer"), g + fc),
                                 (accounts["producer_payable"], t["producer"], -(g - fp)),
                                 (accounts["fee_income"], t["producer"], -income_p),
                                 (accounts["fee_income"], t.get("consumer"), -income_c)] + \
                fund_lines:
            if amt != 0:
                lines.append((t["id"], acct, party, t["currency"], amt, day))
    return currencies, party_list(parties), lines, rejected


def fee_fund_accounts(cfg):
    """The fund accounts of every fee rule, each once, in the order they are
    first named (rules in config order, funds in list order): the keys of
    the settle --json `funds` map."""
    out = []
    for r in cfg["fees"]:
        for fd in r.get("funds", []):
            if fd["account"] not in out:
                out.append(fd["account"])
    return out


def fee_fund_split(f_side, funds):
    """Splits one side's fee f_side (with the sign of g) between the rule's
    `funds` and income (§10.3, §10.7.9). Returns ([(account, part)] in
    config order, income part); the parts sum to f_side exactly.

    LR(f_side, [(0, share_1), ..., (n-1, share_n), (n, 1 - sum shares)]):
    the keys are the funds' positions in the config, income last (n), so a
    tie of fractional parts gives the unit to the first fund, and income
    gets a tied unit only after every fund (§2's "the part whose key comes
    first gets the unit first", with §10.7.9's key order).

    Sign (a reading, as the v1 `fee` does for the producer/consumer split):
    f_side < 0 (a refund) is split by §2's rule for T < 0 -- |f_side| is
    allocated and every part negated -- so the refund of a sale puts back
    exactly the fund and income parts the sale took, cent for cent. (A
    rounding of the signed value towards minus infinity would give a
    refund's odd cent to another key than the sale's.)

    No funds (or f_side = 0): everything is income."""
    if not funds:
        return [], f_side
    shares = [rate(fd["share"]) for fd in funds]
    assert sum(shares) < 1, "fund shares sum to 1 or more (a config error, §10.7.9)"
    parts = [(i, w) for i, w in enumerate(shares)] + [(len(funds), 1 - sum(shares))]
    split = largest_remainder(f_side, parts)
    assert sum(split.values()) == f_side
    return [(fd["account"], split[i]) for i, fd in enumerate(funds)], split[len(funds)]


def party_list(totals):
    """{(side, id, currency, member): {transactions, gross_minor, fees_minor}}
    as the --json `parties` list, in its order."""
    out = []
    for (side, pid, cur, m), v in sorted(
            totals.items(), key=lambda kv: (kv[0][0] != "producer", kv[0][1], kv[0][2], kv[0][3])):
        d = {"id": pid, "side": side, "currency": cur, "member": m}
        d.update(v)
        out.append(d)
    return out


def sum_parties(*party_lists):
    """The party totals of several settle runs added up per (id, side,
    currency, member), in the --json order: a month settled day by day,
    summed, equals the month settled as a whole."""
    totals = {}
    for plist in party_lists:
        for p in plist:
            t = totals.setdefault((p["side"], p["id"], p["currency"], p["member"]),
                                  dict(transactions=0, gross_minor=0, fees_minor=0))
            for k in t:
                t[k] += p[k]
    return party_list(totals)


def sum_currencies(*currency_maps):
    """Currency totals of several settle runs added up per currency (the
    `funds` map of §10.7.9 per account)."""
    out = {}
    for m in currency_maps:
        for cur, v in m.items():
            t = out.setdefault(cur, {k: {} if isinstance(x, dict) else 0
                                     for k, x in v.items()})
            for k, x in v.items():
                if isinstance(x, dict):
                    for a, y in x.items():
                        t[k][a] = t[k].get(a, 0) + y
                else:
                    t[k] += x
    return out


# ---- capital (§10.2, §10.7.6, §10.7.7) -----------------------------------------

def retained_is_capital(cfg):
    v = cfg.get("surplus", {}).get("retained_is_capital", True)
    return v is True or v == "true"


def capital_at_end_of(movements, retained, member, day, with_retained=True):
    """A member's capital at the end of local day `day`: its movements with
    booked_on <= day, plus (with_retained) its retained patronage of earlier
    distribute runs whose last local day is <= day."""
    day = as_day(day)
    c = sum(a for (m, b, a) in movements if m == member and as_day(b) <= day)
    if with_retained:
        c += sum(r for (m, last, r) in retained if m == member and as_day(last) <= day)
    return c


def daily_balance_sum(memberships, movements, retained, member, days, with_retained=True):
    """Sum over the `days` on which member is a member of any class of its
    capital at the end of the day before (§10.3, §10.7.6)."""
    return sum(capital_at_end_of(movements, retained, member, d - timedelta(days=1),
                                 with_retained)
               for d in map(as_day, days) if is_member_of_any(memberships, member, d))


def capital_problems(memberships, movements, retained, days, with_retained=True):
    """[(member id, day)]: a movement of a member with a NULL column (day
    None; a NULL member_id is named as None), and for each member the first
    counted day whose capital (at the end of the day before) is below 0.
    Movements of ids that never hold a membership are ignored."""
    ids = member_ids(memberships)
    out = [(m, None) for (m, b, a) in movements
           if (m is None or m in ids) and (m is None or b is None or a is None)]
    if out:
        return out
    for mid in ids:
        for d in map(as_day, days):
            if is_member_of_any(memberships, mid, d) and \
                    capital_at_end_of(movements, retained, mid, d - timedelta(days=1),
                                      with_retained) < 0:
                out.append((mid, d))
                break
    return out


def invalid_capital_ids(memberships, movements, retained, days, with_retained=True):
    """The ids capital_problems names, sorted, each once (None first)."""
    return sorted({m for m, _ in capital_problems(memberships, movements, retained, days,
                                                  with_retained)}, key=_id_order)


def capital_interest_weights(step, memberships, movements, retained, days, with_retained=True):
    """{member id: i_m} for a capital_interest step with basis daily_balance:
    i_m = rate * daily_balance_sum / 365, exact; members with i_m > 0 only."""
    basis = step.get("basis", "daily_balance")
    if basis != "daily_balance":
        raise NotImplementedError("capital interest basis %r" % basis)
    for k in ("withholding", "blocked_by_loss"):
        if k in step:
            raise NotImplementedError("capital interest %r (spec §10.3)" % k)
    w = {}
    for mid in member_ids(memberships):
        s = daily_balance_sum(memberships, movements, retained, mid, days, with_retained)
        if s > 0:
            w[mid] = rate(step["rate"]) * s / 365
    return w


# ---- distribute (§6 with §10.1, §10.2) -----------------------------------------

def fee_income_of(*currency_maps):
    """{currency: fee income} from the currency totals of the settle runs
    that tile the window: the income:fees lines only (fee_income_minor when
    the config has fee funds, §10.3), else fees_minor."""
    return {c: v.get("fee_income_minor", v["fees_minor"])
            for c, v in sum_currencies(*currency_maps).items()}


def costs_in_days(rows, days):
    """{currency: sum} of source.costs rows (booked_on, currency,
    amount_minor) booked on one of the window's local days."""
    days = set(map(as_day, days))
    out = {}
    for booked, cur, amt in rows:
        if as_day(booked) in days:
            out[cur] = out.get(cur, 0) + amt
    return out


def patronage_bases_v2(parties):
    """{(id, class, currency): (fees, gross)} of member business: a party's
    totals on the side of that class with member = true (§10.1). parties:
    the `parties` lists of the settle runs of the window, concatenated."""
    out = {}
    for p in parties:
        if p["member"]:
            k = (p["id"], p["side"], p["currency"])
            f, g = out.get(k, (0, 0))
            out[k] = (f + p["fees_minor"], g + p["gross_minor"])
    return out


def distribute_v2(cfg, memberships, parties, fee_income, costs, movements, retained,
                  window_from, window_to):
    """A version 2 distribute run of [window_from, window_to).

    memberships: the membership rows; parties: the party totals of the
    settle runs that tile the window (their --json `parties`, concatenated);
    fee_income, costs: {currency: minor} (fee_income_of, costs_in_days or
    the config's surplus.costs.amount); movements: source.capital rows;
    retained: [(member, last_day, retained_minor)] of earlier committed
    distribute runs, base currency.

    Per currency, §6's waterfall with:
      * capital_interest (base currency): i_m = rate * (sum over the window's
        local days D on which m is a member of any class, of its capital at
        the end of D - 1) / 365; amt = floor(min(sum i_m, A, cap_share * S));
        LR(amt) with weights i_m;
      * patronage: the basis of a member in class c is its side-c totals
        with member = true; eligible: at least one local day of membership
        of c in the window, basis > 0 and >= min_patronage; cash is
        ceil(R_m * cash_fraction) per class allocation.
    S <= 0: every step 0, retained surplus 0, no members (§6).

    Returns (currencies, members) as the --json statement shows them:
      currencies {code: {fee_income_minor, costs_minor, surplus_minor,
                  steps: [{id, amount_minor}], retained_surplus_minor}};
      members [{id, currency, capital_interest_minor, patronage_minor,
               cash_minor, retained_minor}] sorted by id, currency, rows
               with all four amounts 0 left out.
    Raises InvalidInput('membership', ids) for invalid memberships and
    InvalidInput('capital', ids) when a member's movement has a NULL column
    or its capital is below 0 on a counted day (checked only when the
    config has a capital_interest step, whatever S is).
    """
    check_memberships(memberships)
    sp = cfg["surplus"]
    for k in ("opening", "loss_cover", "total_assets"):
        if k in sp:
            raise NotImplementedError("surplus.%s (spec §10.3)" % k)
    zone = zone_of(cfg)
    days = local_days(zone, window_from, window_to)
    with_retained = retained_is_capital(cfg)
    rounding = cfg.get("rounding", "half_even")
    steps = sp["steps"]
    for st in steps:
        if st["type"] == "account" and "until" in st:
            raise NotImplementedError("account targets (spec §10.3)")
        if st["type"] == "patronage" and ("cap" in st or "notice" in st):
            raise NotImplementedError("patronage cap or notice (spec §10.3)")
    if any(st["type"] == "capital_interest" for st in steps):
        bad = capital_problems(memberships, movements, retained, days, with_retained)
        if bad:
            raise InvalidInput("capital", sorted({m for m, _ in bad}, key=_id_order),
                               [(m, "a column is null" if d is None else
                                 "capital below 0 at the end of %s" % (d - timedelta(days=1)))
                                for m, d in bad])
    bases = patronage_bases_v2(parties)
    ids = member_ids(memberships)
    out_cur, allocs = {}, {}
    for cur in sorted(cfg["currencies"]):
        exp = cfg["currencies"][cur]
        S = fee_income.get(cur, 0) - costs.get(cur, 0)
        amounts = []
        A = S
        if S <= 0:
            amounts = [{"id": st["id"], "amount_minor": 0} for st in steps]
            A = 0
        for st in steps if S > 0 else []:
            amt = 0
            if st["type"] == "capital_interest":
                if cur == cfg["currency"]:
                    w = capital_interest_weights(st, memberships, movements, retained, days,
                                                 with_retained)
                    if w:
                        lim = min(sum(w.values()), A)
                        if "cap_share" in st:
                            lim = min(lim, rate(st["cap_share"]) * S)
                        amt = math.floor(lim)
                        if amt > 0:
                            for mid, v in largest_remainder(amt, list(w.items())).items():
                                allocs.setdefault((mid, cur), [0, 0, 0, 0])[0] += v
            else:
                if st["share"] == "remaining":
                    pool = A
                else:
                    pool = min(A, round_mode(rate(st["share"]) * S, rounding))
                if st["type"] == "account":
                    amt = pool
                elif pool > 0:
                    classes = list(st["classes"].items())
                    camt = largest_remainder(pool, [(i, rate(v))
                                                    for i, (_, v) in enumerate(classes)])
                    which = 1 if st.get("basis", "fees") == "volume" else 0
                    minp = money_minor(st.get("min_patronage", "0"), exp)
                    cash_f = rate(st.get("cash_fraction", "1"))
                    for i, (cls, _) in enumerate(classes):
                        elig = []
                        for mid in ids:
                            b = bases.get((mid, cls, cur), (0, 0))[which]
                            if b > 0 and b >= minp and \
                                    membership_days_v2(memberships, mid, cls, days) > 0:
                                elig.append((mid, b))
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
        out_cur[cur] = {"fee_income_minor": fee_income.get(cur, 0),
                        "costs_minor": costs.get(cur, 0), "surplus_minor": S,
                        "steps": amounts, "retained_surplus_minor": A}
    mlist = []
    for (mid, cur), a in sorted(allocs.items()):
        if any(a):
            mlist.append({"id": mid, "currency": cur, "capital_interest_minor": a[0],
                          "patronage_minor": a[1], "cash_minor": a[2], "retained_minor": a[3]})
    return out_cur, mlist


def retained_of(members, base_currency, last_day):
    """The retained list entries a distribute result adds for later windows:
    [(id, last_day, retained_minor)] of the base currency (§10.7.7)."""
    return [(m["id"], as_day(last_day), m["retained_minor"]) for m in members
            if m["currency"] == base_currency and m["retained_minor"] != 0]
