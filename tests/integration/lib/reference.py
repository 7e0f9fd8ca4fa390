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
#                gross_minor, fees_minor (the --json `parties` entries;
#                vat_minor too in a config with `vat`, §10.8)
#
# Fee funds (§10.3, §10.7.9), dated fee rules and VAT (§10.8) are in
# settle_v2 (its readings of §10.8 are listed at "dated fee rules and VAT");
# settle_v2_before_vat is settle_v2 as it was before §10.8, kept to show
# that a config without `vat` settles as before (§10.8.6). Losses,
# balances, targets, interest bases, withholding, blocked_by_loss, the KStG
# cap and the qualified notice (§10.2, §10.3, §10.7.1-11) are in the
# section "cooperative law" below.
# =============================================================================
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

CLASSES = ("producer", "consumer")
DEFAULT_ACCOUNTS = {"clearing": "assets:clearing",
                    "producer_payable": "liabilities:payable:producers",
                    "fee_income": "income:fees",
                    "vat": "liabilities:vat"}


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


# ---- settle (§4, §5 with §10.1, §10.3's fee funds, §10.8) ---------------------

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


# ---- dated fee rules and VAT (§10.8) -------------------------------------------
#
# Readings of §10.8 where the text leaves room; each is repeated at the
# function it concerns, marked "Reading:".
#   R1  when.from / when.until are local dates compared with the
#       transaction's local day in cfg['timezone'] (transaction_day), never
#       with its UTC date; either may be missing (open on that side).
#   R2  `vat: none` on a rule turns VAT off for it; a top-level `vat: none`
#       is accepted and means "no default" (as if absent).
#   R3  "A version 2 config without any `vat`" (§10.8.6) is one with no
#       `vat` key at top level nor on any fee rule; `accounts.vat` alone does
#       not count. Any `vat` key, `vat: none` included, gives every party and
#       currency total its vat_minor (0 where nothing is taxed).
#   R4  "more than one VAT account is used" is read from the config, not the
#       data: the distinct effective accounts (vat_of) of the fee rules;
#       when there are two or more, every currency of every run carries
#       `vat` with all of them (0 included), as `funds` carries every fund
#       account (§10.7.9). So the shape of a statement never depends on
#       which transactions a window holds, and the days of a month sum to
#       the month.
#   R5  Line numbers (settle_v2(..., line_numbers=True)): a fixed slot per
#       line, lines of 0 left out and their numbers with them (gaps):
#         1 clearing (consumer)     +(g + p_c)
#         2 payable (producer)      -(g - p_p)
#         3 income:fees (producer)  -(n_p - fund parts of n_p)
#         4 income:fees (consumer)  -(n_c - fund parts of n_c)
#         5 VAT account (producer)  -t_p      } only in a config with a
#         6 VAT account (consumer)  -t_c      } `vat` key (R3)
#         then the fund lines: the producer side's funds in config order,
#         then the consumer side's, numbered on from 5 without `vat`
#         (as before §10.8, §10.8.6) or from 7 with it.
#       A rule with `vat: none` in a config with VAT leaves slots 5 and 6
#       empty (their amounts are 0) and its fund lines still start at 7.
#       Without `vat` these are the numbers the engine writes today, seen
#       from outside (a run, not its source): a guest's sale whose fee is
#       the whole amount, with a fund, is lines 1, 3 and 5.
#   R6  t_side is rounded per side and per transaction with the config's
#       top-level `rounding` (§10.8.7), on |f_side| * rate (excluded) or
#       |f_side| * rate / (1 + rate) (included), and takes the sign of g;
#       f_side = 0 gives t_side = 0.
#   R7  Config problems: a VAT account is checked against
#       accounts.fee_income, accounts.clearing, accounts.producer_payable
#       and the fund accounts of every rule (not only its own); the
#       top-level default's account is checked even when every rule
#       overrides it. `vat:` given neither as a map nor as `none` (e.g.
#       null), a map without `rate` (whatever else it gives, `included`
#       or `account`), an unknown key in it, and an `included` that is not
#       a boolean are config errors.
#   R8  A dated rule's `from >= until` is a config error only when both
#       are given.
# ------------------------------------------------------------------------------

VAT_NONE = "none"
VAT_KEYS = ("rate", "included", "account")


def settle_accounts(cfg):
    """The settle account names of a config: DEFAULT_ACCOUNTS (clearing,
    producer_payable, fee_income, vat) with cfg['accounts'] over them. The
    result is a new dict the caller owns."""
    acc = dict(DEFAULT_ACCOUNTS)
    acc.update({k: v for k, v in cfg.get("accounts", {}).items() if k in acc})
    return acc


def transaction_day(cfg, t):
    """The local day of transaction t in cfg['timezone'] (§10.1, §10.8):
    the day its membership flags, its rule's dates and its posted_on are
    taken on."""
    return local_day(zone_of(cfg), t["occurred_at"])


def rule_in_force(rule, day):
    """Whether a fee rule's dates hold on local day `day` (§10.8): when.from
    <= day < when.until. Reading (R1): a missing from or until is open on
    that side; a rule without either holds every day. `day` is a local day
    (transaction_day), never a UTC date."""
    w = rule.get("when", {})
    day = as_day(day)
    if "from" in w and day < as_day(w["from"]):
        return False
    if "until" in w and day >= as_day(w["until"]):
        return False
    return True


def rule_matches_v2(rule, cfg, t, pm, cm, day):
    """§5's `when` (rule_matches) and §10.8's dates (rule_in_force) on the
    transaction's local day: all must hold."""
    return rule_in_force(rule, day) and rule_matches(rule, cfg, t, pm, cm)


def matching_rule(cfg, memberships, t):
    """The fee rule that applies to a valid transaction t in a version 2
    config, or None: rules tried in config order, the first whose `when`
    holds wins; producer_member, consumer_member and the dates are taken on
    t's local day (§10.1, §10.8)."""
    day = transaction_day(cfg, t)
    pm = is_member(memberships, t["producer"], "producer", day)
    cm = is_member(memberships, t.get("consumer"), "consumer", day)
    return next((r for r in cfg["fees"] if rule_matches_v2(r, cfg, t, pm, cm, day)), None)


def _is_vat_none(spec):
    return isinstance(spec, str) and spec == VAT_NONE


def _bool_of(v):
    """True/False for a YAML boolean (or its text), else None."""
    if v is True or v == "true":
        return True
    if v is False or v == "false":
        return False
    return None


def has_vat(cfg):
    """Whether a config names `vat` at top level or on any fee rule (§10.8.6).

    Reading (R3): this is "a version 2 config without any `vat`" negated;
    `vat: none` counts (it is a `vat` key), `accounts.vat` alone does not.
    Without it a run's output is as before §10.8: no vat_minor fields, fund
    lines numbered from 5."""
    return "vat" in cfg or any("vat" in r for r in cfg["fees"])


def vat_of(cfg, rule):
    """The effective VAT of a fee rule (§10.8, §10.8.1): None when the rule
    has `vat: none`, or has no `vat` and the config no top-level default
    (or a top-level `vat: none`, R2); else a new dict
    {rate: Fraction, included: bool, account: str}: the rule's own `vat`
    if it has one, else the top-level `vat`, taken whole (no key-by-key
    inheritance); included defaults to false, account to accounts.vat
    (`liabilities:vat`). The config must be free of vat_config_problems."""
    spec = rule["vat"] if "vat" in rule else cfg.get("vat")
    if spec is None or _is_vat_none(spec):
        return None
    included = _bool_of(spec.get("included", False))
    assert included is not None, "vat.included is not a boolean (a config error)"
    return {"rate": rate(spec["rate"]), "included": included,
            "account": spec.get("account", settle_accounts(cfg)["vat"])}


def vat_accounts(cfg):
    """The distinct effective VAT accounts of the fee rules (vat_of), in the
    order first named (rules in config order). Reading (R4): these are the
    accounts "used" (§10.8.3); with two or more every currency total
    carries `vat: {ACCOUNT: minor}` with all of them."""
    out = []
    for r in cfg["fees"]:
        v = vat_of(cfg, r)
        if v is not None and v["account"] not in out:
            out.append(v["account"])
    return out


def vat_split(f_side, g, vat, rounding="half_even"):
    """One side's fee f_side (with the sign of g, from §5 steps 1-4) with
    its VAT (§10.8): returns (t_side, p_side, n_side), the VAT, what the
    side pays, and the net fee n_side = p_side - t_side.
      vat None:          t = 0, p = n = f;
      included false:    t = round(|f| * rate) with the sign of g, p = f + t,
                         n = f (the rule computed the net fee);
      included true:     t = round(|f| * rate / (1 + rate)) with the sign of
                         g, p = f, n = f - t (the rule computed the gross).
    Reading (R6): rounded per side and transaction with the config's
    `rounding` (§10.8.7); f = 0 gives t = 0 whatever the sign of g."""
    if vat is None or f_side == 0:
        return 0, f_side, f_side
    s = -1 if g < 0 else 1
    x = abs(Fraction(f_side)) * vat["rate"]
    if vat["included"]:
        x = x / (1 + vat["rate"])
    t = s * round_mode(x, rounding)
    p = f_side if vat["included"] else f_side + t
    return t, p, p - t


def _vat_spec_problems(cfg, spec, prefix, reserved):
    if _is_vat_none(spec):
        return []
    if not isinstance(spec, dict):
        return ["%svat must be a map or none" % prefix]
    out = ["%svat: unknown key '%s'" % (prefix, k) for k in spec if k not in VAT_KEYS]
    if "rate" not in spec:
        out.append("%svat: rate is required" % prefix)
    elif not 0 <= rate(spec["rate"]) <= 1:
        out.append("%svat: rate %s is outside [0, 1]" % (prefix, spec["rate"]))
    if "included" in spec and _bool_of(spec["included"]) is None:
        out.append("%svat: included must be true or false" % prefix)
    account = spec.get("account", settle_accounts(cfg)["vat"])
    if account in reserved:
        out.append("%svat account '%s' is %s" % (prefix, account, reserved[account]))
    return out


def vat_config_problems(cfg):
    """[message] of the config errors §10.8 adds (exit 2; §10.8.4), in
    config order (the top-level `vat` first, then each rule, a rule's
    messages starting "rule 'ID': "):
      * a rule whose when.from is not before its when.until (R8: both given);
      * a `vat` (top level or rule) that is neither a map nor `none`, a map
        without `rate` (so `included` or `account` without `rate`), with an
        unknown key, a rate outside [0, 1], an `included` that is no boolean;
      * a VAT account (given, or accounts.vat by default) equal to
        accounts.fee_income, accounts.clearing, accounts.producer_payable or
        the account of any rule's fee fund (R7).
    Reading (R2): a top-level `vat: none` is no error (no default)."""
    acc = settle_accounts(cfg)
    reserved = {}
    for fund in fee_fund_accounts(cfg):
        reserved[fund] = "a fund account"
    for key in ("producer_payable", "clearing", "fee_income"):
        reserved[acc[key]] = "accounts.%s" % key
    out = []
    if "vat" in cfg:
        out += _vat_spec_problems(cfg, cfg["vat"], "", reserved)
    for r in cfg["fees"]:
        prefix = "rule '%s': " % r["id"]
        w = r.get("when", {})
        if "from" in w and "until" in w and as_day(w["from"]) >= as_day(w["until"]):
            out.append("%swhen.from %s is not before when.until %s"
                       % (prefix, as_day(w["from"]), as_day(w["until"])))
        if "vat" in r:
            out += _vat_spec_problems(cfg, r["vat"], prefix, reserved)
    return out


def settle_v2(cfg, memberships, rows, line_numbers=False):
    """Settles the transactions `rows` (those the run reads: see
    rows_in_window) with a version 2 config: §4, §5 with §10.1, the fee
    funds of §10.3 / §10.7.9 and the dated rules and VAT of §10.8.

    Each transaction's local day is taken in cfg['timezone']; producer_member,
    consumer_member and the rules' from/until are evaluated on it (a guest
    is never a member); rules are tried in config order, the first match
    wins (matching_rule). Invalid rows are rejected with their reason (§4);
    the caller decides what on_invalid does with them.

    Per transaction, §5 steps 1-4 give f_p, f_c; the rule's VAT (vat_of)
    gives t, p, n per side (vat_split); funds split the net fee n_side
    (fee_fund_split); the lines are (R5):
      1 clearing +(g + p_c) consumer; 2 payable -(g - p_p) producer;
      3, 4 income:fees -(n_p - funds of n_p) producer, -(n_c - funds of n_c)
      consumer; 5, 6 (a config with vat only) -t_p producer, -t_c consumer
      on the rule's VAT account; then the fund lines, producer side first,
      funds in config order; lines of 0 left out. They sum to 0.

    Returns (currencies, parties, lines, rejected), each new:
      currencies {code: {transactions, gross_minor, fees_minor,
                  fees_producer_minor, fees_consumer_minor}} for every
                  configured currency, the fees net of VAT; when any rule
                  has `funds`, also fee_income_minor (the income:fees part)
                  and funds {ACCOUNT: minor} (§10.7.9; see fee_fund_split);
                  when has_vat(cfg), also vat_minor (both sides, guests
                  included), and with two or more vat_accounts(cfg) also
                  vat {ACCOUNT: minor} (R4);
      parties    [{id, side, currency, member, transactions, gross_minor,
                  fees_minor}] (fees_minor the net fee the side bore; with
                  has_vat(cfg) also vat_minor) sorted by side (producer
                  first), id, currency, member (false before true): the
                  --json list;
      lines      [(transaction id, account, party or None, currency,
                  amount, posted_on)] in canonical transaction order, each
                  transaction's lines in slot order, posted_on the
                  transaction's local day (§10.5); with line_numbers, each
                  line ends with its slot number (R5) as a 7th element;
      rejected   [{id, reason}] in canonical order.
    Raises ConfigError(vat_config_problems) and InvalidInput('membership',
    ids) when a membership row is invalid.
    """
    problems = vat_config_problems(cfg)
    if problems:
        raise ConfigError(problems)
    check_memberships(memberships)
    zone = zone_of(cfg)
    rounding = cfg.get("rounding", "half_even")
    accounts = settle_accounts(cfg)
    fund_accounts = fee_fund_accounts(cfg)
    with_vat = has_vat(cfg)
    vat_map = vat_accounts(cfg) if with_vat else []
    currencies = {c: dict(transactions=0, gross_minor=0, fees_minor=0,
                          fees_producer_minor=0, fees_consumer_minor=0)
                  for c in cfg["currencies"]}
    for c in currencies.values():
        if fund_accounts:
            c["fee_income_minor"] = 0
            c["funds"] = {a: 0 for a in fund_accounts}
        if with_vat:
            c["vat_minor"] = 0
            if len(vat_map) > 1:
                c["vat"] = {a: 0 for a in vat_map}
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
        rule = next((r for r in cfg["fees"] if rule_matches_v2(r, cfg, t, pm, cm, day)), None)
        if rule is None:
            rejected.append({"id": t["id"], "reason": "no fee rule matches"})
            continue
        g = t["amount"]
        _, fp, fc = fee(rule, cfg, t)
        vat = vat_of(cfg, rule)
        tp, pp, np_ = vat_split(fp, g, vat, rounding)
        tc, pc, nc = vat_split(fc, g, vat, rounding)
        c = currencies[t["currency"]]
        c["transactions"] += 1
        c["gross_minor"] += g
        c["fees_minor"] += np_ + nc
        c["fees_producer_minor"] += np_
        c["fees_consumer_minor"] += nc
        if with_vat:
            c["vat_minor"] += tp + tc
            if "vat" in c and vat is not None:
                c["vat"][vat["account"]] += tp + tc
        for side, pid, was_member, n_side, t_side in (
                ("producer", t["producer"], pm, np_, tp),
                ("consumer", t.get("consumer"), cm, nc, tc)):
            if pid is None:
                continue  # a guest counts in the currency totals only
            p = parties.setdefault((side, pid, t["currency"], was_member),
                                   dict(transactions=0, gross_minor=0, fees_minor=0))
            p["transactions"] += 1
            p["gross_minor"] += g
            p["fees_minor"] += n_side
            if with_vat:
                p["vat_minor"] = p.get("vat_minor", 0) + t_side
        funds = rule.get("funds", [])
        fund_p, income_p = fee_fund_split(np_, funds)
        fund_c, income_c = fee_fund_split(nc, funds)
        if fund_accounts:
            c["fee_income_minor"] += income_p + income_c
            for (acct, part) in fund_p + fund_c:
                c["funds"][acct] += part
        slots = [(accounts["clearing"], t.get("consumer"), g + pc),
                 (accounts["producer_payable"], t["producer"], -(g - pp)),
                 (accounts["fee_income"], t["producer"], -income_p),
                 (accounts["fee_income"], t.get("consumer"), -income_c)]
        if with_vat:
            vat_account = vat["account"] if vat is not None else None
            slots += [(vat_account, t["producer"], -tp),
                      (vat_account, t.get("consumer"), -tc)]
        slots += [(acct, t["producer"], -part) for acct, part in fund_p]
        slots += [(acct, t.get("consumer"), -part) for acct, part in fund_c]
        assert sum(amt for _, _, amt in slots) == 0, "transaction %s does not balance" % t["id"]
        for no, (acct, party, amt) in enumerate(slots, 1):
            if amt != 0:
                line = (t["id"], acct, party, t["currency"], amt, day)
                lines.append(line + (no,) if line_numbers else line)
    return currencies, party_list(parties), lines, rejected


# ---- settle before §10.8, kept for comparison --------------------------------

def _no_v2_extras(cfg):
    for r in cfg["fees"]:
        if "vat" in r:
            raise NotImplementedError("fee rule key 'vat' (spec §10.8)")
        for k in ("from", "until"):
            if k in r.get("when", {}):
                raise NotImplementedError("dated fee rules (spec §10.8)")
    if "vat" in cfg:
        raise NotImplementedError("vat (spec §10.8)")


def settle_v2_before_vat(cfg, memberships, rows):
    """settle_v2 as it was before §10.8 (dated rules and VAT), kept
    unchanged as the code path a version 2 config without `vat` must still
    follow (§10.8.6): test_reference_vat compares settle_v2 with it. It
    raises NotImplementedError for a config with `vat` or dated rules.

    Settles the transactions `rows` (those the run reads: see
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
    summed, equals the month settled as a whole. Every amount key a party
    carries is summed (transactions, gross_minor, fees_minor, and
    vat_minor in a config with VAT). Returns a new list."""
    totals = {}
    for plist in party_lists:
        for p in plist:
            t = totals.setdefault((p["side"], p["id"], p["currency"], p["member"]), {})
            for k, v in p.items():
                if k not in ("id", "side", "currency", "member"):
                    t[k] = t.get(k, 0) + v
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


def sum_settles(*results):
    """Several settle_v2 results (e.g. the days of a month, each settled as
    its own window) added up as one (currencies, parties, lines, rejected),
    to compare with the result of the whole window:
      currencies  sum_currencies of theirs: every amount, the `funds` and
                  `vat` maps per account, vat_minor included;
      parties     sum_parties of theirs (vat_minor included);
      lines       all their lines, stably sorted by transaction id: the
                  order settle_v2 gives the whole window, where the lines
                  of one transaction keep their slot order (R5);
      rejected    all their rejects, stably sorted by id (None first).
    A duplicate id whose rows fall on two days is rejected in the whole
    window but settled in each day: the caller leaves such data out when
    it compares. Returns new lists and dicts."""
    currencies = sum_currencies(*[r[0] for r in results])
    parties = sum_parties(*[r[1] for r in results])
    lines = sorted((ln for r in results for ln in r[2]), key=lambda ln: _id_order(ln[0]))
    rejected = sorted((x for r in results for x in r[3]), key=lambda x: _id_order(x["id"]))
    return currencies, parties, lines, rejected


def transaction_balance_problems(lines):
    """[message] for every transaction whose settle lines (settle_v2's,
    with or without line numbers) do not sum to 0, or are posted on more
    than one day, in transaction order; [] when all balance."""
    by_tx = {}
    for ln in lines:
        s = by_tx.setdefault((ln[0], ln[3]), [0, set()])
        s[0] += ln[4]
        s[1].add(ln[5])
    bad = []
    for (tid, cur), (total, days) in sorted(by_tx.items(), key=lambda kv: _id_order(kv[0][0])):
        if total != 0:
            bad.append("transaction %s (%s): lines sum to %d" % (tid, cur, total))
        if len(days) != 1:
            bad.append("transaction %s (%s): posted on %d days" % (tid, cur, len(days)))
    return bad


def settle_vat_problems(cfg, currencies, parties, lines):
    """[message] when a settle result's VAT figures disagree with its lines
    (§10.8, §10.8.3); [] when they agree:
      * a config without `vat` (§10.8.6) has no vat_minor or vat anywhere;
      * with it, per currency: vat_minor = minus the sum of the lines on
        the VAT accounts, the `vat` map (when there) per account likewise
        and summing to vat_minor; fees_minor = fees_producer_minor +
        fees_consumer_minor;
      * per (party id, currency): the vat_minor of its party totals (both
        sides, member or not) = minus its VAT lines (a guest's VAT lines
        are in the currency totals only)."""
    bad = []
    vat_accts = set(vat_accounts(cfg)) if has_vat(cfg) else set()
    for cur, v in currencies.items():
        if v["fees_minor"] != v["fees_producer_minor"] + v["fees_consumer_minor"]:
            bad.append("%s: fees_minor is not producers' plus consumers'" % cur)
    if not has_vat(cfg):
        if any("vat_minor" in v or "vat" in v for v in currencies.values()) or \
                any("vat_minor" in p for p in parties):
            bad.append("a config without vat shows vat fields")
        return bad
    by_cur, by_acct, by_party = {}, {}, {}
    for ln in lines:
        if ln[1] in vat_accts:
            by_cur[ln[3]] = by_cur.get(ln[3], 0) - ln[4]
            by_acct[(ln[3], ln[1])] = by_acct.get((ln[3], ln[1]), 0) - ln[4]
            if ln[2] is not None:
                by_party[(ln[2], ln[3])] = by_party.get((ln[2], ln[3]), 0) - ln[4]
    for cur, v in currencies.items():
        if v.get("vat_minor") != by_cur.get(cur, 0):
            bad.append("%s: vat_minor %r, VAT lines %d" % (cur, v.get("vat_minor"),
                                                           by_cur.get(cur, 0)))
        if "vat" in v:
            for a, x in v["vat"].items():
                if x != by_acct.get((cur, a), 0):
                    bad.append("%s: vat of %s is %d, its lines %d"
                               % (cur, a, x, by_acct.get((cur, a), 0)))
            if sum(v["vat"].values()) != v["vat_minor"]:
                bad.append("%s: the vat map does not sum to vat_minor" % cur)
    totals = {}
    for p in parties:
        if "vat_minor" not in p:
            bad.append("party %s %s: no vat_minor" % (p["side"], p["id"]))
            continue
        totals[(p["id"], p["currency"])] = totals.get((p["id"], p["currency"]), 0) + \
            p["vat_minor"]
    for k in sorted(set(totals) | set(by_party), key=lambda k: (_id_order(k[0]), k[1])):
        if totals.get(k, 0) != by_party.get(k, 0):
            bad.append("party %s %s: vat_minor %d, VAT lines %d"
                       % (k[0], k[1], totals.get(k, 0), by_party.get(k, 0)))
    return bad


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


def capital_interest_weights(step, memberships, movements, retained, days, with_retained=True,
                             zone=None):
    """{member id: i_m} for a capital_interest step, exact; members with
    i_m > 0 only. basis daily_balance (default): i_m = rate *
    daily_balance_sum / 365. basis opening_balance: see
    opening_balance_weights (zone is needed for its Y)."""
    basis = step.get("basis", "daily_balance")
    if basis == "opening_balance":
        return opening_balance_weights(step, memberships, movements, retained, days, zone,
                                       with_retained)
    assert basis == "daily_balance", basis
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
    the config has fee funds, §10.3), else fees_minor; net of VAT either
    way (§10.8.3: fee_income for §6 is the net fee income)."""
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
                  window_from, window_to, history=None, settled=None):
    """A version 2 distribute run of [window_from, window_to).

    Two views of one run (see distribute_law for the law of §10.3):
      * the config has no key of §10.3 and history is None: the run as the
        engine prints it before §10.3 (the keys listed below; §6's S <= 0
        case: every step 0). This is the code below, kept as it was, so
        that distribute_law can be compared with it (test_reference_law).
      * otherwise: distribute_law(cfg, memberships, parties, fee_income,
        costs, movements, history or [], window_from, window_to, settled,
        retained), returning its (currencies, members), in the shape of
        §10's --json (loss keys, withheld_minor, ...).

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
    if history is not None or uses_law(cfg):
        r = distribute_law(cfg, memberships, parties, fee_income, costs, movements,
                           history or [], window_from, window_to, settled, retained)
        return r["currencies"], r["members"]
    check_memberships(memberships)
    sp = cfg["surplus"]
    zone = zone_of(cfg)
    days = local_days(zone, window_from, window_to)
    with_retained = retained_is_capital(cfg)
    rounding = cfg.get("rounding", "half_even")
    steps = sp["steps"]
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


# =============================================================================
# Config version 2: cooperative law -- balances the engine keeps (§10.2),
# losses, reserves with targets, the tax cap, interest bases, withholding,
# blocked_by_loss, the qualified notice (§10.3) and §10.7.1-11, written from
# the spec alone (no engine source read). One window is distribute_law; a
# sequence of windows is distribute_years, each window given the model's own
# results of the windows before it (its "history").
#
# A history entry (what distribute_law returns; one built by hand needs
# only these keys):
#   window   (from, to): the run's window, instants (aware, naive or ISO)
#   lines    [(step id or None, account, party or None, currency, amount,
#            posted_on)]: only account, currency and amount are read
#   members  [{id, currency, retained_minor, ...}]: retained patronage,
#            capital from the end of the run's last local day (§10.7.7)
#   last_day optional: the run's last local day (else taken from window)
#
# The readings where the spec leaves room are written at the function they
# concern, each marked "Reading:".
# =============================================================================

LAW_ACCOUNTS = {"fee_income": "income:fees",
                "surplus": "equity:surplus",
                "retained_surplus": "equity:reserves:free",
                "capital_interest": "liabilities:capital-interest",
                "patronage_cash": "liabilities:patronage",
                "patronage_retained": "equity:member-capital",
                "withholding": "liabilities:withholding-tax",
                "loss_carried_forward": "equity:loss-carried-forward"}
CARRY_FORWARD = "carry_forward"
LAW_SURPLUS_KEYS = ("opening", "loss_cover", "total_assets")
LAW_STEP_KEYS = ("until", "blocked_by_loss", "withholding", "cap", "cap_basis", "notice",
                 "payment_due")
NOTICE_CASH_FRACTION_MIN = Fraction(1, 5)   # 20%, §10.3 (26 USC §1388(c))
NOTICE_DUE_MAX = {"months": 8, "days": 15}  # §10.7.11 (26 USC §1382(d))


class ConfigError(Exception):
    """A config error (the engine's exit 2). problems: [message]."""

    def __init__(self, problems):
        super().__init__("; ".join(problems))
        self.problems = list(problems)


class WindowConflict(Exception):
    """A conflict with committed runs (the engine's exit 4): a committed
    distribute window ends after the new window's start (§10.7.3)."""


def law_accounts(cfg):
    """The account names of a config: LAW_ACCOUNTS with cfg['accounts']."""
    acc = dict(LAW_ACCOUNTS)
    acc.update({k: v for k, v in cfg.get("accounts", {}).items() if k in acc})
    return acc


def _true(v):
    return v is True or v == "true"


def uses_law(cfg):
    """Whether a config has a distribute key of §10.3 (then distribute_v2
    answers in the shape of §10's --json)."""
    sp = cfg.get("surplus", {})
    if any(k in sp for k in LAW_SURPLUS_KEYS):
        return True
    for st in sp.get("steps", []):
        if any(k in st for k in LAW_STEP_KEYS):
            return True
        if st.get("basis") == "opening_balance":
            return True
    return False


# ---- dates (§10.7.6, §10.7.11) -----------------------------------------------

def add_months(day, months):
    """day + months, the day of the month clamped to the month's last day
    (§10.7.11: 2026-08-31 + 6 months = 2027-02-28)."""
    day = as_day(day)
    m0 = day.month - 1 + months
    y, m = day.year + m0 // 12, m0 % 12 + 1
    last = (date(y + (m == 12), m % 12 + 1, 1) - timedelta(days=1)).day
    return date(y, m, min(day.day, last))


def payment_due_date(last_day, payment_due):
    """§10.7.11: the window's last local day + months (clamped) + days.
    Reading: a missing `months` or `days` is 0."""
    return add_months(last_day, int(payment_due.get("months", 0))) + \
        timedelta(days=int(payment_due.get("days", 0)))


_DUE_CACHE = {}


def _due_too_late(months, days):
    """The first last day L (in a whole 400-year Gregorian cycle, so every
    calendar case) with L + months + days > L + 8 months + 15 days, or None."""
    key = (months, days)
    if key not in _DUE_CACHE:
        found = None
        L, end = date(2000, 1, 1), date(2400, 1, 1)
        one = timedelta(days=1)
        while L < end:
            if payment_due_date(L, {"months": months, "days": days}) > \
                    payment_due_date(L, NOTICE_DUE_MAX):
                found = L
                break
            L += one
        _DUE_CACHE[key] = found
    return _DUE_CACHE[key]


def payment_due_problem(step):
    """The config problem of a patronage step's qualified notice (§10.3,
    §10.7.11), or None: cash_fraction below 20%; no payment_due; a due date
    after the last day + 8 months (clamped) + 15 days for some last day.

    Reading: "for any last day" is checked over every date of a 400-year
    cycle (the calendar repeats after it), so {months: 7, days: 44} is
    refused (a last day of 2001-07-15 gives 2002-02-15 + 44 days =
    2002-03-31, after 2002-03-15 + 15 = 2002-03-30) though it is shorter
    than 8 months + 15 days for most last days. Negative months or days
    are refused (a due date before the last day is no payment period)."""
    if "notice" not in step:
        return None
    if step["notice"] != "qualified":
        return "step '%s': notice must be 'qualified'" % step["id"]
    if rate(step.get("cash_fraction", "1")) < NOTICE_CASH_FRACTION_MIN:
        return "step '%s': cash_fraction is below 20%% with notice: qualified" % step["id"]
    pd = step.get("payment_due")
    if pd is None:
        return "step '%s': payment_due is required with notice: qualified" % step["id"]
    months, days = int(pd.get("months", 0)), int(pd.get("days", 0))
    if months < 0 or days < 0:
        return "step '%s': payment_due must not be negative" % step["id"]
    late = _due_too_late(months, days)
    if late is not None:
        return ("step '%s': payment due %s is after the last day + 8 months + 15 days "
                "(last day %s: due %s, latest %s)"
                % (step["id"], pd, late, payment_due_date(late, pd),
                   payment_due_date(late, NOTICE_DUE_MAX)))
    return None


# ---- config checks (§10.3, §10.7.2, §10.7.5, §10.7.9, §10.7.11) ---------------

def law_config_problems(cfg):
    """[message] of the config errors (exit 2) that §10.3 and §10.7 add.

    Reading: "Every loss_cover entry must be named in balances" holds with
    or without `opening` (§10.3 calls them "accounts with an opening
    balance"): loss_cover naming an account while the config has no
    `opening` is an error. A currency missing from an account's balances
    is an opening amount of 0. `carry_forward` anywhere but last, and an
    account listed twice, are errors."""
    problems = []
    curs = cfg["currencies"]
    acc = law_accounts(cfg)
    sp = cfg.get("surplus", {})
    opening = sp.get("opening")
    named = set()
    if opening is not None:
        if "as_of" not in opening:
            problems.append("surplus.opening: as_of is required")
        for acct, by_cur in opening.get("balances", {}).items():
            named.add(acct)
            for cur, m in by_cur.items():
                if cur not in curs:
                    problems.append("surplus.opening: currency '%s' is not configured" % cur)
                elif money_minor(m, curs[cur]) < 0:
                    problems.append("surplus.opening: balance of '%s' in %s is negative"
                                    % (acct, cur))
    lc = sp.get("loss_cover", [])
    for i, a in enumerate(lc):
        if a == CARRY_FORWARD:
            if i != len(lc) - 1:
                problems.append("surplus.loss_cover: carry_forward must be last")
        elif a not in named:
            problems.append("surplus.loss_cover: '%s' is not named in surplus.opening.balances"
                            % a)
        if a in lc[:i]:
            problems.append("surplus.loss_cover: '%s' is listed twice" % a)
    needs_assets = False
    for st in sp.get("steps", []):
        u = st.get("until")
        if u is not None and "share_of_total_assets" in u:
            needs_assets = True
        if st["type"] == "patronage":
            pr = payment_due_problem(st)
            if pr:
                problems.append(pr)
    if needs_assets:
        missing = [c for c in sorted(curs) if c not in sp.get("total_assets", {})]
        if missing:
            problems.append("surplus.total_assets must name every currency (missing %s)"
                            % ", ".join(missing))
    for r in cfg.get("fees", []):
        funds = r.get("funds", [])
        if funds and sum(rate(fd["share"]) for fd in funds) >= 1:
            problems.append("rule '%s': fund shares sum to 1 or more" % r["id"])
        for fd in funds:
            if fd["account"] == acc["fee_income"]:
                problems.append("rule '%s': fund account is accounts.fee_income" % r["id"])
    return problems


# ---- balances at window start (§10.2, §10.7.2, §10.7.3) -----------------------

def _window_of(run, zone):
    return tuple(as_instant(x, zone) for x in run["window"])


def _last_day_of(run, zone):
    if run.get("last_day") is not None:
        return as_day(run["last_day"])
    return local_days(zone, *_window_of(run, zone))[-1]


def feeding_runs(cfg, history, window_from):
    """The history entries that feed the balances of a window starting at
    window_from (§10.7.2): windows that start on or after local midnight of
    opening.as_of (every run without `opening`) and end on or before
    window_from. Raises WindowConflict when a run ends after window_from
    (§10.7.3: the caller passes the committed runs only, so a run being
    superseded is not in history)."""
    zone = zone_of(cfg)
    wf = as_instant(window_from, zone)
    opening = cfg.get("surplus", {}).get("opening")
    start = day_start(zone, opening["as_of"]) if opening else None
    out = []
    for run in history:
        rf, rt = _window_of(run, zone)
        if rt > wf:
            raise WindowConflict("committed distribute window [%s, %s) ends after %s"
                                 % (rf, rt, wf))
        if start is None or rf >= start:
            out.append(run)
    return out


def balances_at(cfg, history, window_from):
    """{(account, currency): balance} at the start of the window, each the
    account's normal balance (§10.2, §10.7.2): a credit balance = opening
    amount minus the sum of the amounts posted to it (credits negative) by
    the feeding runs; the loss account's a debit balance = opening amount
    plus the sum posted.

    Reading: an account not named in `opening` (a target account, say)
    starts at 0 at as_of and is fed the same way; with an `opening`, runs
    that start before as_of feed nothing even if they end after it."""
    acc = law_accounts(cfg)
    loss = acc["loss_carried_forward"]
    bal = {}
    opening = cfg.get("surplus", {}).get("opening")
    if opening:
        for acct, by_cur in opening.get("balances", {}).items():
            for cur, m in by_cur.items():
                bal[(acct, cur)] = money_minor(m, cfg["currencies"][cur])
    for run in feeding_runs(cfg, history, window_from):
        for line in run["lines"]:
            acct, cur, amt = line[1], line[3], line[4]
            bal[(acct, cur)] = bal.get((acct, cur), 0) + (amt if acct == loss else -amt)
    return bal


def retained_from_history(cfg, history):
    """[(member, last_day, retained_minor)] of the base currency from every
    history entry (§10.2, §10.7.7), for capital_at_end_of.

    Reading: capital is not an opening balance, so every committed run
    counts here, also one before opening.as_of."""
    zone = zone_of(cfg)
    out = []
    for run in history:
        last = _last_day_of(run, zone)
        out += [(m["id"], last, m["retained_minor"]) for m in run["members"]
                if m["currency"] == cfg["currency"] and m.get("retained_minor", 0) != 0]
    return out


# ---- capital interest bases (§10.3, §10.7.6) ----------------------------------

def year_days(zone, first_day):
    """Y of §10.7.6: the local days of the twelve months starting on
    first_day, [first_day, first_day + 12 months).

    Reading: "+ 12 months" clamps the day as §10.7.11 does, so the twelve
    months from 2028-02-29 end before 2029-02-28 (Y = 365); a skipped day
    (Pacific/Apia 2011-12-30) is no day."""
    zone = zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)
    first_day = as_day(first_day)
    return len(local_days(zone, *days_window(zone, first_day, add_months(first_day, 12))))


def opening_capital(movements, retained, member, first_day, with_retained=True):
    """C of §10.7.6: the capital at the end of the day before first_day."""
    return capital_at_end_of(movements, retained, member, as_day(first_day) - timedelta(days=1),
                             with_retained)


def opening_balance_weights(step, memberships, movements, retained, days, zone,
                            with_retained=True):
    """{member: i_m} for basis opening_balance (§10.7.6): i_m = rate * C *
    d / Y for every member of any class on the window's first day with
    C > 0; d = len(days), Y = year_days(zone, days[0]). Membership after
    the first day does not matter (GenG §21a: interest on the opening
    balance of the year)."""
    first = as_day(days[0])
    d, Y = len(days), year_days(zone, first)
    w = {}
    for mid in member_ids(memberships):
        if is_member_of_any(memberships, mid, first):
            C = opening_capital(movements, retained, mid, first, with_retained)
            if C > 0:
                w[mid] = rate(step["rate"]) * C * d / Y
    return w


def opening_capital_problems(memberships, movements, retained, days, with_retained=True):
    """[(member, day)] as capital_problems, for basis opening_balance: NULL
    columns first; else every member of any class on the first day whose C
    is below 0 (named with the day whose end C is)."""
    ids = member_ids(memberships)
    out = [(m, None) for (m, b, a) in movements
           if (m is None or m in ids) and (m is None or b is None or a is None)]
    if out:
        return out
    first = as_day(days[0])
    for mid in ids:
        if is_member_of_any(memberships, mid, first) and \
                opening_capital(movements, retained, mid, first, with_retained) < 0:
            out.append((mid, first))
    return out


def _check_capital(steps, memberships, movements, retained, days, with_retained):
    """InvalidInput('capital', ids) when the capital a capital_interest step
    reads is invalid, whatever S is (as distribute_v2)."""
    bad = []
    for st in steps:
        if st["type"] != "capital_interest":
            continue
        if st.get("basis", "daily_balance") == "opening_balance":
            found = opening_capital_problems(memberships, movements, retained, days,
                                             with_retained)
        else:
            found = capital_problems(memberships, movements, retained, days, with_retained)
        bad += [x for x in found if x not in bad]
    if bad:
        raise InvalidInput("capital", sorted({m for m, _ in bad}, key=_id_order),
                           [(m, "a column is null" if d is None else
                             "capital below 0 at the end of %s" % (d - timedelta(days=1)))
                            for m, d in bad])


# ---- targets and the KStG cap (§10.3, §10.7.5, §10.7.8) ------------------------

def account_target(cfg, step, cur):
    """The target balance of an account step in currency cur, or None (no
    `until`, or a currency missing from its amount map: no target)."""
    u = step.get("until")
    if u is None:
        return None
    exp = cfg["currencies"][cur]
    if "share_of_total_assets" in u:
        ta = money_minor(cfg["surplus"]["total_assets"][cur], exp)
        return math.floor(rate(u["share_of_total_assets"]) * ta)
    return money_minor(u[cur], exp) if cur in u else None


def member_business(parties, cur, cap_basis):
    """M of §10.3/§10.7.8: the sides whose party was a member of that
    side's class on the transaction's day -- the party totals with member
    = true, both sides -- summed: fees_minor (the whole fee a side bore,
    fund parts included, net of VAT, §10.8.3) for cap_basis fees,
    gross_minor for volume."""
    key = "gross_minor" if cap_basis == "volume" else "fees_minor"
    return sum(p[key] for p in parties if p["member"] and p["currency"] == cur)


def window_business(settled, cur, cap_basis):
    """T of §10.3/§10.7.8 from the currency totals of the settle runs of
    the window (sum_currencies of their --json currencies): fees_minor, all
    fees borne (both sides, guests included, fund parts included, net of
    VAT, §10.8.3); for
    volume every transaction has two sides, 2 * gross_minor."""
    v = settled.get(cur, {})
    if cap_basis == "volume":
        return 2 * v.get("gross_minor", 0)
    return v.get("fees_minor", 0)


def kstg_cap(S1, M, T):
    """The pool limit of cap: member_business: floor(S' * M / T); 0 when
    T <= 0 or M <= 0."""
    if T <= 0 or M <= 0:
        return 0
    return math.floor(Fraction(S1) * M / T)


# ---- distribute (§6, §10.2, §10.3, §10.7.1-11) --------------------------------

def distribute_law(cfg, memberships, parties, fee_income, costs, movements, history,
                   window_from, window_to, settled=None, retained=()):
    """A version 2 distribute run of [window_from, window_to) with the law
    of §10.3, after the committed runs in `history` (a list of history
    entries, see above; distribute_law's own results qualify).

    memberships, parties, fee_income, costs, movements: as distribute_v2
    (fee_income from fee_income_of, the income:fees part); settled: the
    summed currency totals of the window's settle runs (needed only by
    cap: member_business, for T); retained: further [(member, last_day,
    retained_minor)] besides those of history (as distribute_v2's).

    Per currency, with balances at window start (balances_at) and L0 the
    loss account's balance:
      S = fee_income - costs; c = min(max(S, 0), L0); S' = S - c.
      S < 0 (a loss year, §10.7.1): L = -S; each loss_cover account in
        list order gives min(remaining L, max(0, its balance)); the rest
        is carried forward. No step runs; steps [], retained 0.
      S >= 0: the waterfall of §6 with A = S' and every share, cap_share
        and the cap of S': account steps amt = min(A, round(X * S'),
        room) (remaining: min(A, room)), room = max(0, target - b), b the
        balance at window start plus what earlier steps of this run
        credited to that account (§10.7.5); capital_interest amt =
        floor(min(sum i_m, A, cap_share * S')), 0 when blocked_by_loss and
        L0 of the base currency > 0; I_m by LR, w_m = floor(I_m *
        withholding); patronage P = min(pool, kstg_cap) with cap:
        member_business, payment_due on the step with notice: qualified.
      S = 0: that waterfall gives every step 0 and writes no line.

    Returns a dict (a history entry for the next window):
      window      (from, to) as aware instants; first_day, last_day
      currencies  {code: {fee_income_minor, costs_minor, surplus_minor,
                  loss_carried_in_minor, loss_covered_minor,
                  distributable_minor, loss_cover: [{account,
                  amount_minor}], loss_carried_out_minor, steps: [{id,
                  amount_minor[, cap_minor][, payment_due]}],
                  retained_surplus_minor}} (the --json shape of §10)
      members     [{id, currency, capital_interest_minor (gross),
                  withheld_minor, capital_interest_net_minor,
                  patronage_minor, cash_minor, retained_minor}] sorted by
                  id, currency; rows with every amount 0 left out
      lines       [(step id or None, account, party or None, currency,
                  amount, posted_on)] in the order written (distribute_lines)
      balances    {(account, currency): balance at window start}
      detail      {currency: {"steps": [{id, amount, target, b_before,
                  room}], "cover_balances": {account: balance}}} for
                  law_invariant_problems
    Raises ConfigError (law_config_problems, or a window starting before
    opening.as_of), WindowConflict (§10.7.3), InvalidInput as distribute_v2.
    """
    problems = law_config_problems(cfg)
    if problems:
        raise ConfigError(problems)
    check_memberships(memberships)
    zone = zone_of(cfg)
    wf, wt = as_instant(window_from, zone), as_instant(window_to, zone)
    days = local_days(zone, wf, wt)
    sp = cfg["surplus"]
    opening = sp.get("opening")
    if opening and wf < day_start(zone, opening["as_of"]):
        raise ConfigError(["window starts before surplus.opening.as_of %s" % opening["as_of"]])
    balances = balances_at(cfg, history, wf)
    with_retained = retained_is_capital(cfg)
    retained_all = list(retained) + retained_from_history(cfg, history)
    _check_capital(sp["steps"], memberships, movements, retained_all, days, with_retained)
    acc = law_accounts(cfg)
    ctx = {"cfg": cfg, "zone": zone, "days": days, "acc": acc, "balances": balances,
           "memberships": memberships, "movements": movements, "retained": retained_all,
           "with_retained": with_retained, "parties": parties, "settled": settled,
           "bases": patronage_bases_v2(parties), "ids": member_ids(memberships),
           "L0_base": balances.get((acc["loss_carried_forward"], cfg["currency"]), 0)}
    out_cur, allocs, detail, lines = {}, {}, {}, []
    for cur in sorted(cfg["currencies"]):
        S = fee_income.get(cur, 0) - costs.get(cur, 0)
        L0 = balances.get((acc["loss_carried_forward"], cur), 0)
        entry = {"fee_income_minor": fee_income.get(cur, 0), "costs_minor": costs.get(cur, 0),
                 "surplus_minor": S, "loss_carried_in_minor": L0}
        if S < 0:
            entry.update(_loss_year(ctx, cur, S, L0, detail))
            parts = {}
        else:
            figures, parts = _profit_year(ctx, cur, S, L0, detail)
            entry.update(figures)
        out_cur[cur] = entry
        lines += distribute_lines(ctx, cur, entry, parts, days[-1])
        for mid, plist in parts.items():
            a = allocs.setdefault((mid, cur), [0, 0, 0, 0])
            for (_, _, kind, amt) in plist:
                a[kind] += amt
    members = []
    for (mid, cur), a in sorted(allocs.items()):
        gross = a[0] + a[1]
        if any(a):
            members.append({"id": mid, "currency": cur, "capital_interest_minor": gross,
                            "withheld_minor": a[1], "capital_interest_net_minor": a[0],
                            "patronage_minor": a[2] + a[3], "cash_minor": a[2],
                            "retained_minor": a[3]})
    return {"window": (wf, wt), "first_day": days[0], "last_day": days[-1],
            "currencies": out_cur, "members": members, "lines": lines,
            "balances": balances, "detail": detail}


# kinds of a member's part, the index into distribute_law's per-member sums
_NET, _WITHHELD, _CASH, _RETAINED = 0, 1, 2, 3


def _loss_year(ctx, cur, S, L0, detail):
    """The figures of a loss year (§10.3, §10.7.1)."""
    L = -S
    covers, cover_bal = [], {}
    for acct in ctx["cfg"]["surplus"].get("loss_cover", []):
        if acct == CARRY_FORWARD:
            continue
        b = ctx["balances"].get((acct, cur), 0)
        cover_bal[acct] = b
        give = min(L, max(0, b))
        if give > 0:
            covers.append({"account": acct, "amount_minor": give})
            L -= give
    detail[cur] = {"steps": [], "cover_balances": cover_bal}
    return {"loss_covered_minor": 0, "distributable_minor": S, "loss_cover": covers,
            "loss_carried_out_minor": L0 + L, "steps": [], "retained_surplus_minor": 0}


def _profit_year(ctx, cur, S, L0, detail):
    """The figures of a year with S >= 0, and {member: [(kind order, step
    index, kind, amount)]} of its allocations."""
    cfg = ctx["cfg"]
    c = min(S, max(0, L0))
    S1 = S - c
    A = S1
    credited = {}  # account -> credited by the earlier steps of this run
    steps_out, steps_detail, parts = [], [], {}
    for idx, st in enumerate(cfg["surplus"]["steps"]):
        sd = {"id": st["id"], "target": None, "b_before": None, "room": None}
        out = {"id": st["id"]}
        if st["type"] == "capital_interest":
            amt = _interest_step(ctx, st, idx, cur, S1, A, parts, credited)
        elif st["type"] == "account":
            amt = _account_step(ctx, st, cur, S1, A, credited, sd)
        else:
            amt = _patronage_step(ctx, st, idx, cur, S1, A, parts, credited, out)
        A -= amt
        out["amount_minor"] = amt
        sd["amount"] = amt
        steps_out.append(out)
        steps_detail.append(sd)
    detail[cur] = {"steps": steps_detail, "cover_balances": {}}
    return ({"loss_covered_minor": c, "distributable_minor": S1, "loss_cover": [],
             "loss_carried_out_minor": L0 - c, "steps": steps_out,
             "retained_surplus_minor": A}, parts)


def _pool(ctx, st, S1, A):
    """§6's pool of a share step, of S' (§10.7.4)."""
    if st["share"] == "remaining":
        return A
    return min(A, round_mode(rate(st["share"]) * S1, ctx["cfg"].get("rounding", "half_even")))


def _account_step(ctx, st, cur, S1, A, credited, sd):
    """amt = min(A, round(X * S'), room) (§10.3, §10.7.5)."""
    amt = _pool(ctx, st, S1, A)
    target = account_target(ctx["cfg"], st, cur)
    if target is not None:
        b = ctx["balances"].get((st["account"], cur), 0) + credited.get(st["account"], 0)
        room = max(0, target - b)
        amt = min(amt, room)
        sd.update(target=target, b_before=b, room=room)
    credited[st["account"]] = credited.get(st["account"], 0) + amt
    return amt


def _interest_step(ctx, st, idx, cur, S1, A, parts, credited):
    """A capital_interest step (base currency only): §6 on S', the basis
    of the step, blocked_by_loss, withholding (§10.3, §10.7.6, §10.7.10).

    Reading: withholding applies to each member's allocated I_m (after LR),
    so w_m = floor(I_m * withholding) is a whole cent and the member keeps
    the fractional cent; blocked_by_loss reads L0 of the base currency
    before this window's cover, and a blocked step still reads (and
    validates) capital."""
    cfg = ctx["cfg"]
    if cur != cfg["currency"]:
        return 0
    if _true(st.get("blocked_by_loss", False)) and ctx["L0_base"] > 0:
        return 0
    w = capital_interest_weights(st, ctx["memberships"], ctx["movements"], ctx["retained"],
                                 ctx["days"], ctx["with_retained"], ctx["zone"])
    if not w:
        return 0
    lim = min(sum(w.values()), A)
    if "cap_share" in st:
        lim = min(lim, rate(st["cap_share"]) * S1)
    amt = math.floor(lim)
    if amt <= 0:
        return 0
    wrate = rate(st.get("withholding", "0"))
    acc = ctx["acc"]
    for mid, I in largest_remainder(amt, sorted(w.items())).items():
        wm = math.floor(I * wrate)
        parts.setdefault(mid, []).append((0, idx, _NET, I - wm))
        parts[mid].append((0, idx, _WITHHELD, wm))
        credited[acc["capital_interest"]] = credited.get(acc["capital_interest"], 0) + I - wm
        credited[acc["withholding"]] = credited.get(acc["withholding"], 0) + wm
    return amt


def _patronage_step(ctx, st, idx, cur, S1, A, parts, credited, out):
    """A patronage step: §6 on S', with cap: member_business (§10.7.8) and
    notice: qualified (§10.7.11) shown on the step.

    Reading: cap_minor and payment_due are shown whenever the config has
    cap / notice, also when S = 0 or S' = 0 (their values then are 0 and
    the due date); the cap limits P before the class split, so a class
    without eligible members still leaves its amount in A."""
    cfg = ctx["cfg"]
    pool = _pool(ctx, st, S1, A)
    if st.get("cap") == "member_business":
        basis = st.get("cap_basis", "fees")
        if ctx["settled"] is None:
            raise ValueError("cap: member_business needs the settle totals (settled=)")
        cap = kstg_cap(S1, member_business(ctx["parties"], cur, basis),
                       window_business(ctx["settled"], cur, basis))
        out["cap_minor"] = cap
        pool = min(pool, cap)
    if st.get("notice") == "qualified":
        out["payment_due"] = payment_due_date(ctx["days"][-1], st["payment_due"]).isoformat()
    if pool <= 0:
        return 0
    exp = cfg["currencies"][cur]
    classes = list(st["classes"].items())
    camt = largest_remainder(pool, [(i, rate(v)) for i, (_, v) in enumerate(classes)])
    which = 1 if st.get("basis", "fees") == "volume" else 0
    minp = money_minor(st.get("min_patronage", "0"), exp)
    cash_f = rate(st.get("cash_fraction", "1"))
    acc = ctx["acc"]
    amt = 0
    for i, (cls, _) in enumerate(classes):
        elig = []
        for mid in ctx["ids"]:
            b = ctx["bases"].get((mid, cls, cur), (0, 0))[which]
            if b > 0 and b >= minp and membership_days_v2(ctx["memberships"], mid, cls,
                                                          ctx["days"]) > 0:
                elig.append((mid, b))
        if not elig or camt[i] == 0:
            continue
        for mid, R in largest_remainder(camt[i], elig).items():
            cash = math.ceil(R * cash_f)
            parts.setdefault(mid, []).append((1, idx, _CASH, cash))
            parts[mid].append((1, idx, _RETAINED, R - cash))
            credited[acc["patronage_cash"]] = credited.get(acc["patronage_cash"], 0) + cash
            credited[acc["patronage_retained"]] = \
                credited.get(acc["patronage_retained"], 0) + R - cash
            amt += R
    return amt


def distribute_lines(ctx, cur, entry, parts, last_day):
    """The ledger lines of one currency of a distribute run, in the order
    written, lines of 0 left out, each (step id or None, account, party or
    None, currency, amount, posted_on = the window's last local day).

    Loss year (§10.7.1): +S (a credit) on accounts.surplus; a debit per
    loss_cover account that gave more than 0, in list order; the carried
    forward debit on accounts.loss_carried_forward.

    Otherwise (docs/reproducibility.md's order, with §10.3's lines put in):
    +S on accounts.surplus; -c on accounts.loss_carried_forward; each
    account step in config order; per member by id: per capital_interest
    step in config order its net interest (accounts.capital_interest) then
    its withholding (accounts.withholding), then per patronage step in
    config order its cash then its retained part; -A on
    accounts.retained_surplus.

    Readings: the cover line comes right after the surplus line (the
    cover is taken first, §10.3); a member's net interest line precedes
    its withholding line; the lines that belong to no step (surplus, cover,
    loss cover, carried forward, retained surplus) carry no step id."""
    acc = ctx["acc"]
    steps = ctx["cfg"]["surplus"]["steps"]
    out = []

    def put(step, account, party, amount):
        if amount != 0:
            out.append((step, account, party, cur, amount, last_day))

    S = entry["surplus_minor"]
    put(None, acc["surplus"], None, S)
    if S < 0:
        for lc in entry["loss_cover"]:
            put(None, lc["account"], None, lc["amount_minor"])
        put(None, acc["loss_carried_forward"], None,
            entry["loss_carried_out_minor"] - entry["loss_carried_in_minor"])
        return out
    put(None, acc["loss_carried_forward"], None, -entry["loss_covered_minor"])
    for st, so in zip(steps, entry["steps"]):
        if st["type"] == "account":
            put(st["id"], st["account"], None, -so["amount_minor"])
    account_of = {_NET: acc["capital_interest"], _WITHHELD: acc["withholding"],
                  _CASH: acc["patronage_cash"], _RETAINED: acc["patronage_retained"]}
    for mid in sorted(parts):
        for (_, idx, kind, amt) in sorted(parts[mid], key=lambda p: (p[0], p[1], p[2])):
            put(steps[idx]["id"], account_of[kind], mid, -amt)
    put(None, acc["retained_surplus"], None, -entry["retained_surplus_minor"])
    return out


def distribute_years(cfg, memberships, movements, windows, history=()):
    """Distribute runs of consecutive windows, each after the ones before
    (its results fed into the next as history). windows: [{window: (from,
    to), parties, fee_income, costs, settled (optional)}] in window order;
    history: committed runs before the first. Returns the list of
    distribute_law results."""
    hist = list(history)
    results = []
    for w in windows:
        r = distribute_law(cfg, memberships, w.get("parties", []), w["fee_income"],
                           w.get("costs", {}), movements, hist, w["window"][0], w["window"][1],
                           w.get("settled"))
        results.append(r)
        hist.append(r)
    return results


# ---- invariants the tests check ------------------------------------------------

def law_invariant_problems(cfg, result):
    """[message] for every invariant a distribute_law result breaks (an
    empty list when it keeps them all):
      * its lines sum to 0 per currency;
      * a reserve never passes its target: amt <= room, so b + amt <= target
        (or amt = 0 when b already is at or above it);
      * the loss carried in and out is never negative, and the loss carried
        out is L0 plus what the run posted to the loss account;
      * a loss cover never exceeds the account's balance at window start;
      * per member: withheld + net = gross interest, cash + retained =
        patronage."""
    acc = law_accounts(cfg)
    bad = []
    sums = {}
    for line in result["lines"]:
        sums[line[3]] = sums.get(line[3], 0) + line[4]
    bad += ["%s: lines sum to %d" % (c, v) for c, v in sorted(sums.items()) if v != 0]
    for cur, e in result["currencies"].items():
        d = result["detail"][cur]
        for sd in d["steps"]:
            if sd["room"] is not None and sd["amount"] > sd["room"]:
                bad.append("%s: step %s passes its target" % (cur, sd["id"]))
        if e["loss_carried_in_minor"] < 0 or e["loss_carried_out_minor"] < 0:
            bad.append("%s: a negative loss carried" % cur)
        posted = sum(ln[4] for ln in result["lines"]
                     if ln[3] == cur and ln[1] == acc["loss_carried_forward"])
        if e["loss_carried_out_minor"] != e["loss_carried_in_minor"] + posted:
            bad.append("%s: loss carried out is not L0 plus the loss lines" % cur)
        for lc in e["loss_cover"]:
            if lc["amount_minor"] > max(0, d["cover_balances"].get(lc["account"], 0)):
                bad.append("%s: %s covers more than its balance" % (cur, lc["account"]))
        if e["distributable_minor"] != e["surplus_minor"] - e["loss_covered_minor"]:
            bad.append("%s: S' is not S - c" % cur)
    for m in result["members"]:
        if m["withheld_minor"] + m["capital_interest_net_minor"] != m["capital_interest_minor"]:
            bad.append("member %s %s: withheld + net != gross" % (m["id"], m["currency"]))
        if m["cash_minor"] + m["retained_minor"] != m["patronage_minor"]:
            bad.append("member %s %s: cash + retained != patronage" % (m["id"], m["currency"]))
    return bad


def settle_fund_problems(cfg, currencies, lines):
    """[message] when fund parts + income differ from the (net) fee: per
    currency fee_income_minor + sum(funds) = fees_minor; per transaction,
    its income:fees and fund lines sum to minus its net fee, which is the
    clearing line plus the payable line minus its VAT (§10.8: p - t = n),
    so income + funds + VAT lines = -(clearing + payable); every
    transaction's lines sum to 0. Lines with or without line numbers."""
    acc = settle_accounts(cfg)
    fund_accounts = set(fee_fund_accounts(cfg))
    vat_accts = set(vat_accounts(cfg)) if has_vat(cfg) else set()
    bad = []
    for cur, v in currencies.items():
        if "funds" in v and v["fee_income_minor"] + sum(v["funds"].values()) != v["fees_minor"]:
            bad.append("%s: fee income + funds != fees" % cur)
    by_tx = {}
    for ln in lines:
        tid, account, cur, amt = ln[0], ln[1], ln[3], ln[4]
        t = by_tx.setdefault((tid, cur), [0, 0, 0, 0])
        t[0] += amt
        if account == acc["fee_income"] or account in fund_accounts:
            t[1] += amt
        elif account in vat_accts:
            t[3] += amt
        else:
            t[2] += amt
    for (tid, cur), (total, income_funds, rest, vat) in sorted(by_tx.items(),
                                                               key=lambda kv: kv[0][0]):
        if total != 0:
            bad.append("transaction %s: lines sum to %d" % (tid, total))
        if income_funds + vat != -rest:
            bad.append("transaction %s: income + funds != fee" % tid)
    return bad
