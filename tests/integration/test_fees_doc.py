"""docs/fees.md's examples, run for real.

Reads the blocks and tables of docs/fees.md, each after a marker
`<!-- fees-doc KIND: NAME -->`, so that doc and test cannot drift:

  * yaml base + yaml exN: the config of example N (the base, the example's
    lines added at its end); sql members + sql exN: its rows;
  * sh exN: the settle commands (`fees.yaml` is the config); example 7 runs
    the first in one database and the others in a second one;
  * figures exN: per sale, every figure worked by hand, checked against
    the stored ledger lines (what each side pays, its VAT, its net fee, its
    fund parts, hence f_p, f_c and f) and against `explain` (the rule and the
    exact fee before rounding);
  * lines exN: the stored ledger lines, all of them, in order;
  * json exN: the `currencies` and `parties` of `settle --json`, also
    checked against the stored totals and the run's stored statement;
  * runs ex7: the totals of each run of example 7.

Every run must also pass `verify --run N`.
"""
import json
import os
import re
import shlex
import sys
from fractions import Fraction

import yaml

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import harness  # noqa: E402
from harness import Runner, TestDB  # noqa: E402

DOC = os.path.join(harness.SOURCE_DIR, "docs", "fees.md")
TEXT = open(DOC, encoding="utf-8").read()
EXAMPLES = ["ex%d" % i for i in range(1, 8)]
DASH = "-"


def block(kind, name):
    """The fenced block after <!-- fees-doc KIND: NAME -->."""
    m = re.search(r"<!-- fees-doc %s: %s -->\s*\n```%s\n(.*?)\n```" % (kind, re.escape(name), kind),
                  TEXT, re.S)
    assert m, "docs/fees.md lost its %s block '%s'" % (kind, name)
    return m.group(1) + "\n"


def table(kind, name):
    """The rows of the table after <!-- fees-doc KIND: NAME -->, as dicts."""
    m = re.search(r"<!-- fees-doc %s: %s -->\s*\n((?:\|.*\n)+)" % (kind, re.escape(name)), TEXT)
    assert m, "docs/fees.md lost its %s table '%s'" % (kind, name)
    rows = [[c.strip() for c in line.strip().strip("|").split("|")]
            for line in m.group(1).strip().split("\n")]
    head = rows[0]
    assert set("".join(rows[1])) <= set("-|: "), "table %s %s: no separator row" % (kind, name)
    for r in rows[2:]:
        assert len(r) == len(head), "table %s %s: row %r" % (kind, name, r)
    return [dict(zip(head, r)) for r in rows[2:]]


def commands(name, path):
    """The argument lists of the sh block (`coopsettle` and `--db` left out)."""
    out = []
    for line in block("sh", name).strip().split("\n"):
        args = shlex.split(line, comments=True)
        assert args[0] == "coopsettle", line
        out.append([path if a == "fees.yaml" else a for a in args[1:]])
    return out


def config_text(name):
    return block("yaml", "base") + block("yaml", name)


def rule_shape(cfg, rule_id):
    """(VAT on, VAT included, number of funds) of a rule of the config."""
    rule = next(r for r in cfg["fees"] if r["id"] == rule_id)
    vat = rule.get("vat", cfg.get("vat"))
    on = vat is not None and vat != "none"
    return on, on and vat.get("included") == "true", len(rule.get("funds", []))


def cents(text):
    return 0 if text == DASH else int(text)


def setup(name):
    db = TestDB()
    db.sql(block("sql", "members"))
    db.sql(block("sql", name))
    path = db.write_config(config_text(name), "fees.yaml")
    return db, path


def settle(t, db, args, what):
    r = db.run(*args)
    t.eq(r.code, 0, "%s: %s: %r" % (what, " ".join(args[:6]), r))
    if r.code != 0:
        return None
    st = r.json()
    t.eq(st["status"], "committed", "%s: committed" % what)
    t.eq(st["rejected"], [], "%s: nothing rejected" % what)
    v = db.run("verify", "--run", str(st["run_id"]))
    t.eq(v.code, 0, "%s: verify --run %d: %r" % (what, st["run_id"], v))
    return st


def stored_lines(db, run_ids):
    return db.sql("SELECT transaction_id, line_no, account, party_id, amount_minor::bigint,"
                  " posted_on::text, rule_id FROM coopsettle.ledger_lines"
                  " WHERE run_id = ANY(%s) ORDER BY transaction_id, line_no", (list(run_ids),))


def check_lines(t, name, lines, what):
    want = [(int(r["sale"]), int(r["line_no"]), r["account"],
             None if r["party"] == DASH else int(r["party"]), int(r["amount"]), r["posted_on"])
            for r in table("lines", name)]
    t.eq([l[:6] for l in lines], want, "%s: the ledger lines as in the doc" % what)
    sums = {}
    for l in lines:
        sums[l[0]] = sums.get(l[0], 0) + l[4]
    t.eq({k: v for k, v in sums.items() if v != 0}, {}, "%s: each sale's lines sum to 0" % what)


def explained(db, run_ids, producers):
    """Per sale: (rule id, exact fee, rounded |f|) as `explain` prints them
    for the runs run_ids."""
    out = {}
    for run_id, p in [(r, p) for r in run_ids for p in producers]:
        r = db.run("explain", "--run", str(run_id), "--member", str(p))
        assert r.code == 0, r
        for part in re.split(r"\n(?=transaction \d+, )", r.stdout)[1:]:
            sale = int(re.match(r"transaction (\d+),", part).group(1))
            rule = re.search(r"'([^']+)' \(line \d+\): matches; the first", part).group(1)
            exact = re.search(r"\n  exact fee = (\S+)(?: = \S+)? minor units", part).group(1)
            fee = re.search(r"to whole minor units: fee (\d+)", part).group(1)
            out[sale] = (rule, Fraction(exact), int(fee))
    return out


def check_figures(t, db, name, run_ids, lines):
    """Every figure of the doc's table, from the stored lines and explain."""
    cfg = yaml.load(config_text(name), Loader=yaml.BaseLoader)
    amounts = dict(db.sql("SELECT id, amount_minor FROM coopsettle.transactions"))
    producers = sorted({p for (p,) in db.sql("SELECT producer_id FROM coopsettle.transactions")})
    ex = explained(db, run_ids, producers)
    for row in table("figures", name):
        sale = int(row["sale"])
        mine = {l[1]: l[4] for l in lines if l[0] == sale}
        rule = {l[6] for l in lines if l[0] == sale}
        t.eq(len(rule), 1, "%s sale %d: one rule" % (name, sale))
        rule = rule.pop()
        vat_on, included, n_funds = rule_shape(cfg, rule)
        g = amounts[sale]
        base = 6 if vat_on else 4
        got = {"g": g, "rule": rule,
               "p_c": mine.get(1, 0) - g, "p_p": g + mine.get(2, 0),
               "t_p": -mine.get(5, 0) if vat_on else None,
               "t_c": -mine.get(6, 0) if vat_on else None}
        funds_p = sum(-mine.get(base + 1 + k, 0) for k in range(n_funds))
        funds_c = sum(-mine.get(base + 1 + n_funds + k, 0) for k in range(n_funds))
        got["n_p"] = -mine.get(3, 0) + funds_p
        got["n_c"] = -mine.get(4, 0) + funds_c
        for side in ("p", "c"):
            paid, vat = got["p_" + side], got["t_" + side] or 0
            got["f_" + side] = paid - vat if vat_on and not included else paid
            t.eq(got["n_" + side], paid - vat,
                 "%s sale %d: the %s side's net fee is what it pays less its VAT"
                 % (name, sale, side))
        got["f"] = got["f_p"] + got["f_c"]
        want = {"g": int(row["g"]), "rule": row["rule"]}
        for k in ("f", "f_p", "f_c", "p_p", "p_c", "n_p", "n_c"):
            want[k] = int(row[k])
        for k in ("t_p", "t_c"):
            want[k] = None if row[k] == DASH else int(row[k])
        t.eq(got, want, "%s sale %d: the figures of the doc's table" % (name, sale))
        t.eq(ex.get(sale), (row["rule"], Fraction(row["exact fee"]), abs(int(row["f"]))),
             "%s sale %d: explain's rule, exact fee and rounded fee" % (name, sale))


def check_statement(t, db, name, st, what):
    want = json.loads(block("json", name))
    t.eq(st["currencies"], want["currencies"], "%s: settle --json currencies" % what)
    t.eq(st["parties"], want["parties"], "%s: settle --json parties" % what)
    check_stored_totals(t, db, [st], what)
    stored, shown = db.stored_statement(st["run_id"], st)
    t.eq(stored, shown, "%s: the run's stored statement" % what)


def check_stored_totals(t, db, statements, what):
    """The stored currency and party totals of the runs, summed, equal the
    statements' figures, summed."""
    ids = [st["run_id"] for st in statements]
    keys = ("transactions", "gross_minor", "fees_minor", "fees_producer_minor",
            "fees_consumer_minor", "fee_income_minor", "vat_minor")
    got = {}
    for row in db.sql("SELECT currency, transactions, gross_minor::bigint, fees_minor::bigint,"
                      " fees_producer_minor::bigint, fees_consumer_minor::bigint,"
                      " fee_income_minor::bigint, vat_minor::bigint"
                      " FROM coopsettle.currency_totals WHERE run_id = ANY(%s)", (ids,)):
        acc = got.setdefault(row[0], dict.fromkeys(keys, 0))
        for k, v in zip(keys, row[1:]):
            acc[k] += v or 0
    want = {}
    for st in statements:
        for cur, c in st["currencies"].items():
            acc = want.setdefault(cur, dict.fromkeys(keys, 0))
            for k in keys:
                acc[k] += c.get(k, 0)
    t.eq(got, want, "%s: coopsettle.currency_totals" % what)
    got = {}
    for pid, side, cur, n, gross, fees, member, vat in db.sql(
            "SELECT party_id, side, currency, transactions, gross_minor::bigint,"
            " fees_minor::bigint, member, vat_minor::bigint FROM coopsettle.party_totals"
            " WHERE run_id = ANY(%s)", (ids,)):
        acc = got.setdefault((pid, side, cur, member), [0, 0, 0, 0])
        for i, v in enumerate((n, gross, fees, vat)):
            acc[i] += v
    want = {}
    for st in statements:
        for p in st["parties"]:
            acc = want.setdefault((p["id"], p["side"], p["currency"], p["member"]), [0, 0, 0, 0])
            for i, k in enumerate(("transactions", "gross_minor", "fees_minor", "vat_minor")):
                acc[i] += p[k]
    t.eq(got, want, "%s: coopsettle.party_totals" % what)


def example(t, name):
    db, path = setup(name)
    try:
        cmds = commands(name, path)
        t.eq(len(cmds), 1, "%s: one settle command" % name)
        st = settle(t, db, cmds[0], name)
        if st is None:
            return
        lines = stored_lines(db, [st["run_id"]])
        check_lines(t, name, lines, name)
        check_figures(t, db, name, [st["run_id"]], lines)
        check_statement(t, db, name, st, name)
    finally:
        db.drop()


def schedule_change(t):
    """Example 7: the month in one run (database A) and in two runs split at
    the change (database B) store the same lines; the totals add up."""
    name = "ex7"
    a, path_a = setup(name)
    b, path_b = setup(name)
    try:
        month, *halves = commands(name, path_a)
        t.eq(len(halves), 2, "ex7: a monthly run and two partial runs")
        st = settle(t, a, month, "ex7 month")
        parts = [settle(t, b, [path_b if x == path_a else x for x in c], "ex7 part")
                 for c in halves]
        if st is None or None in parts:
            return
        lines = stored_lines(a, [st["run_id"]])
        check_lines(t, name, lines, "ex7 month")
        check_figures(t, a, name, [st["run_id"]], lines)
        check_statement(t, a, name, st, "ex7 month")
        ids = [p["run_id"] for p in parts]
        check_lines(t, name, stored_lines(b, ids), "ex7 two runs")
        check_figures(t, b, name, ids, stored_lines(b, ids))
        check_stored_totals(t, b, parts, "ex7 two runs, summed")

        runs = table("runs", name)
        t.eq(len(runs), 3, "ex7: three runs in the table")
        by_run = list(zip(halves + [month], parts + [st]))
        for row, (args, s) in zip(runs, by_run):
            t.check(" ".join(args).endswith(row["run"] + " --json"),
                    "ex7: the table's run '%s' is the command %r" % (row["run"], args))
            c = s["currencies"]["EUR"]
            t.eq({k: c[k] for k in ("transactions", "gross_minor", "fees_minor", "vat_minor")},
                 {k: int(row[k]) for k in ("transactions", "gross_minor", "fees_minor",
                                           "vat_minor")},
                 "ex7: the totals of run '%s'" % row["run"])
        summed = {k: sum(p["currencies"]["EUR"][k] for p in parts)
                  for k in st["currencies"]["EUR"]}
        t.eq(summed, st["currencies"]["EUR"], "ex7: the month is the sum of its halves")
    finally:
        a.drop()
        b.drop()


def doc_shape(t):
    found = re.findall(r"<!-- fees-doc yaml: (ex\d+) -->", TEXT)
    t.eq(found, EXAMPLES, "docs/fees.md has examples 1 to 7, in order")
    for name in EXAMPLES:
        for kind in ("sql", "sh", "json"):
            block(kind, name)
        for kind in ("figures", "lines"):
            t.check(table(kind, name), "%s: a %s table" % (name, kind))


def main():
    t = Runner()
    t.case(doc_shape)
    for name in EXAMPLES[:-1]:
        t.case(lambda t_, n=name: example(t_, n))
    t.case(schedule_change)
    t.finish()


if __name__ == "__main__":
    main()
