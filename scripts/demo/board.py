#!/usr/bin/env python3
"""board.py -- what the board of the demo's eG sees of each financial year.

usage: board.py CONFIG MEMBER YEAR:DISTRIBUTE.json...

Reads the `distribute --json` output of consecutive years (in order) and
prints, per year, the surplus or loss and its cover, the reserves and the
loss carried forward after the year, the capital interest (gross, withheld,
net) and the patronage refunds, with the figures of one member; then one
line per year. The balances start from the opening balances in CONFIG and
follow the years' own figures, as the engine keeps them (spec 10.2).

CONFIG is config/example.yaml. Python has no YAML reader on a fresh Debian
12, so the few values read from it (surplus.opening's balances,
surplus.total_assets and the legal reserve step's share and target) are
picked out of its text; the step ids are that file's. Money is kept in
cents (integers) throughout.
"""
import json
import re
import sys
from fractions import Fraction

CUR = "EUR"
LEGAL, FREE, LOSS = "equity:reserves:legal", "equity:reserves:free", "equity:loss-carried-forward"
STEP_LEGAL, STEP_INTEREST, STEP_REFUND = "legal-reserve", "capital-interest", "patronage-refund"


def die(msg):
    sys.exit("board.py: " + msg)


def cents(text):
    """'27000.00' -> 2700000 (exact)."""
    m = re.fullmatch(r"(\d+)(?:\.(\d{1,2}))?", text)
    if not m:
        die("not an amount in euros: %r" % text)
    return int(m.group(1)) * 100 + int((m.group(2) or "0").ljust(2, "0"))


def percent(text):
    m = re.fullmatch(r"(\d+(?:\.\d+)?)%", text)
    if not m:
        die("not a percentage: %r" % text)
    return Fraction(m.group(1)) / 100


def read_config(path):
    """The opening balances, total assets, and the legal reserve step's share
    and target share, from the text of config/example.yaml."""
    text = open(path, encoding="utf-8").read()
    block = re.search(r"\n(\s+)balances:\n((?:\1\s+.*\n)+)", text)
    if not block:
        die("%s: no surplus.opening.balances block" % path)
    opening = {a: cents(v) for a, v in re.findall(
        r'"([^"]+)":\s*\{%s:\s*"([0-9.]+)"\}' % CUR, block.group(2))}
    assets = re.search(r'total_assets:\s*\{%s:\s*"([0-9.]+)"\}' % CUR, text)
    step = re.search(r"- id: %s\n((?:\s+\w+:.*\n)+)" % STEP_LEGAL, text)
    if not assets or not step:
        die("%s: no surplus.total_assets or no step '%s'" % (path, STEP_LEGAL))
    share = re.search(r"share:\s*(\S+%)", step.group(1))
    until = re.search(r"share_of_total_assets:\s*(\S+%)\}", step.group(1))
    if not share or not until:
        die("%s: step '%s' lacks share or until" % (path, STEP_LEGAL))
    target_share = percent(until.group(1))
    target = int(target_share * cents(assets.group(1)))  # floor: both >= 0
    return opening, percent(share.group(1)), target_share, target, cents(assets.group(1))


def pct(q):
    """Fraction(1, 10) -> '10%'."""
    p = q * 100
    return ("%d%%" % p) if p.denominator == 1 else ("%s%%" % p)


def money(c):
    """2700000 -> '27,000.00' (cents to euros, exactly)."""
    sign = "-" if c < 0 else ""
    whole, frac = divmod(abs(c), 100)
    return "%s%s.%02d" % (sign, format(whole, ","), frac)


def round_half_even(q):
    f = q.numerator // q.denominator
    r = q - f
    return f + (r > Fraction(1, 2) or (r == Fraction(1, 2) and f % 2 == 1))


def row(label, amount, note=""):
    print("  %-34s %15s EUR%s" % (label, money(amount), ("   " + note) if note else ""))


def year_report(year, d, bal, law, member):
    share, target_share, target, assets = law
    e = d["currencies"][CUR]
    steps = {s["id"]: s for s in e["steps"]}
    s = e["surplus_minor"]
    kind = "profit year" if s > 0 else "loss year" if s < 0 else "break-even year"
    print("%s  %s (distribute run %s)" % (year, kind, d["run_id"]))
    row("fee income", e["fee_income_minor"])
    row("operating costs", -e["costs_minor"])
    row("surplus" if s >= 0 else "loss", s)
    covers = {c["account"]: c["amount_minor"] for c in e["loss_cover"]}
    for acct, name in ((FREE, "free reserve"), (LEGAL, "legal reserve")):
        if covers.get(acct):
            bal[acct] -= covers[acct]
            row("  covered by the " + name, covers[acct], "%s now %s EUR" % (name, money(bal[acct])))
    if e["loss_covered_minor"]:
        row("carried loss covered first", -e["loss_covered_minor"])
        row("distributable surplus S'", e["distributable_minor"])
    new_loss = e["loss_carried_out_minor"] - e["loss_carried_in_minor"] + e["loss_covered_minor"]
    if new_loss:
        row("  carried forward", new_loss)
    bal[LOSS] = e["loss_carried_out_minor"]
    if s <= 0:
        print("  no legal reserve, no interest and no refund for a year without a surplus")
    else:
        legal = steps[STEP_LEGAL]["amount_minor"]
        would = round_half_even(share * e["distributable_minor"])
        bal[LEGAL] += legal
        row("to the legal reserve", legal, "legal reserve now %s EUR" % money(bal[LEGAL]))
        if legal < would:
            print("    it has reached its target, %s of total assets %s: of the %s (%s of S')"
                  % (pct(target_share), money(assets), money(would), pct(share)))
            print("    the step took only the %s still missing and stops there; the rest goes on"
                  % money(legal))
        else:
            print("    target %s: %s to go" % (money(target), money(target - bal[LEGAL])))
    members = [m for m in d.get("members", []) if m["currency"] == CUR]
    gross = steps.get(STEP_INTEREST, {}).get("amount_minor", 0)
    withheld = sum(m.get("withheld_minor", 0) for m in members)
    if s > 0 and gross == 0 and e["loss_carried_in_minor"] > 0:
        row("capital interest", 0, "none: a loss was carried into the year (blocked_by_loss)")
    elif s > 0:
        row("capital interest, gross", gross, "%d members" % sum(1 for m in members if m["capital_interest_minor"]))
        row("  withheld (26.375%)", withheld)
        row("  paid out (net)", gross - withheld)
    refund = steps.get(STEP_REFUND, {})
    if s > 0:
        cap = refund.get("cap_minor")
        row("patronage refund", refund.get("amount_minor", 0),
            "%d members%s" % (sum(1 for m in members if m["patronage_minor"]),
                              ", capped by member business (KStG 22)" if cap is not None
                              and cap == refund.get("amount_minor") else ""))
        row("  paid in cash", sum(m["cash_minor"] for m in members))
        row("  credited to members' capital", sum(m["retained_minor"] for m in members))
        bal[FREE] += e["retained_surplus_minor"]
        row("to the free reserve", e["retained_surplus_minor"], "free reserve now %s EUR" % money(bal[FREE]))
    print("  loss carried forward after the year: %s EUR" % money(bal[LOSS]))
    m = next((m for m in members if m["id"] == member), None)
    if m:
        print("  member %d: interest %s gross, %s withheld, %s net; refund %s (%s in cash, %s to capital)"
              % (member, money(m["capital_interest_minor"]), money(m.get("withheld_minor", 0)),
                 money(m.get("capital_interest_net_minor", m["capital_interest_minor"])),
                 money(m["patronage_minor"]), money(m["cash_minor"]), money(m["retained_minor"])))
    print()
    cover = e["loss_covered_minor"] + sum(covers.values())
    return (year, s, cover, bal[LEGAL], bal[FREE], bal[LOSS], gross, withheld,
            refund.get("amount_minor", 0) if s > 0 else 0)


def main(argv):
    if len(argv) < 4:
        die("usage: board.py CONFIG MEMBER YEAR:DISTRIBUTE.json...")
    opening, share, target_share, target, assets = read_config(argv[1])
    law = (share, target_share, target, assets)
    member = int(argv[2])
    bal = {a: opening.get(a, 0) for a in (LEGAL, FREE, LOSS)}
    print("opening balances (%s): legal reserve %s, free reserve %s, loss carried %s EUR; "
          "legal reserve target %s EUR\n" % (argv[1], money(bal[LEGAL]), money(bal[FREE]),
                                               money(bal[LOSS]), money(target)))
    lines = []
    for arg in argv[3:]:
        year, path = arg.split(":", 1)
        with open(path, encoding="utf-8") as f:
            lines.append(year_report(year, json.load(f), bal, law, member))
    head = ("year", "surplus", "loss cover", "legal res.", "free res.", "loss c/f",
            "interest", "withheld", "refunds")
    print("%-5s" % head[0] + "".join("%13s" % h for h in head[1:]) + "   (EUR, after each year)")
    for ln in lines:
        print("%-5s" % ln[0] + "".join("%13s" % money(v) for v in ln[1:]))


if __name__ == "__main__":
    main(sys.argv)
