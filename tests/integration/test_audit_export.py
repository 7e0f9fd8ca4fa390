"""export --run N --format hledger|beancount|csv (docs/auditing.md, "Exports").

Multi-currency settle runs (one superseded, so the export carries reversal
lines) and a distribute run are exported in every format. hledger's own
checks (`check` and the strict `check -s`) and bean-check must pass, and the
balances hledger and beancount report must equal the engine's totals from
the runs' JSON statements.
"""
import csv
import io
import os
import re
import subprocess
import sys
from decimal import Decimal

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from harness import Runner, TestDB  # noqa: E402

EXPONENTS = {"CHF": 2, "EUR": 2, "JPY": 0}

CONFIG = {
    "version": 1,
    "cooperative": "Export \"Test\" eG, Berlin",
    "currency": "EUR",
    "currencies": EXPONENTS,
    "timezone": "Europe/Berlin",
    "fees": [
        {"id": "guest-buyers", "when": {"consumer_member": False}, "rate": "9%",
         "borne_by": {"producer": "2/3", "consumer": "1/3"}},
        {"id": "standard, with comma", "rate": "7.5%",
         "borne_by": {"producer": "1/2", "consumer": "1/2"}},
    ],
    "surplus": {
        "costs": {"amount": {"EUR": "1.00", "CHF": "0.50", "JPY": "10"}},
        "steps": [
            {"id": "legal-reserve", "type": "account", "share": "10%",
             "account": "equity:reserves:legal"},
            {"id": "capital-interest", "type": "capital_interest", "rate": "3%"},
            {"id": "patronage-refund", "type": "patronage", "share": "remaining",
             "classes": {"producer": "60%", "consumer": "40%"}, "cash_fraction": "1/3"},
        ],
    },
}

MEMBERS = [
    (1, "producer", "2020-01-01", None, 100000),
    (2, "producer", "2020-01-01", None, 0),
    (10, "consumer", "2020-01-01", None, 0),
    (11, "consumer", "2020-01-01", None, 0),
]

ROWS = [
    (1, "2026-11-03 10:00:00+01", 1, 10, 100000, "EUR", "crafts"),
    (2, "2026-11-04 10:00:00+01", 2, 11, 12345, "EUR", "crafts"),
    (3, "2026-11-05 10:00:00+01", 1, None, 9999, "EUR", "food"),
    (4, "2026-11-06 10:00:00+01", 2, 10, -2500, "EUR", "crafts"),
    (5, "2026-11-07 10:00:00+01", 1, 11, 55555, "CHF", "crafts"),
    (6, "2026-11-08 10:00:00+01", 2, None, 1234, "CHF", "food"),
    (7, "2026-11-09 10:00:00+01", 1, 10, 98765, "JPY", "crafts"),
    (8, "2026-11-10 10:00:00+01", 2, 11, 4321, "JPY", "crafts"),
]


def decimal_of(minor, code):
    return Decimal(minor).scaleb(-EXPONENTS[code])


def setup():
    """Run 1: settle Nov; run 2: settle Nov --supersede after a correction;
    run 3: distribute Nov. Returns the db and the JSON statements."""
    db = TestDB()
    db.add_members(MEMBERS)
    db.add_transactions(ROWS)
    path = db.write_config(CONFIG)
    st = {}
    r = db.run("settle", "--config", path, "--period", "2026-11", "--json")
    assert r.code == 0, r
    st[1] = r.json()
    db.sql("UPDATE coopsettle.transactions SET amount_minor = 20000 WHERE id = 2")
    r = db.run("settle", "--config", path, "--period", "2026-11", "--supersede", "--reason", "test correction", "--json")
    assert r.code == 0, r
    st[2] = r.json()
    r = db.run("distribute", "--config", path, "--period", "2026-11", "--json")
    assert r.code == 0, r
    st[3] = r.json()
    return db, path, st


def settle_expected(stmt):
    """Balance per account family and currency of a settle run's posts."""
    out = {}
    for code, c in stmt["currencies"].items():
        out[("assets:clearing", code)] = c["gross_minor"] + c["fees_consumer_minor"]
        out[("liabilities:payable:producers", code)] = -(c["gross_minor"] -
                                                         c["fees_producer_minor"])
        out[("income:fees", code)] = -c["fees_minor"]
    return out


def distribute_expected(stmt):
    out = {}
    for code, c in stmt["currencies"].items():
        if c["surplus_minor"] <= 0:
            continue
        steps = {s["id"]: s["amount_minor"] for s in c["steps"]}
        out[("equity:surplus", code)] = c["surplus_minor"]
        out[("equity:reserves:legal", code)] = -steps["legal-reserve"]
        out[("liabilities:capital-interest", code)] = -steps["capital-interest"]
        out[("liabilities:patronage", code)] = -sum(
            m["cash_minor"] for m in stmt["members"] if m["currency"] == code)
        out[("equity:member-capital", code)] = -sum(
            m["retained_minor"] for m in stmt["members"] if m["currency"] == code)
        out[("equity:reserves:free", code)] = -c["retained_surplus_minor"]
    return out


def tool(*args):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=120)


def hledger_balance(path, family):
    """The inclusive balance of an account family, per commodity, as hledger
    reports it."""
    depth = family.count(":") + 1
    p = tool("hledger", "-f", path, "bal", "-O", "csv", "--no-total", "--depth", str(depth),
             "^" + re.escape(family) + "(:|$)")
    assert p.returncode == 0, p.stderr
    out = {}
    for row in list(csv.reader(io.StringIO(p.stdout)))[1:]:
        if row[0] != family:
            continue
        for part in row[1].split(", "):
            if part.strip() in ("", "0"):
                continue
            num, code = part.rsplit(" ", 1)
            out[code] = out.get(code, Decimal(0)) + Decimal(num)
    return out


def check_hledger(t, db, run, expected, what):
    path = os.path.join(db.tmp, "run%d.journal" % run)
    r = db.run("export", "--run", str(run), "--format", "hledger", "--output", path)
    t.eq(r.code, 0, "%s: export %r" % (what, r))
    t.eq(r.stdout, "", "%s: --output writes nothing on stdout" % what)
    p = tool("hledger", "-f", path, "check")
    t.eq(p.returncode, 0, "%s: hledger check: %s" % (what, p.stderr))
    p = tool("hledger", "-f", path, "check", "-s")
    t.eq(p.returncode, 0, "%s: hledger check -s (strict): %s" % (what, p.stderr))
    families = sorted({f for f, _ in expected})
    for family in families:
        got = hledger_balance(path, family)
        want = {code: decimal_of(v, code) for (f, code), v in expected.items()
                if f == family and v != 0}
        t.eq(got, want, "%s: hledger balance of %s" % (what, family))
    with open(path) as f:
        return f.read()


def beancount_name(account):
    return ":".join(p[:1].upper() + p[1:] for p in account.split(":"))


def check_beancount(t, db, run, expected, what):
    path = os.path.join(db.tmp, "run%d.beancount" % run)
    r = db.run("export", "--run", str(run), "--format", "beancount", "--output", path)
    t.eq(r.code, 0, "%s: export %r" % (what, r))
    p = tool("bean-check", path)
    t.eq((p.returncode, p.stdout + p.stderr), (0, ""), "%s: bean-check" % what)
    p = tool("bean-query", "-f", "csv", path,
             "SELECT account, currency, sum(number) AS n GROUP BY account, currency")
    t.eq(p.returncode, 0, "%s: bean-query %s" % (what, p.stderr))
    sums = {}
    for row in list(csv.reader(io.StringIO(p.stdout)))[1:]:
        account, code, n = (x.strip() for x in row)
        for (family, c) in expected:
            b = beancount_name(family)
            if c == code and (account == b or account.startswith(b + ":")):
                sums[(family, c)] = sums.get((family, c), Decimal(0)) + Decimal(n)
    want = {k: decimal_of(v, k[1]) for k, v in expected.items() if v != 0}
    got = {k: v for k, v in sums.items() if v != 0}
    t.eq(got, want, "%s: beancount balances" % what)


def check_csv(t, db, run, expected, what):
    r = db.run("export", "--run", str(run), "--format", "csv")
    t.eq(r.code, 0, "%s: csv export %r" % (what, r))
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    sums = {}
    for row in rows:
        code = row["currency"]
        t.check(decimal_of(int(row["amount_minor"]), code) == Decimal(row["amount"]) and
                len(row["amount"].split(".")[1] if "." in row["amount"] else "") ==
                EXPONENTS[code], "%s: exact amount text %s" % (what, row["amount"]))
        for (family, c) in expected:
            if c == code and (row["account"] == family or
                              row["account"].startswith(family + ":")):
                sums[(family, c)] = sums.get((family, c), 0) + int(row["amount_minor"])
    t.eq({k: v for k, v in sums.items() if v}, {k: v for k, v in expected.items() if v},
         "%s: csv sums" % what)
    return rows


def exports(t):
    db, _, st = setup()
    # run 1: posts of the first settle run
    exp1 = settle_expected(st[1])
    text = check_hledger(t, db, 1, exp1, "settle run 1")
    t.check("; run:1, kind:settle, entry:post, journal:1, transaction:1,"
            " rule:guest-buyers" not in text and "rule:standard_ with comma" in text,
            "hledger tags: rule id with its comma replaced")
    t.check("; record_sha256: %s" % db.sql("SELECT record_sha256 FROM coopsettle.runs"
                                             " WHERE id = 1")[0][0] in text,
            "hledger header carries the record hash")
    check_beancount(t, db, 1, exp1, "settle run 1")
    rows = check_csv(t, db, 1, exp1, "settle run 1")
    t.eq(len(rows), db.sql("SELECT line_count FROM coopsettle.runs WHERE id = 1")[0][0],
         "csv: one row per line")
    t.check(all(r["rule_id"] in ("guest-buyers", "standard, with comma") for r in rows),
            "csv keeps the rule id whole")

    # run 2 supersedes run 1: its reversal lines negate run 1's posts, so
    # the file's balances are the difference of the two runs
    exp2 = settle_expected(st[2])
    diff = {k: exp2.get(k, 0) - exp1.get(k, 0) for k in set(exp1) | set(exp2)}
    text = check_hledger(t, db, 2, diff, "superseding run 2")
    t.check("entry:reversal, journal:2, reverses:1" in text, "reversal journals are tagged")
    check_beancount(t, db, 2, diff, "superseding run 2")
    rows = check_csv(t, db, 2, diff, "superseding run 2")
    t.check(any(r["entry"] == "reversal" for r in rows), "csv carries reversal lines")

    # run 3: distribute, three currencies
    exp3 = distribute_expected(st[3])
    t.check(len({c for _, c in exp3}) == 3, "the distribute run has surplus in 3 currencies")
    check_hledger(t, db, 3, exp3, "distribute run 3")
    check_beancount(t, db, 3, exp3, "distribute run 3")
    check_csv(t, db, 3, exp3, "distribute run 3")
    db.drop()


def account_names(t):
    cfg = dict(CONFIG)
    cfg["accounts"] = {"fee_income": "income:platform fees_2026", "clearing": "assets:(clearing)"}
    db = TestDB()
    db.add_members(MEMBERS)
    db.add_transactions(ROWS)
    path = db.write_config(cfg)
    r = db.run("settle", "--config", path, "--period", "2026-11", "--json")
    t.eq(r.code, 0, "settle %r" % r)
    exp = settle_expected(r.json())
    r = db.run("export", "--run", "1", "--format", "beancount")
    t.eq(r.code, 0, "beancount export %r" % r)
    t.check("open Income:Platform-fees-2026:1" in r.stdout and "open Assets:-clearing-:10"
            not in r.stdout and "open Assets:X-clearing-:10" in r.stdout,
            "beancount names mapped: %s" % r.stdout[:1500])
    out = os.path.join(db.tmp, "names.beancount")
    with open(out, "w") as f:
        f.write(r.stdout)
    p = tool("bean-check", out)
    t.eq(p.returncode, 0, "bean-check of mapped names: %s" % p.stderr)
    fam = {("income:platform fees_2026", c) if f == "income:fees" else
           ("assets:(clearing)", c) if f == "assets:clearing" else (f, c): v
           for (f, c), v in exp.items()}
    check_hledger(t, db, 1, fam, "odd account names")
    db.drop()

    cfg = dict(CONFIG)
    cfg["accounts"] = {"fee_income": "revenue:fees"}
    db = TestDB()
    db.add_members(MEMBERS)
    db.add_transactions(ROWS)
    path = db.write_config(cfg)
    t.eq(db.run("settle", "--config", path, "--period", "2026-11").code, 0, "settle")
    r = db.run("export", "--run", "1", "--format", "beancount")
    t.eq(r.code, 0, "a name without a beancount root is never refused (issue 19) %r" % r)
    t.check("open Income:Revenue:Fees" in r.stdout,
            "it goes under the root of its role, fee income: %s" % r.stdout[:1200])
    out = os.path.join(db.tmp, "root.beancount")
    with open(out, "w") as f:
        f.write(r.stdout)
    p = tool("bean-check", out)
    t.eq(p.returncode, 0, "bean-check of a derived root: %s" % p.stderr)
    t.eq(db.run("export", "--run", "1", "--format", "hledger").code, 0, "hledger can")
    mp = os.path.join(db.tmp, "map.yaml")
    with open(mp, "w") as f:
        f.write("accounts:\n  \"assets:clearing\": \"1360\"\n"
                "datev: {consultant: 1001, client: 1}\n")
    path = os.path.join(db.tmp, "x.csv")
    r = db.run("export", "--run", "1", "--format", "datev", "--accounts", mp, "--output", path)
    t.eq(r.code, 2, "--output: a map without a number for an account used: exit 2")
    t.check("gives no DATEV account number for 'liabilities:payable:producers'" in r.stderr
            or "gives no DATEV account number for 'revenue:fees'" in r.stderr,
            "and says which: %s" % r.stderr)
    t.check(not os.path.exists(path) and not [f for f in os.listdir(db.tmp) if ".tmp-" in f],
            "a failed export leaves no file behind")
    db.drop()


def vat_exports(t):
    """A version 2 run with VAT (19% excluded; 7% included on books, a fund
    on the net fee): hledger's checks and bean-check pass, and the VAT
    account's balance in both is minus the run's vat_minor (issue 21)."""
    import test_time_true as T
    cfg = dict(T.CONFIG)
    cfg["vat"] = {"rate": "19%"}
    cfg["fees"] = [{"id": "books", "when": {"category": ["books"]}, "rate": "10%",
                    "vat": {"rate": "7%", "included": True}},
                   dict(T.CONFIG["fees"][1],
                        funds=[{"account": "liabilities:funds:community", "share": "1/3"}])]
    db = TestDB()
    T.setup(db)
    db.add_transactions([(9, "2026-11-20 12:00:00+01", 1, 10, 12345, "EUR", "books"),
                         (10, "2026-11-21 12:00:00+01", 3, 10, -4999, "EUR", "x")])
    path = db.write_config(cfg)
    r = db.run("settle", "--config", path, "--period", "2026-11", "--json")
    t.eq(r.code, 0, "settle with VAT %r" % r)
    c = r.json()["currencies"]["EUR"] if r.code == 0 else {}
    t.check(c.get("vat_minor", 0) > 0, "VAT was charged: %r" % c)
    fund = c.get("funds", {}).get("liabilities:funds:community", 0)
    exp = {("liabilities:vat", "EUR"): -c.get("vat_minor", 0),
           ("liabilities:funds:community", "EUR"): -fund,
           ("income:fees", "EUR"): -c.get("fee_income_minor", 0)}
    check_hledger(t, db, 1, exp, "settle with VAT")
    check_beancount(t, db, 1, exp, "settle with VAT")
    check_csv(t, db, 1, exp, "settle with VAT")
    db.drop()


def main():
    t = Runner()
    for case in (exports, account_names, vat_exports):
        t.case(case)
    t.finish()


if __name__ == "__main__":
    main()
