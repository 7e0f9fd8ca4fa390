"""explain --run N --member ID and statements --run N --out DIR
(docs/auditing.md).

The distribute case is the one worked by hand in docs/surplus.md; the
settle case has a fee whose split leaves one unit for the largest
remainder. Figures in the explanations are checked against the engine
inside the engine itself (explain.c asserts); here we check that the
explanation says what an accountant needs, and that statements carry the
stored figures exactly, with HTML escaped.
"""
import html.parser
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from harness import Runner, TestDB  # noqa: E402

CONFIG = {
    "version": 1,
    "cooperative": "Surplus <b>Test</b> & \"Co\" eG",
    "currency": "EUR",
    "currencies": {"EUR": 2},
    "timezone": "Europe/Berlin",
    "on_invalid": "quarantine",
    "fees": [
        {"id": "guest-buyers", "when": {"consumer_member": False}, "rate": "9%",
         "borne_by": {"producer": "2/3", "consumer": "1/3"}},
        {"id": "flat", "rate": "10%", "borne_by": {"producer": "1/2", "consumer": "1/2"}},
    ],
    "surplus": {
        "costs": {"amount": {"EUR": "100.00"}},
        "steps": [
            {"id": "legal-reserve", "type": "account", "share": "10%",
             "account": "equity:reserves:legal"},
            {"id": "capital-interest", "type": "capital_interest", "rate": "3%",
             "cap_share": "1%"},
            {"id": "patronage-refund", "type": "patronage", "share": "50%", "basis": "fees",
             "classes": {"producer": "60%", "consumer": "40%"}, "min_patronage": "1.00",
             "cash_fraction": "20%"},
        ],
    },
}

MEMBERS = [
    (1, "producer", "2020-01-01", None, 100000),
    (2, "producer", "2026-11-16", None, 50000),
    (10, "consumer", "2020-01-01", None, 0),
    (11, "consumer", "2020-01-01", None, 0),
]

# docs/surplus.md; the guest sale (3) is made to use the guest rule here
ROWS = [
    (1, "2026-11-03 10:00:00+01", 1, 10, 100000, "EUR", "crafts"),
    (2, "2026-11-17 10:00:00+01", 2, 11, 60000, "EUR", "crafts"),
    (4, "2026-11-25 10:00:00+01", 2, 11, -80000, "EUR", "crafts"),
]
GUEST = (3, "2026-11-20 10:00:00+01", 1, None, 102881, "EUR", "crafts")
INVALID = (5, "2026-11-21 10:00:00+01", 1, 10, 100, "USD", "crafts")


def explain_settle(t):
    db = TestDB()
    db.add_members(MEMBERS)
    db.add_transactions(ROWS + [GUEST, INVALID])
    path = db.write_config(CONFIG)
    t.eq(db.run("settle", "--config", path, "--period", "2026-11").code, 0, "settle")
    r = db.run("explain", "--run", "1", "--member", "1")
    t.eq(r.code, 0, "explain settle %r" % r)
    out = r.stdout
    for text, what in (
            ("'guest-buyers' (line", "the rule is named with its config line"),
            ("does not match: it wants consumer_member false; consumer 10 is a member of class"
             " consumer", "why the guest rule does not apply to transaction 1"),
            ("'flat' (line", "the second rule"),
            ("rate 9% x a = 925929/100 = 9259.29", "the exact fee as fraction and decimal"),
            ("rounded half_even to whole minor units: fee 9259 (92.59 EUR)", "the rounding"),
            ("producer: quota T x w / W = 9259 x 2/3 / 1 = 18518/3 = 6172.666667...",
             "the producer's exact quota"),
            ("1 unit left after the floors of all 2 parts; rank 1 of 2 by fractional part",
             "the producer's rank"),
            ("gets one extra unit -> 6173", "the producer gets the unit"),
            ("consumer: quota T x w / W = 9259 x 1/3 / 1 = 9259/3 = 3086.333333...",
             "the consumer's quota"),
            ("no extra unit -> 3086", "the consumer does not"),
            ("the 4 ledger lines stored by run 1 equal these", "stored lines compared"),
            ("invalid (spec section 4): its currency is not configured", "the invalid row"),
            ("run 1 stored no ledger line for it, as computed", "and it has no lines"),
            ("stored     producer EUR: 2 transactions, gross 2028.81, fees 111.73",
             "stored party totals"),
            ("recomputed producer EUR: 2 transactions, gross 2028.81, fees 111.73",
             "recomputed party totals")):
        t.check(text in out, "%s: %r not in\n%s" % (what, text, out))
    t.check("the amount is negative" not in out, "member 1 has no refund")

    r = db.run("explain", "--run", "1", "--member", "11")
    t.check("the amount is negative (a refund): the fee and its shares take its sign" in
            r.stdout, "a refund is explained for member 11")

    # the database changes after the run: explain still explains what the run
    # read (its input snapshot), so the explanation stays the run's; verify
    # is what reports the drift
    db.sql("UPDATE coopsettle.transactions SET amount_minor = 100500 WHERE id = 1")
    db.sql("DELETE FROM coopsettle.transactions WHERE id = 3")
    r = db.run("explain", "--run", "1", "--member", "1")
    t.eq(r.code, 0, "explain after changes %r" % r)
    t.check("as the run read them (its input snapshot" in r.stdout,
            "explain says it reads the run's snapshot")
    t.check("rate 9% x a = 925929/100 = 9259.29" in r.stdout,
            "a changed transaction is explained as the run read it")
    t.check("the 4 ledger lines stored by run 1 equal these" in r.stdout,
            "the stored lines still equal the snapshot's computation")
    t.check("transaction 3" in r.stdout,
            "a transaction deleted since is still explained from the snapshot")
    v = db.run("verify", "--run", "1")
    t.eq(v.code, 5, "verify reports that the inputs changed since (exit 5)")
    t.check("inputs changed since run 1" in v.stdout + v.stderr, "and says so %r" % v)
    r = db.run("explain", "--run", "1", "--member", "999")
    t.eq(r.code, 0, "a party without transactions")
    t.check("party 999 has no transaction in the window of run 1" in r.stdout, "says so")
    t.eq(db.run("explain", "--run", "7", "--member", "1").code, 2, "no such run: exit 2")
    db.drop()


def explain_distribute(t):
    db = TestDB()
    db.add_members(MEMBERS)
    db.add_transactions(ROWS + [(3, "2026-11-20 10:00:00+01", 1, 10, 40000, "EUR", "crafts")])
    path = db.write_config(CONFIG)
    t.eq(db.run("settle", "--config", path, "--period", "2026-11").code, 0, "settle")
    t.eq(db.run("distribute", "--config", path, "--period", "2026-11").code, 0, "distribute")
    r = db.run("explain", "--run", "2", "--member", "1")
    t.eq(r.code, 0, "explain distribute %r" % r)
    out = r.stdout
    for text in (
            "these inputs hash to the run's input_sha256: they are exactly the run's",
            "surplus S = 2000 (20.00 EUR)",
            "share 10% of S = 200, rounded half_even: 200 (2.00 EUR)",
            "i = 3% x C x d / 365 = 18000/73 = 246.575342...",
            "cap_share 1% x S = 20",
            "member 1: quota T x w / W = 20 x 3000000 / 3750000 = 16",
            "the floors already make the total -> 16",
            "producer: quota T x w / W = 1000 x 3/5 / 1 = 600",
            "member 1: quota T x w / W = 600 x 7000 / 7000 = 600",
            "cash = ceil(R x 20%) = 120 (1.20 EUR); retained = R - cash = 480 (4.80 EUR)",
            "retained surplus: 780 (7.80 EUR)",
            "EUR: capital interest 16, patronage 600 (cash 120, retained 480): equal to the "
            "above"):
        t.check(text in out, "distribute explain: %r not in\n%s" % (text, out))
    r = db.run("explain", "--run", "2", "--member", "2")
    t.check("member 2 is not eligible: it has no positive patronage" in r.stdout,
            "member 2's negative patronage: %s" % r.stdout)
    t.check("member 2: quota T x w / W = 20 x 750000 / 3750000 = 4" in r.stdout,
            "member 2's capital interest quota")
    r = db.run("explain", "--run", "2", "--member", "99")
    t.eq(r.code, 2, "not a member: exit 2")
    t.check("member 99 is not in 'coopsettle.members'" in r.stderr, "says so: %s" % r.stderr)

    # statements
    out_dir = os.path.join(db.tmp, "statements")
    r = db.run("statements", "--run", "2", "--out", out_dir)
    t.eq(r.code, 0, "statements %r" % r)
    files = sorted(os.listdir(out_dir))
    stored = db.sql("SELECT member_id FROM coopsettle.member_allocations WHERE run_id = 2"
                    " ORDER BY 1")
    t.eq(files, sorted(["member-%d.%s" % (m, e) for (m,) in stored for e in ("html", "txt")]
                       + ["statements.html"]),
         "one text and one HTML statement per member with an allocation, and all in one")
    with open(os.path.join(out_dir, "member-1.txt")) as f:
        text = f.read()
    record = db.sql("SELECT record_sha256 FROM coopsettle.runs WHERE id = 2")[0][0]
    flat = " ".join(text.split())  # the letter's columns are spaces
    for want in ("Surplus <b>Test</b> & \"Co\" eG", "Member no.: 1", "Membership: producer",
                 "Period: 1 November 2026 – 30 November 2026",
                 "Your member business (fees you paid as a member) €70.00",
                 "Patronage refund €6.00", "paid in cash €1.20",
                 "credited to your capital €4.80", "Interest (gross) €0.16",
                 "Total paid to you €1.36",  # 0.16 interest + 1.20 cash
                 "Distribute run 2 (committed)", "in Europe/Berlin",
                 "Run record SHA-256: " + record):
        t.check(want in flat, "member-1.txt has %r:\n%s" % (want, text))
    with open(os.path.join(out_dir, "member-1.html")) as f:
        doc = f.read()
    t.check("Surplus &lt;b&gt;Test&lt;/b&gt; &amp; &quot;Co&quot; eG" in doc,
            "the cooperative's name is escaped")

    class Tags(html.parser.HTMLParser):
        def __init__(self):
            super().__init__()
            self.tags = set()

        def handle_starttag(self, tag, attrs):
            self.tags.add(tag)

    p = Tags()
    p.feed(doc)
    t.eq(p.tags - {"html", "head", "meta", "title", "style", "body", "section", "div", "h1",
                   "h2", "dl", "dt", "dd", "table", "tr", "td", "p", "br", "code", "footer"},
         set(),
         "no tag but the template's")
    t.check("<td class=\"amount\">€6.00</td>" in doc, "HTML amounts exact")
    with open(os.path.join(out_dir, "member-2.txt")) as f:
        t.check("Interest (gross) €0.04" in " ".join(f.read().split()),
                "member 2's capital interest")
    r = db.run("statements", "--run", "1", "--out", out_dir)
    t.eq(r.code, 2, "statements of a settle run: exit 2")
    r = db.run("statements", "--run", "2", "--out", os.path.join(db.tmp, "no", "such"))
    # a missing parent directory is for a person to fix, not for a retry (spec 10.4)
    t.eq(r.code, 2, "an output directory that cannot be made: exit 2 %r" % r)
    db.drop()


def main():
    t = Runner()
    for case in (explain_settle, explain_distribute):
        t.case(case)
    t.finish()


if __name__ == "__main__":
    main()
