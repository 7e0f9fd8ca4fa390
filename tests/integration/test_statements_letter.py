"""Member statements fit to send (issue 19 item 3; spec 10.6): German and
English letters printed to PDF by headless Chromium, one A4 page per
member, for three members -- one with tax withheld from its interest, one
with no patronage refund, one after a correction (a superseding run shows
old -> new). pdftotext must find each member's name and every amount as
the statement writes it; the amounts are worked out here from the spec,
never read back from the engine. Screenshots of the first page of each
language are kept under the build dir (test-artifacts/statements/).

Also: the statements keys change no hash (a re-run with other statements
keys is 'unchanged'), source.member_details is optional, and --format pdf
without Chromium is exit 2 with nothing written.

The scenario (config version 2, Europe/Berlin, November 2026, 30 days):
members 1 and 3 producers, 2 and 4 consumers; capital 36,500.00 EUR of
member 1 and 7,300.00 EUR of member 3 all month; fees 10% borne half by
each side; capital interest 5% on the daily balance with 26.375%
withheld; the rest as patronage refunds, half to each class, 40% in cash.
"""
import os
import re
import shutil
import subprocess
import sys
from fractions import Fraction as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from harness import BINARY, Runner, TestDB  # noqa: E402

CONFIG = {
    "version": 2,
    "cooperative": "Beispiel Plattform eG",
    "currency": "EUR",
    "currencies": {"EUR": 2},
    "timezone": "Europe/Berlin",
    "fees": [{"id": "members", "rate": "10%",
              "borne_by": {"producer": "1/2", "consumer": "1/2"}}],
    "surplus": {
        "costs": {"amount": {"EUR": "0.00"}},
        "steps": [
            {"id": "interest", "type": "capital_interest", "rate": "5%",
             "withholding": "26.375%"},
            {"id": "refund", "type": "patronage", "share": "remaining",
             "classes": {"producer": "50%", "consumer": "50%"}, "cash_fraction": "40%"},
        ],
    },
}
STATEMENTS = {
    "de": {"language": "de",
           "resolution": {"body": "Generalversammlung", "date": "2027-06-15"},
           "payout_date": "2027-07-01"},
    "en": {"language": "en",
           "resolution": {"body": "general meeting", "date": "2027-06-15"},
           "payout_date": "2027-07-01"},
}
MEMBERS = [(1, "producer", "2020-01-01", None, None), (2, "consumer", "2020-01-01", None, None),
           (3, "producer", "2020-01-01", None, None), (4, "consumer", "2020-01-01", None, None)]
CAPITAL = {1: 3650000, 3: 730000}  # minor units, booked 2025-01-01
ROWS = [(1, "2026-11-03 10:00:00+01", 1, 2, 2000000, "EUR", "x"),
        (2, "2026-11-17 15:00:00+01", 1, 4, 1400000, "EUR", "x")]
CORRECTION = (3, "2026-11-20 09:00:00+01", 1, 2, 500000, "EUR", "x")
DETAILS = {1: ("Anna Müller", "Lindenstraße 5\n10115 Berlin"),
           2: ("Bernd Schäfer", "Hauptstraße 12\n80331 München"),
           3: ("Clara Weiß & Söhne", "Am Markt 1\n04109 Leipzig")}
DAYS = 30
RATE, WITHHOLD, CASH = F(5, 100), F(26375, 100000), F(40, 100)


# ---- the figures, worked from the spec (sections 5, 6, 10.3) -------------

def largest_remainder(total, weights):
    """LR of total by weights (spec section 6): floors, then one unit each
    to the largest remainders, ties to the smaller key."""
    s = sum(weights.values())
    exact = {k: F(total) * w / s for k, w in weights.items()}
    out = {k: int(v // 1) for k, v in exact.items()}
    left = total - sum(out.values())
    for k in sorted(exact, key=lambda k: (-(exact[k] - out[k]), k))[:left]:
        out[k] += 1
    return out


def expected(rows):
    """Per member: capital, days, interest gross/withheld/net, member
    business, refund, cash, retained, paid -- and the uniform rates."""
    basis = {m: 0 for m in (1, 2, 3, 4)}
    income = 0
    for (_, _, prod, cons, amount, _, _) in rows:
        fee = amount * F(10, 100)
        assert fee.denominator == 1
        half = int(fee / 2)
        basis[prod] += half
        basis[cons] += half
        income += int(fee)
    interest = {m: int(RATE * c * DAYS / 365) for m, c in CAPITAL.items()}
    assert all(RATE * c * DAYS / 365 == interest[m] for m, c in CAPITAL.items())
    pool = income - sum(interest.values())
    classes = {"producer": [1, 3], "consumer": [2, 4]}
    class_pool = largest_remainder(pool, {"producer": 1, "consumer": 1})
    refund = {}
    rates = {}
    for cls, ids in classes.items():
        w = {m: basis[m] for m in ids if basis[m] > 0}
        refund.update(largest_remainder(class_pool[cls], w))
        rates[cls] = F(class_pool[cls], sum(w.values()))
    out = {}
    for m in (1, 2, 3, 4):
        gross = interest.get(m, 0)
        withheld = int(gross * WITHHOLD // 1)
        r = refund.get(m, 0)
        cash = -((-r * CASH) // 1)  # ceil
        out[m] = dict(capital=CAPITAL.get(m, 0), gross=gross, withheld=withheld,
                      net=gross - withheld, basis=basis[m], refund=r, cash=int(cash),
                      retained=r - int(cash), paid=gross - withheld + int(cash),
                      rate=rates["producer" if m in (1, 3) else "consumer"])
    return out


def money(minor, lang):
    """minor units of EUR as the language writes money: de 1.234,56 €,
    en €1,234.56 (written here on its own, from the convention)."""
    sign = "-" if minor < 0 else ""
    units, cents = divmod(abs(minor), 100)
    groups = "{:,}".format(units)
    if lang == "de":
        return "%s%s,%02d €" % (sign, groups.replace(",", "."), cents)
    return "%s€%s.%02d" % (sign, groups, cents)


def percent(q, lang):
    """q as a percentage rounded half up to 4 decimals, trailing zeros cut."""
    p = q * 100
    scaled = int((p * 10000 * 2 + 1) // 2)
    text = "%d.%04d" % divmod(scaled, 10000)
    text = text.rstrip("0").rstrip(".")
    return (text.replace(".", ",") + " %") if lang == "de" else text + "%"


# ---- the run -------------------------------------------------------------

def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def pdftotext(path):
    return subprocess.run(["pdftotext", "-layout", path, "-"], capture_output=True,
                          text=True, check=True).stdout


def pdf_pages(path):
    out = subprocess.run(["pdfinfo", path], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        if line.startswith("Pages:"):
            return int(line.split()[1])
    return None


def artifacts_dir():
    d = os.path.join(os.path.dirname(os.path.abspath(BINARY)) if os.sep in BINARY
                     else os.getcwd(), "test-artifacts", "statements")
    os.makedirs(d, exist_ok=True)
    return d


def screenshot(chrome, html, png):
    subprocess.run([chrome, "--headless", "--no-sandbox", "--disable-gpu",
                    "--hide-scrollbars", "--window-size=900,1250",
                    "--screenshot=" + png, "file://" + os.path.abspath(html)],
                   capture_output=True, timeout=120)
    return os.path.exists(png) and os.path.getsize(png) > 0


def setup(db):
    db.add_members(MEMBERS)
    db.add_transactions(ROWS)
    for m, c in CAPITAL.items():
        db.sql("INSERT INTO coopsettle.capital_movements VALUES (%s, '2025-01-01', %s)", (m, c))
    db.sql("CREATE TABLE coopsettle.member_details (id bigint, name text, address text)")
    for m, (name, addr) in DETAILS.items():
        db.sql("INSERT INTO coopsettle.member_details VALUES (%s, %s, %s)", (m, name, addr))


def config(db, lang, name):
    cfg = dict(CONFIG)
    cfg["statements"] = STATEMENTS[lang]
    return db.write_config(cfg, name)


def check_page(t, text, m, exp, lang, what, old=None):
    """The page of member m states its name and every amount (old -> new
    for each changed one when old is given)."""
    name = DETAILS.get(m, (None,))[0]
    if name:
        t.check(name in text, "%s: member %d's name %r on its page" % (what, m, name))
    keys = ["basis", "refund", "cash", "retained", "paid"]
    if exp["capital"]:
        keys += ["capital", "gross", "withheld", "net"]
    for k in keys:
        want = money(exp[k], lang)
        if old is not None and old[k] != exp[k]:
            want = "%s → %s" % (money(old[k], lang), want)
        flat = " ".join(text.split())
        t.check(want in flat, "%s: member %d's %s %r is on the page:\n%s"
                % (what, m, k, want, text))
    if exp["refund"]:
        t.check(percent(exp["rate"], lang) in text,
                "%s: member %d's uniform rate %s" % (what, m, percent(exp["rate"], lang)))


def letters(t):
    chrome = chromium()
    if not chrome or not shutil.which("pdftotext"):
        print("SKIP test_statements_letter: needs chromium and pdftotext (poppler-utils)")
        return
    db = TestDB()
    setup(db)
    cfg_de = config(db, "de", "de.yaml")
    cfg_en = config(db, "en", "en.yaml")
    r = db.run("settle", "--config", cfg_de, "--period", "2026-11")
    t.eq(r.code, 0, "settle %r" % r)
    r = db.run("distribute", "--config", cfg_de, "--period", "2026-11")
    t.eq(r.code, 0, "distribute %r" % r)
    # the statements keys change no figure: another language is 'unchanged'
    r = db.run("distribute", "--config", cfg_en, "--period", "2026-11", "--dry-run")
    t.eq(r.code, 0, "other statements keys: %r" % r)
    t.check("unchanged" in r.stdout, "the run with other statements keys is unchanged: %r" % r)
    before = expected(ROWS)

    # the correction: a sale found later, settled and distributed again
    db.add_transactions([CORRECTION])
    r = db.run("settle", "--config", cfg_de, "--period", "2026-11", "--supersede",
               "--reason", "late sale 3")
    t.eq(r.code, 0, "settle --supersede %r" % r)
    r = db.run("distribute", "--config", cfg_de, "--period", "2026-11", "--supersede",
               "--reason", "late sale 3")
    t.eq(r.code, 0, "distribute --supersede %r" % r)
    after = expected(ROWS + [CORRECTION])
    art = artifacts_dir()

    for lang, cfg in (("de", cfg_de), ("en", cfg_en)):
        for run, exp, old in (("2", before, None), ("4", after, before)):
            out = os.path.join(db.tmp, "st-%s-%s" % (lang, run))
            r = db.run("statements", "--run", run, "--out", out, "--format", "pdf",
                       "--config", cfg)
            t.eq(r.code, 0, "statements %s run %s as PDF: %r" % (lang, run, r))
            if r.code != 0:
                continue
            what = "%s run %s" % (lang, run)
            pages = pdf_pages(os.path.join(out, "statements.pdf"))
            t.eq(pages, 4, "%s: statements.pdf has one page per member" % what)
            text = pdftotext(os.path.join(out, "statements.pdf"))
            per_page = text.split("\f")
            for i, m in enumerate((1, 2, 3, 4)):
                page = per_page[i] if i < len(per_page) else ""
                t.eq(pdf_pages(os.path.join(out, "member-%d.pdf" % m)), 1,
                     "%s: member-%d.pdf is one page" % (what, m))
                check_page(t, page, m, exp[m], lang, what, old and old[m])
            p1, p2, p3, p4 = per_page[:4]
            # the withholding member: gross, withheld, net and the rate
            t.check(("26,375 %" if lang == "de" else "26.375%") in p1,
                    "%s: the withholding rate" % what)
            # zero patronage, explained in one sentence
            sentence = ("Sie hatten in diesem Zeitraum keine Mitgliedergeschäfte" if lang == "de"
                        else "You had no member business in this period")
            t.check(sentence in " ".join(p3.split()), "%s: member 3's zero refund explained:\n%s"
                    % (what, p3))
            # the resolution and payout date, the cooperative
            for want in ((["Generalversammlung", "15.06.2027", "01.07.2027"] if lang == "de"
                          else ["general meeting", "15 June 2027", "1 July 2027"]) +
                         ["Beispiel Plattform eG"]):
                t.check(want in " ".join(p1.split()), "%s: %r on the page" % (what, want))
            # no name for member 4: its number only, no error
            t.check(("Mitgliedsnummer 4" if lang == "de" else "Member no. 4") in p4,
                    "%s: member 4 without details is named by its number" % what)
            # hashes only in the footnote (after the amounts)
            record = db.sql("SELECT record_sha256 FROM coopsettle.runs WHERE id = %s",
                            (int(run),))[0][0]
            flat = "".join(p1.split())
            t.check(record in flat and flat.index(record) > flat.index("SHA-256") > 0,
                    "%s: the record hash is in the footnote" % what)
            if run == "4":
                t.check("→" in p2, "%s: old → new on the corrected statement" % what)
                shutil.copy(os.path.join(out, "statements.pdf"),
                            os.path.join(art, "statements-%s.pdf" % lang))
                shutil.copy(os.path.join(out, "member-1.txt"),
                            os.path.join(art, "member-1-%s.txt" % lang))
                t.check(screenshot(chrome, os.path.join(out, "member-1.html"),
                                   os.path.join(art, "statement-%s.png" % lang)),
                        "%s: a screenshot of member 1's statement" % what)
                screenshot(chrome, os.path.join(out, "member-2.html"),
                           os.path.join(art, "statement-%s-corrected.png" % lang))

    # HTML: A4, one member per page, nothing but the template's tags
    with open(os.path.join(db.tmp, "st-en-4", "statements.html"), encoding="utf-8") as f:
        doc = f.read()
    t.check("@page{size:A4" in doc and "page-break-after:always" in doc, "A4, a page per member")
    t.check("<script" not in doc and "http" not in doc.replace("http-equiv", ""),
            "no script and no network in the HTML")
    t.check("Clara Weiß &amp; Söhne" in doc, "names are escaped")

    # the run's own config (no statements keys): English, no resolution
    out = os.path.join(db.tmp, "st-own")
    r = db.run("statements", "--run", "2", "--out", out)
    t.eq(r.code, 0, "statements from the run's config %r" % r)
    with open(os.path.join(out, "member-1.txt"), encoding="utf-8") as f:
        text = f.read()
    t.check("Mitteilung über die Überschussverteilung" in text,
            "the run's config (de) decides the language without --config:\n" + text)

    # source.member_details named but missing: exit 2, nothing written
    cfg = dict(CONFIG)
    cfg["source"] = {"member_details": "public.no_such_details"}
    bad = db.write_config(cfg, "bad.yaml")
    out = os.path.join(db.tmp, "st-bad")
    r = db.run("statements", "--run", "2", "--out", out, "--config", bad)
    t.eq(r.code, 2, "a missing member_details the config names: exit 2 %r" % r)
    t.check("no_such_details" in r.stderr, "names it: %s" % r.stderr)
    t.check(not os.path.exists(out), "nothing written")
    # without the table: member ids only, no error
    db.sql("DROP TABLE coopsettle.member_details")
    out = os.path.join(db.tmp, "st-noname")
    r = db.run("statements", "--run", "2", "--out", out, "--config", cfg_en)
    t.eq(r.code, 0, "no member_details relation: %r" % r)
    with open(os.path.join(out, "member-1.txt"), encoding="utf-8") as f:
        text = f.read()
    t.check("Anna" not in text and "Member no.: 1" in text, "the id only:\n" + text)
    # --format pdf without Chromium: exit 2, nothing written
    out = os.path.join(db.tmp, "st-nochrome")
    r = db.run("statements", "--run", "2", "--out", out, "--format", "pdf",
               env=dict(os.environ, PATH="/nonexistent", CS_CHROMIUM=""))
    t.eq(r.code, 2, "--format pdf without Chromium: exit 2 %r" % r)
    t.check("Chromium" in r.stderr and not os.path.exists(out), "says so, writes nothing")
    r = db.run("statements", "--run", "2", "--out", out, "--format", "docx")
    t.eq(r.code, 2, "an unknown format: exit 2")
    db.drop()


def vat_on_fees(t):
    """With VAT on fees (issue 21): the statement shows, under the member
    business (net fees), the VAT charged on those fees -- the sum of the
    per-transaction VAT the settle runs stored for the member. Worked by
    hand: 5% borne half by each side, 19% VAT excluded; sales of 200.00 and
    400.00 give side fees of 5.00 and 10.00, VAT 0.95 and 1.90 (exact, no
    rounding), so producer 1 and consumer 10 each bore 15.00 net, 2.85 VAT."""
    cfg = {"version": 2, "cooperative": "Steuer eG", "currency": "EUR",
           "currencies": {"EUR": 2}, "timezone": "Europe/Berlin", "vat": {"rate": "19%"},
           "fees": [{"id": "all", "rate": "5%",
                     "borne_by": {"producer": "1/2", "consumer": "1/2"}}],
           "surplus": {"costs": {"amount": {"EUR": "0.00"}}, "steps": [
               {"id": "refund", "type": "patronage", "share": "remaining",
                "classes": {"producer": "50%", "consumer": "50%"}}]}}
    db = TestDB()
    db.add_members([(1, "producer", "2020-01-01", None, None),
                    (10, "consumer", "2020-01-01", None, None)])
    db.add_transactions([(1, "2026-10-05 12:00:00+02", 1, 10, 20000, "EUR", "x"),
                         (2, "2026-10-06 12:00:00+02", 1, 10, 40000, "EUR", "x")])
    path = db.write_config(cfg)
    t.eq(db.run("settle", "--config", path, "--period", "2026-10").code, 0, "settle")
    t.eq(db.run("distribute", "--config", path, "--period", "2026-10").code, 0, "distribute")
    out = os.path.join(db.tmp, "st-vat")
    r = db.run("statements", "--run", "2", "--out", out)
    t.eq(r.code, 0, "statements %r" % r)
    for m in (1, 10):
        with open(os.path.join(out, "member-%d.txt" % m), encoding="utf-8") as f:
            text = f.read()
        t.check(re.search(r"net of VAT\).*€15\.00", text) is not None,
                "member %d: member business 15.00 net:\n%s" % (m, text))
        t.check(re.search(r"VAT on these fees.*€2\.85", text) is not None,
                "member %d: VAT on those fees 2.85:\n%s" % (m, text))
    db.drop()


def dropped_member(t):
    """A correction that leaves a member out (its membership row was wrong):
    the superseding run's statements still write that member a letter, every
    figure shown as before -> 0. Worked by hand: two producers with 5% fees
    of 100.00 and 300.00 (5.00 and 15.00), the whole surplus 20.00 refunded
    to producers by their fees: 5.00 and 15.00; without member 2, member 1
    takes the whole 20.00."""
    cfg = {"version": 1, "cooperative": "Korrektur eG", "currency": "EUR",
           "currencies": {"EUR": 2}, "timezone": "Europe/Berlin",
           "fees": [{"id": "all", "rate": "5%"}],
           "surplus": {"costs": {"amount": {"EUR": "0.00"}}, "steps": [
               {"id": "refund", "type": "patronage", "share": "remaining",
                "classes": {"producer": "100%"}}]}}
    db = TestDB()
    db.add_members([(1, "producer", "2020-01-01", None, 0),
                    (2, "producer", "2020-01-01", None, 0)])
    db.add_transactions([(1, "2026-10-05 12:00:00+02", 1, None, 10000, "EUR", "x"),
                         (2, "2026-10-06 12:00:00+02", 2, None, 30000, "EUR", "x")])
    path = db.write_config(cfg)
    t.eq(db.run("settle", "--config", path, "--period", "2026-10").code, 0, "settle")
    t.eq(db.run("distribute", "--config", path, "--period", "2026-10").code, 0, "distribute")
    db.sql("DELETE FROM coopsettle.members WHERE id = 2")
    r = db.run("distribute", "--config", path, "--period", "2026-10", "--supersede",
               "--reason", "member 2 was never a member")
    t.eq(r.code, 0, "the correction %r" % r)
    out = os.path.join(db.tmp, "st-dropped")
    r = db.run("statements", "--run", "3", "--out", out)
    t.eq(r.code, 0, "statements of the correction %r" % r)
    t.check(os.path.exists(os.path.join(out, "member-2.txt")),
            "the member the correction left out gets a letter")
    if os.path.exists(os.path.join(out, "member-2.txt")):
        with open(os.path.join(out, "member-2.txt"), encoding="utf-8") as f:
            text = f.read()
        t.check(re.search(r"€15\.00 → €0\.00", text) is not None,
                "member 2: its refund 15.00 -> 0.00:\n%s" % text)
    with open(os.path.join(out, "member-1.txt"), encoding="utf-8") as f:
        text = f.read()
    t.check(re.search(r"€5\.00 → €20\.00", text) is not None,
            "member 1: its refund 5.00 -> 20.00:\n%s" % text)
    db.drop()


def main():
    t = Runner()
    t.case(letters)
    t.case(vat_on_fees)
    t.case(dropped_member)
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
