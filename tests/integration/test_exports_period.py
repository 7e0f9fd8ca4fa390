"""Period exports and DATEV (issue 19; spec 10.6; docs/exports.md).

Three years of a German eG (config version 2: 19% VAT on fees, a fee
schedule change, a fee fund, a legal reserve, capital interest, patronage
refunds) are settled quarter by quarter and distributed year by year; then a
2024 quarter is corrected today, so its reversal lines are posted on
2026-12-01. Then:

- hledger (`check -s`) and bean-check accept the exports of each year and of
  all three years, plain and `--group day`; the balance of every account
  (with party) that hledger reports equals the sum of the stored lines of
  the period's runs, read with SQL by run id (the test knows which runs
  belong to which year);
- the CSV carries debit and credit columns that re-add to the amounts;
- `--accounts` renames accounts (beancount names under their role's root);
- DATEV files of each fiscal year (config/accounts-skr03.yaml and -skr04) are
  read back by a parser written here from the public format description, not
  from the writer: the header's 31 fields, the 125 columns of every row,
  Windows-1252, ';' and CRLF; the sums per account number and currency re-add
  to the stored lines posted in that year, to the cent; a period across two
  fiscal years is refused (exit 2), as is a map without a number for an
  account used.
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

SOURCE = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
EXPONENTS = {"EUR": 2, "CHF": 2}
STEPS = [
    {"id": "legal", "type": "account", "share": "10%", "account": "equity:reserves:legal"},
    {"id": "interest", "type": "capital_interest", "rate": "4%"},
    {"id": "refund", "type": "patronage", "share": "remaining",
     "classes": {"producer": "50%", "consumer": "50%"}, "cash_fraction": "50%"},
]
FUND = [{"account": "liabilities:funds:community", "share": "1/3"}]
CONFIG = {
    "version": 2,
    "cooperative": "Hofladen Süd eG",
    "currency": "EUR",
    "currencies": EXPONENTS,
    "timezone": "Europe/Berlin",
    "vat": {"rate": "19%"},
    "fees": [
        {"id": "guests", "when": {"consumer_member": False}, "rate": "10%"},
        {"id": "members-2023", "when": {"until": "2024-07-01"}, "rate": "6%",
         "borne_by": {"producer": "1/2", "consumer": "1/2"}, "funds": FUND},
        {"id": "members", "rate": "5%", "borne_by": {"producer": "1/2", "consumer": "1/2"},
         "funds": FUND},
    ],
    "surplus": {"costs": {"amount": {"EUR": "1.00", "CHF": "0.00"}}, "steps": STEPS},
}
MEMBERS = [(1, "producer", "2020-01-01", None, None), (2, "producer", "2020-01-01", None, None),
           (10, "consumer", "2020-01-01", None, None), (11, "consumer", "2020-01-01", None, None)]
CAPITAL = [(1, "2020-01-01", 100000), (2, "2020-01-01", 50000), (10, "2020-01-01", 10000)]
YEARS = (2023, 2024, 2025)


def rows():
    """Two sales a month for three years (one a refund now and then, some in
    CHF, some to guests), at noon Berlin time."""
    out, k = [], 0
    for y in YEARS:
        for m in range(1, 13):
            for half in (0, 1):
                k += 1
                amount = 1000 + (k * 7919) % 90000
                if k % 11 == 0:
                    amount = -(amount // 3)
                buyer = (10, 11, None)[k % 3]
                code = "CHF" if k % 5 == 0 else "EUR"
                day = 3 + 14 * half
                out.append((k, "%04d-%02d-%02d 12:00:00+01" % (y, m, day), 1 + k % 2, buyer,
                            amount, code, "x"))
    return out


def setup():
    """Runs 1-12: settle each quarter of 2023-2025; 13-15: distribute each
    year; 16: 2024-Q2 settled again after a correction (reversal today)."""
    db = TestDB()
    db.add_members(MEMBERS)
    db.add_transactions(rows())
    for row in CAPITAL:
        db.sql("INSERT INTO coopsettle.capital_movements VALUES (%s, %s, %s)", row)
    path = db.write_config(CONFIG)
    for y in YEARS:
        for q in range(1, 5):
            r = db.run("settle", "--config", path, "--period", "%d-Q%d" % (y, q))
            assert r.code == 0, r
    for y in YEARS:
        r = db.run("distribute", "--config", path, "--period", str(y))
        assert r.code == 0, r
    db.sql("UPDATE coopsettle.transactions SET amount_minor = amount_minor + 1234"
           " WHERE id = 33")  # 2024-05-17
    r = db.run("settle", "--config", path, "--period", "2024-Q2", "--supersede", "--reason",
               "a price corrected")
    assert r.code == 0, r
    return db, path


RUNS = {2023: [1, 2, 3, 4, 13], 2024: [5, 6, 7, 8, 14, 16], 2025: [9, 10, 11, 12, 15]}
RUNS["all"] = sorted(sum(RUNS.values(), []))
PERIODS = {2023: ["--period", "2023"], 2024: ["--period", "2024"], 2025: ["--period", "2025"],
           "all": ["--from", "2023-01-01", "--to", "2026-01-01"]}


def engine_sums(db, runs):
    """{(account[:party], currency): minor} of the stored lines of runs."""
    out = {}
    for account, party, code, s in db.sql(
            "SELECT account, party_id, currency, sum(amount_minor) FROM"
            " coopsettle.ledger_lines WHERE run_id = ANY(%s) GROUP BY 1, 2, 3", (runs,)):
        name = account if party is None else "%s:%d" % (account, party)
        if s:
            out[(name, code)] = int(s)
    return out


def tool(*args):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=300)


def hledger_sums(path):
    p = tool("hledger", "-f", path, "bal", "-O", "csv", "--no-total", "--flat")
    assert p.returncode == 0, p.stderr
    out = {}
    for row in list(csv.reader(io.StringIO(p.stdout)))[1:]:
        for part in row[1].split(", "):
            if part.strip() in ("", "0"):
                continue
            num, code = part.rsplit(" ", 1)
            out[(row[0], code)] = int(Decimal(num).scaleb(EXPONENTS[code]))
    return out


def hledger_year(t, db, key):
    path = os.path.join(db.tmp, "%s.journal" % key)
    r = db.run("export", *PERIODS[key], "--format", "hledger", "--output", path)
    t.eq(r.code, 0, "%s: hledger export %r" % (key, r))
    text = open(path).read()
    t.eq(len(re.findall(r"^account ", text, re.M)),
         len(set(re.findall(r"^account (.*)$", text, re.M))), "%s: each account once" % key)
    for args in (("check",), ("check", "-s")):
        p = tool("hledger", "-f", path, *args)
        t.eq(p.returncode, 0, "%s: hledger %s: %s" % (key, " ".join(args), p.stderr))
    want = engine_sums(db, RUNS[key])
    t.eq(hledger_sums(path), want, "%s: every account's balance is the engine's" % key)
    ids = [int(x) for x in re.findall(r"^; coopsettle \w+ run (\d+)", text, re.M)]
    t.eq(ids, RUNS[key], "%s: the header names the period's runs in run order" % key)
    runs = [int(x) for x in re.findall(r" run:(\d+),", text)]
    t.eq(runs, sorted(runs), "%s: journal entries in run order" % key)
    if key == 2024:
        t.check("2026-12-01 * settle run 16: reversal of transaction" in text,
                "2024: the correction's reversal, dated the day it was made")
    # grouped per day: one entry per day and currency, the same balances
    gpath = os.path.join(db.tmp, "%s-day.journal" % key)
    r = db.run("export", *PERIODS[key], "--format", "hledger", "--group", "day", "--output",
               gpath)
    t.eq(r.code, 0, "%s: --group day %r" % (key, r))
    p = tool("hledger", "-f", gpath, "check", "-s")
    t.eq(p.returncode, 0, "%s: --group day: hledger check -s: %s" % (key, p.stderr))
    t.eq(hledger_sums(gpath), want, "%s: --group day: the same balances" % key)
    days = db.sql("SELECT count(*) FROM (SELECT DISTINCT posted_on, currency FROM"
                  " coopsettle.ledger_lines WHERE run_id = ANY(%s) GROUP BY posted_on,"
                  " currency, account, party_id HAVING sum(amount_minor) <> 0) d",
                  (RUNS[key],))[0][0]
    gtext = open(gpath).read()
    t.eq(len(re.findall(r"^\d{4}-\d\d-\d\d \* ", gtext, re.M)), days,
         "%s: --group day: one entry per day and currency" % key)


def beancount_year(t, db, key, mp):
    path = os.path.join(db.tmp, "%s.beancount" % key)
    r = db.run("export", *PERIODS[key], "--format", "beancount", "--accounts", mp,
               "--output", path)
    t.eq(r.code, 0, "%s: beancount export %r" % (key, r))
    p = tool("bean-check", path)
    t.eq((p.returncode, p.stdout + p.stderr), (0, ""), "%s: bean-check" % key)
    text = open(path).read()
    t.check(re.search(r"open Income:Gebuehren(:\d+)?\n", text) is not None,
            "%s: the map's name for income:fees" % key)
    t.check(re.search(r"open Assets:1360(:| |\n)", text) is not None,
            "%s: a mapped number gets its role's root: Assets:1360" % key)
    p = tool("bean-query", "-f", "csv", path,
             "SELECT currency, sum(number) AS n WHERE account ~ '^Income:Gebuehren'"
             " GROUP BY currency")
    got = {}
    for row in list(csv.reader(io.StringIO(p.stdout)))[1:]:
        code, n = (x.strip() for x in row)
        got[code] = int(Decimal(n).scaleb(EXPONENTS[code]))
    want = {}
    for (name, code), v in engine_sums(db, RUNS[key]).items():
        if name.split(":")[:2] == ["income", "fees"]:
            want[code] = want.get(code, 0) + v
    t.eq({k: v for k, v in got.items() if v}, {k: v for k, v in want.items() if v},
         "%s: beancount's fee income is the engine's" % key)


def csv_year(t, db):
    r = db.run("export", "--period", "2024", "--format", "csv")
    t.eq(r.code, 0, "csv export %r" % r)
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    bad = [x for x in rows
           if int(Decimal(x["debit"] or "0").scaleb(2)) - int(Decimal(x["credit"] or "0")
                                                             .scaleb(2)) != int(x["amount_minor"])
           or (x["debit"] and x["credit"])]
    t.eq(bad, [], "csv: debit - credit is the amount, one of them empty")
    t.eq(sorted({int(x["run_id"]) for x in rows}), RUNS[2024], "csv: the period's runs")


# ---- DATEV, read back independently ----


def datev_split(line):
    """The fields of one line: ';' separates, double quotes enclose text
    (a quote inside doubled)."""
    fields, cur, quoted, i = [], "", False, 0
    while i < len(line):
        c = line[i]
        if quoted:
            if c == '"' and i + 1 < len(line) and line[i + 1] == '"':
                cur += '"'
                i += 1
            elif c == '"':
                quoted = False
            else:
                cur += c
        elif c == '"':
            quoted = True
        elif c == ";":
            fields.append(cur)
            cur = ""
        else:
            cur += c
        i += 1
    fields.append(cur)
    return fields


def datev_read(t, raw, what):
    """Checks the layout of an EXTF Buchungsstapel and returns (header,
    rows as dicts by column name)."""
    t.check(b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b""),
            "%s: lines end in CRLF" % what)
    t.check(not raw.startswith(b"\xef\xbb\xbf"), "%s: no byte order mark" % what)
    text = raw.decode("cp1252")  # fails on bytes Windows-1252 does not define
    lines = text.split("\r\n")
    t.eq(lines[-1], "", "%s: the last line ends in CRLF" % what)
    head, cols, body = datev_split(lines[0]), datev_split(lines[1]), lines[2:-1]
    t.eq(len(head), 31, "%s: 31 header fields (header version 700)" % what)
    t.eq(head[:5], ["EXTF", "700", "21", "Buchungsstapel", "13"],
         "%s: EXTF, version 700, category 21, Buchungsstapel, format version 13" % what)
    t.check(re.fullmatch(r"\d{17}", head[5]) is not None, "%s: Erzeugt am %r" % (what, head[5]))
    t.eq(len(cols), 125, "%s: 125 columns" % what)
    t.eq(cols[:14], ["Umsatz (ohne Soll/Haben-Kz)", "Soll/Haben-Kennzeichen", "WKZ Umsatz",
                     "Kurs", "Basis-Umsatz", "WKZ Basis-Umsatz", "Konto",
                     "Gegenkonto (ohne BU-Schlüssel)", "BU-Schlüssel", "Belegdatum",
                     "Belegfeld 1", "Belegfeld 2", "Skonto", "Buchungstext"],
         "%s: the first 14 columns" % what)
    t.check("Geschäftspartnerbank" in cols and "Abw. Skontokonto" == cols[-1],
            "%s: the column names, umlauts in Windows-1252" % what)
    out = []
    for k, line in enumerate(body):
        f = datev_split(line)
        if len(f) != 125:
            t.check(False, "%s: row %d has %d fields" % (what, k + 3, len(f)))
            continue
        out.append(dict(zip(cols, f)))
    return head, out


def datev_sums(t, head, rows, what):
    """{(Konto, WKZ): minor}: S debits Konto and credits Gegenkonto, H the
    other way; checks every row's form."""
    sums, bad = {}, []
    y0, y1 = head[14][:4], head[15][:4]
    for r in rows:
        amount, sh = r["Umsatz (ohne Soll/Haben-Kz)"], r["Soll/Haben-Kennzeichen"]
        konto, gegen = r["Konto"], r["Gegenkonto (ohne BU-Schlüssel)"]
        date, code = r["Belegdatum"], r["WKZ Umsatz"]
        if not (re.fullmatch(r"\d{1,10},\d\d", amount) and sh in ("S", "H")
                and re.fullmatch(r"\d{1,9}", konto) and re.fullmatch(r"\d{1,9}", gegen)
                and re.fullmatch(r"\d{4}", date) and code in EXPONENTS
                and r["Belegfeld 1"] and len(r["Buchungstext"]) <= 60):
            bad.append(r)
            continue
        full = (y0 if y0 == y1 else None, date[2:], date[:2])
        if full[0] and not head[14] <= "%s%s%s" % full <= head[15]:
            bad.append(r)
        minor = int(amount.replace(",", ""))
        if minor == 0:
            bad.append(r)
        sign = 1 if sh == "S" else -1
        sums[(konto, code)] = sums.get((konto, code), 0) + sign * minor
        sums[(gegen, code)] = sums.get((gegen, code), 0) - sign * minor
    t.eq(bad[:3], [], "%s: every row well formed, dated in the period" % what)
    return {k: v for k, v in sums.items() if v}


def load_map(path):
    """The accounts of a shipped map (its simple form: one quoted pair a line)."""
    out = {}
    for line in open(path, encoding="utf-8"):
        m = re.match(r'\s+"([^"]+)": "(\d+)"', line)
        if m:
            out[m.group(1)] = str(int(m.group(2)))
    return out


def datev_year(t, db, year, chart):
    mp = os.path.join(SOURCE, "config", "accounts-%s.yaml" % chart)
    accounts = load_map(mp)
    path = os.path.join(db.tmp, "EXTF_%s_%d.csv" % (chart, year))
    r = db.run("export", "--period", str(year), "--format", "datev", "--accounts", mp,
               "--output", path)
    what = "datev %s %d" % (chart, year)
    t.eq(r.code, 0, "%s: %r" % (what, r))
    if r.code:
        return
    raw = open(path, "rb").read()
    head, rows = datev_read(t, raw, what)
    t.eq([head[10], head[11], head[12], head[13], head[14], head[15], head[26]],
         ["1001", "1", "%d0101" % year, "4", "%d0101" % year, "%d1231" % year,
          chart[-2:]],
         "%s: Berater, Mandant, WJ-Beginn, Sachkontenlänge, Datum vom/bis, SKR" % what)
    want = {}
    for account, party, code, s in db.sql(
            "SELECT account, party_id, currency, sum(amount_minor) FROM"
            " coopsettle.ledger_lines WHERE posted_on BETWEEN %s AND %s GROUP BY 1, 2, 3",
            ("%d-01-01" % year, "%d-12-31" % year)):
        key = (accounts[account], code)
        want[key] = want.get(key, 0) + int(s)
    want = {k: v for k, v in want.items() if v}
    t.eq(datev_sums(t, head, rows, what), want,
         "%s: the sums per account number re-add to the lines posted in %d" % (what, year))
    again = os.path.join(db.tmp, "again.csv")
    r = db.run("export", "--period", str(year), "--format", "datev", "--accounts", mp,
               "--output", again)
    t.eq(open(again, "rb").read() if r.code == 0 else None, raw,
         "%s: the same database gives the same bytes" % what)


def exports(t):
    db, path = setup()
    for key in (2023, 2024, 2025, "all"):
        hledger_year(t, db, key)
    mp = os.path.join(db.tmp, "map.yaml")
    with open(mp, "w") as f:
        f.write('accounts:\n  "income:fees": "Income:Gebuehren"\n'
                '  "assets:clearing": "1360"\n')
    for key in (2023, 2024, "all"):
        beancount_year(t, db, key, mp)
    csv_year(t, db)
    for year in (2023, 2024, 2025, 2026):
        datev_year(t, db, year, "skr03")
    datev_year(t, db, 2025, "skr04")
    skr = os.path.join(SOURCE, "config", "accounts-skr03.yaml")
    r = db.run("export", "--from", "2024-07-01", "--to", "2025-07-01", "--format", "datev",
               "--accounts", skr)
    t.eq(r.code, 2, "a DATEV period across two fiscal years: exit 2")
    t.check("past the fiscal year 2024-01-01 to 2024-12-31" in r.stderr,
            "and says which: %s" % r.stderr)
    r = db.run("export", "--period", "2024", "--format", "datev")
    t.eq(r.code, 2, "datev without --accounts: exit 2")
    t.check("needs --accounts" in r.stderr, "and says so: %s" % r.stderr)
    bad = os.path.join(db.tmp, "bad.yaml")
    with open(bad, "w") as f:
        f.write("accounts:\n  \"assets:clearing\": \"1360\"\n  \"assets:clearing\": \"1361\"\n"
                "datev: {consultant: 99, client: 1}\n")
    r = db.run("export", "--period", "2024", "--format", "datev", "--accounts", bad)
    t.eq(r.code, 2, "a bad map: exit 2")
    t.check("bad.yaml:3:3:" in r.stderr and "twice" in r.stderr and
            "bad.yaml:4:" in r.stderr, "positioned errors: %s" % r.stderr)
    r = db.run("export", "--run", "16", "--format", "datev", "--accounts", skr)
    t.eq(r.code, 2, "one run's DATEV file with a reversal posted after its window: exit 2")
    t.check("posted on 2026-12-01, outside 2024-04-01 to 2024-06-30" in r.stderr,
            "and says which: %s" % r.stderr)
    r = db.run("export", "--period", "2024", "--run", "3", "--format", "csv")
    t.eq(r.code, 2, "--run and --period: exit 2")
    r = db.run("export", "--period", "1999", "--format", "hledger")
    t.eq(r.code, 0, "a period without runs: an empty, valid journal %r" % r)
    db.drop()


def main():
    t = Runner()
    t.case(exports)
    t.finish()


if __name__ == "__main__":
    main()
