"""report --period P --out FILE.html (docs/report.md; spec 10.6, issue 19 item 4).

Two years of monthly settle runs in two currencies (March 2024 superseded
after a late transaction) and a distribute run per year with a patronage
step over both classes. The page is parsed with html.parser and every
figure it carries is checked against an independent source: the fee income
per month against the settle runs' --json statements, each waterfall
against the distribute runs' --json statements, the refunds per class
against the members' classes (config version 1: one class per member), and
the Gini coefficient against a pairwise computation in exact fractions. The
page must reference nothing outside itself; when chromium is installed it
is rendered headless, without console errors, and a screenshot is kept in
the build directory.
"""
import html.parser
import os
import random
import re
import shutil
import subprocess
import sys
from fractions import Fraction

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from harness import Runner, TestDB  # noqa: E402

CONFIG = {
    "version": 1,
    "cooperative": "Report & Test eG",
    "currency": "EUR",
    "currencies": {"EUR": 2, "JPY": 0},
    "timezone": "Europe/Berlin",
    "fees": [{"id": "flat", "rate": "7.5%", "borne_by": {"producer": "1/2", "consumer": "1/2"}}],
    "surplus": {
        "costs": {"amount": {"EUR": "40.00", "JPY": "500"}},
        "steps": [
            {"id": "legal-reserve", "type": "account", "share": "10%",
             "account": "equity:reserves:legal"},
            {"id": "capital-interest", "type": "capital_interest", "rate": "3%",
             "cap_share": "5%"},
            {"id": "patronage-refund", "type": "patronage", "share": "remaining",
             "classes": {"producer": "60%", "consumer": "40%"}, "min_patronage": "1",
             "cash_fraction": "1/3"},
        ],
    },
}

PRODUCERS = [1, 2, 3, 4, 5, 6]
CONSUMERS = [10, 11, 12, 13, 14]
MEMBERS = ([(p, "producer", "2020-01-01", None, 10000 * p) for p in PRODUCERS] +
           [(c, "consumer", "2020-01-01", None, 0) for c in CONSUMERS])
CLASS = {m[0]: m[1] for m in MEMBERS}

MONTHS = [(y, m) for y in (2024, 2025) for m in range(1, 13)]


def transactions():
    rnd = random.Random(19)
    rows, n = [], 0
    for (y, m) in MONTHS:
        for _ in range(rnd.randint(3, 7)):
            n += 1
            cur = "JPY" if rnd.random() < 0.3 else "EUR"
            # producer 6 trades little: its refund is small, a few none
            prod = rnd.choice(PRODUCERS[:5] if rnd.random() < 0.9 else PRODUCERS)
            cons = rnd.choice(CONSUMERS + [None])
            amount = rnd.randint(500, 90000) * (1 if cur == "EUR" else 3)
            day = rnd.randint(1, 28)
            rows.append((n, "%04d-%02d-%02d 12:00:00+01" % (y, m, day), prod, cons, amount,
                         cur, "goods"))
    return rows


class Page(html.parser.HTMLParser):
    """Every start tag with its attributes, and the text of the page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags = []
        self.text = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    def find(self, tag=None, **want):
        return [a for (t, a) in self.tags if (tag is None or t == tag) and
                all(a.get(k.replace("_", "-")) == v for k, v in want.items())]


def parse(path):
    with open(path, encoding="utf-8") as f:
        raw = f.read()
    p = Page()
    p.feed(raw)
    p.close()
    return raw, p


def month_key(ts):
    return ts[:7]


def gini(xs):
    """G = sum_i sum_j |x_i - x_j| / (2 n^2 mean), exactly."""
    n = len(xs)
    total = sum(xs)
    s = sum(abs(a - b) for a in xs for b in xs)
    return Fraction(s, 2 * n * total)  # 2 n^2 mean = 2 n T


def build(t):
    db = TestDB()
    db.add_members(MEMBERS)
    rows = transactions()
    db.add_transactions(rows)
    path = db.write_config(CONFIG)
    settles = {}
    for (y, m) in MONTHS:
        r = db.run("settle", "--config", path, "--period", "%04d-%02d" % (y, m), "--json")
        t.eq(r.code, 0, "settle %04d-%02d %r" % (y, m, r))
        settles["%04d-%02d" % (y, m)] = r.json()
    # a late transaction of March 2024: the month is settled again
    db.add_transactions([(9001, "2024-03-30 09:00:00+01", 3, 12, 77777, "EUR", "goods")])
    r = db.run("settle", "--config", path, "--period", "2024-03", "--supersede", "--reason",
               "late transaction", "--json")
    t.eq(r.code, 0, "settle --supersede 2024-03 %r" % r)
    superseded = settles["2024-03"]["run_id"]
    settles["2024-03"] = r.json()
    dists = {}
    for y in (2024, 2025):
        r = db.run("distribute", "--config", path, "--period", str(y), "--json")
        t.eq(r.code, 0, "distribute %d %r" % (y, r))
        dists[y] = r.json()
    return db, path, settles, dists, superseded


def check_self_contained(t, raw, p):
    t.check(not p.find("script"), "no <script> at all")
    t.check(not re.search(r"(?i)https?://", raw), "no http(s):// reference")
    t.check(not re.search(r"(?i)(src|href)\s*=\s*\"(?!#)", raw), "every src/href is a fragment")
    t.check(not re.search(r"(?i)url\((?!#)", raw), "every url() is a fragment")
    t.check(not p.find("link") and not p.find("img") and not p.find("iframe"),
            "no <link>, <img>, <iframe>")
    t.check(len(p.find("svg")) >= 5, "SVG charts present (%d)" % len(p.find("svg")))
    t.check(raw.startswith("<!DOCTYPE html>") and raw.rstrip().endswith("</html>"),
            "a complete document")
    # black and white: every chart bar carries a pattern or the solid grey
    # class and a <title>; every class has its own hatch
    fills = {re.sub(r"^url\(#[a-z]+\d+-", "", a.get("fill", "")): a["data-class"]
             for a in p.find("rect") if a.get("data-class")}
    t.eq(sorted(fills.values()), ["consumer", "producer"], "each class its own hatch %r" % fills)
    t.check(all(a.get("fill", "").startswith("url(#") or a.get("class") == "solid"
                for a in p.find("rect") if "data-amount-minor" in a),
            "every bar is hatched or solid grey")


def check_fees(t, p, settles):
    want = {}
    runs_total = {}
    for month, st in settles.items():
        for code, c in st["currencies"].items():
            fee = c.get("fee_income_minor", c["fees_minor"])
            want.setdefault(code, {})
            # a month's run: its lines are posted in its month
            want[code][month] = want[code].get(month, 0) + fee
            runs_total[code] = runs_total.get(code, 0) + fee
    for code in ("EUR", "JPY"):
        charts = p.find("svg", data_chart="fee-income", data_currency=code)
        t.eq(len(charts), 1, "one fee chart for %s" % code)
        bars = {}
        seen = False
        for (tag, a) in p.tags:
            if tag == "svg":
                seen = a.get("data-chart") == "fee-income" and a.get("data-currency") == code
            elif seen and tag == "rect" and "data-month" in a:
                bars[a["data-month"]] = int(a["data-amount-minor"])
        t.eq(len(bars), 24, "24 monthly bars in %s" % code)
        t.eq({k: v for k, v in bars.items() if v}, {k: v for k, v in want[code].items() if v},
             "%s fee income per month = the settle runs' fee income" % code)
        if charts:
            t.eq(int(charts[0]["data-total-minor"]), runs_total[code], "%s total" % code)


def check_falls(t, p, dists):
    for y, st in dists.items():
        for code, c in st["currencies"].items():
            svgs = p.find("svg", data_chart="waterfall", data_run=str(st["run_id"]),
                          data_currency=code)
            t.eq(len(svgs), 1, "a waterfall for run %d %s" % (st["run_id"], code))
            if not svgs:
                continue
            a = svgs[0]
            t.eq((int(a["data-fee-income-minor"]), int(a["data-costs-minor"]),
                  int(a["data-surplus-minor"]), int(a["data-retained-minor"])),
                 (c["fee_income_minor"], c["costs_minor"], c["surplus_minor"],
                  c["retained_surplus_minor"]), "waterfall %d %s figures" % (y, code))
            bars, seen = [], False
            for (tag, at) in p.tags:
                if tag == "svg":
                    seen = at is a
                elif seen and tag == "rect" and "data-label" in at:
                    bars.append((at["data-label"], at["data-kind"], int(at["data-amount-minor"])))
            want = ([("fee income", "total", c["fee_income_minor"]),
                     ("costs", "change", -c["costs_minor"]),
                     ("surplus", "total", c["surplus_minor"])] +
                    [(s["id"], "change", -s["amount_minor"]) for s in c["steps"]] +
                    [("retained surplus", "total", c["retained_surplus_minor"])])
            t.eq(bars, want, "waterfall %d %s bars" % (y, code))
            level = c["surplus_minor"] - sum(s["amount_minor"] for s in c["steps"])
            t.eq(level, c["retained_surplus_minor"], "the steps lead to the retained surplus")


def refunds_by_member(dists):
    out = {}
    for st in dists.values():
        for m in st["members"]:
            key = (m["currency"], m["id"])
            out[key] = out.get(key, 0) + m["patronage_minor"]
    return out


def check_classes(t, p, dists):
    refunds = refunds_by_member(dists)
    for code in ("EUR", "JPY"):
        want = {"producer": 0, "consumer": 0}
        for (cur, mid), v in refunds.items():
            if cur == code:
                want[CLASS[mid]] += v
        got = {}
        seen = False
        for (tag, a) in p.tags:
            if tag == "svg":
                seen = a.get("data-chart") == "classes" and a.get("data-currency") == code
            elif seen and tag == "rect" and "data-class" in a:
                got[a["data-class"]] = int(a["data-amount-minor"])
        t.eq(got, want, "%s refunds per class = the members' refunds by their class" % code)
        t.check(want["producer"] > 0 and want["consumer"] > 0, "both classes refunded")
        # and the class split is the 60/40 largest-remainder split of each step
        step_total = sum(s["amount_minor"] for st in dists.values()
                         for s in st["currencies"][code]["steps"] if s["id"] == "patronage-refund")
        t.eq(sum(want.values()), step_total, "%s refunds = the patronage steps" % code)


def check_gini(t, p, dists):
    refunds = refunds_by_member(dists)
    for code in ("EUR", "JPY"):
        xs = [v for (cur, _), v in refunds.items() if cur == code and v > 0]
        g = gini(xs)
        charts = p.find("svg", data_chart="lorenz", data_currency=code)
        t.eq(len(charts), 1, "one Lorenz chart for %s" % code)
        if not charts:
            continue
        a = charts[0]
        t.eq(int(a["data-members"]), len(xs), "%s members counted (refund > 0)" % code)
        got = Fraction(int(a["data-gini-num"]), int(a["data-gini-den"]))
        t.eq(got, g, "%s Gini exactly" % code)
        shown = [x for x in p.text if re.fullmatch(r"\d\.\d{9}", x.strip())]
        t.check(any(abs(Fraction(s.strip()) - g) <= Fraction(1, 10**9) for s in shown),
                "%s Gini shown to 1e-9 (%s, want %.12f)" % (code, shown, float(g)))
        t.check(0 < g < 1, "%s 0 < G < 1" % code)


def check_runs(t, p, db, superseded, verdicts):
    ids = [r[0] for r in db.sql("SELECT id FROM coopsettle.runs ORDER BY id")]
    rows = p.find("tr")
    got = {int(a["data-run"]): a["data-verify"] for a in rows if "data-run" in a}
    t.eq(sorted(got), ids, "every run is listed")
    for rid in ids:
        t.eq(got.get(rid), verdicts.get(rid, "verifies"), "run %d verify status" % rid)
    hashes = db.sql("SELECT record_sha256, input_sha256, output_sha256 FROM coopsettle.runs")
    text = "".join(p.text)
    t.check(all(h in text for row in hashes for h in row), "every run's hashes are shown")
    t.check("superseded by run" in text, "the superseded run says by which")


def chromium(t, out, build_dir):
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if not exe:
        print("SKIP: chromium is not installed (scripts/lib/common.sh CS_DEPS installs it)")
        return
    art = os.path.join(build_dir, "test-artifacts")
    os.makedirs(art, exist_ok=True)
    shot = os.path.join(art, "report.png")
    if os.path.exists(shot):
        os.unlink(shot)
    base = [exe, "--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars",
            "--enable-logging=stderr", "--v=0", "--user-data-dir=" + os.path.join(art, "chr")]
    r = subprocess.run(base + ["--window-size=1200,3000", "--screenshot=" + shot,
                               "file://" + out], capture_output=True, text=True, timeout=120)
    t.check(os.path.exists(shot) and os.path.getsize(shot) > 10000,
            "chromium made a screenshot %s: %s" % (shot, r.stderr[-1500:]))
    r = subprocess.run(base + ["--dump-dom", "file://" + out], capture_output=True, text=True,
                       timeout=120)
    t.check("<svg" in r.stdout and "Lorenz curve" in r.stdout, "chromium read the page")
    bad = [ln for ln in r.stderr.splitlines()
           if "CONSOLE" in ln or "Uncaught" in ln or "Failed to load resource" in ln or
           "Refused to" in ln]
    t.eq(bad, [], "no console errors in chromium")
    # the whole page printed to PDF, as a board member would print it
    pdf = os.path.join(art, "report.pdf")
    r = subprocess.run(base + ["--no-pdf-header-footer", "--print-to-pdf=" + pdf,
                               "file://" + out], capture_output=True, text=True, timeout=120)
    t.check(os.path.exists(pdf) and os.path.getsize(pdf) > 5000, "the page prints to PDF")


def main_case(t):
    db, path, settles, dists, superseded = build(t)
    out = os.path.join(db.tmp, "report.html")
    r = db.run("report", "--period", "2024", "--to", "x", "--out", out)
    t.eq(r.code, 2, "--period with --to is usage %r" % r)
    r = db.run("report", "--period", "2024")
    t.eq(r.code, 2, "--out is required %r" % r)
    r = db.run("report", "--from", "2024-01-01", "--to", "2026-01-01", "--out", out,
               "--config", path)
    t.eq(r.code, 0, "report of two years %r" % r)
    t.check("2 committed distribute runs" in r.stdout and "written to" in r.stdout,
            "the summary %r" % r.stdout)
    raw, p = parse(out)
    check_self_contained(t, raw, p)
    check_fees(t, p, settles)
    check_falls(t, p, dists)
    check_classes(t, p, dists)
    check_gini(t, p, dists)
    check_runs(t, p, db, superseded, {superseded: "inputs changed"})
    t.check("Report &amp; Test eG" in raw, "the cooperative's name, escaped")
    t.check(not [f for f in os.listdir(db.tmp) if ".tmp-" in f], "no temporary file left")
    t.check("Every run of the period verifies" in raw,
            "a superseded run whose inputs changed is no fault")
    build_dir = os.path.dirname(os.path.abspath(os.environ.get("CS_BINARY", "coopsettle")))
    art = os.path.join(build_dir, "test-artifacts")
    os.makedirs(art, exist_ok=True)
    shutil.copyfile(out, os.path.join(art, "report.html"))
    chromium(t, out, build_dir)

    # one year: only its runs; the default config is the latest run's
    one = os.path.join(db.tmp, "2025.html")
    r = db.run("report", "--period", "2025", "--out", one)
    t.eq(r.code, 0, "report of 2025 %r" % r)
    _, p1 = parse(one)
    t.eq(len(p1.find("svg", data_chart="waterfall")), 2, "2025: one run, two currencies")
    t.eq(len([a for a in p1.find("tr") if "data-run" in a]), 13, "2025: 12 settle + 1 distribute")
    check_gini(t, p1, {2025: dists[2025]})

    # an empty period: a valid page that says so
    empty = os.path.join(db.tmp, "empty.html")
    r = db.run("report", "--period", "2023", "--out", empty)
    t.eq(r.code, 0, "an empty period %r" % r)
    raw, pe = parse(empty)
    t.check("No run lies in the period" in raw and raw.rstrip().endswith("</html>"),
            "the empty page says so")
    t.check("(no run lies in the period" in r.stdout, "and the summary too: %r" % r.stdout)

    # a committed run whose inputs changed: the page is written, exit 5
    db.sql("UPDATE coopsettle.transactions SET amount_minor = amount_minor + 100"
           " WHERE id = (SELECT min(id) FROM coopsettle.transactions"
           " WHERE occurred_at >= '2025-06-01' AND occurred_at < '2025-07-01')")
    os.unlink(one)
    r = db.run("report", "--period", "2025", "--out", one)
    t.eq(r.code, 5, "a run that does not verify is exit 5 %r" % r)
    t.check("do not verify" in r.stderr or "does not verify" in r.stderr, "stderr says so")
    t.check(os.path.exists(one), "the page is written all the same")
    if os.path.exists(one):
        _, p2 = parse(one)
        june = settles["2025-06"]["run_id"]
        rows = {int(a["data-run"]): a["data-verify"] for a in p2.find("tr") if "data-run" in a}
        t.eq(rows.get(june), "inputs changed", "June 2025 inputs changed")
        # the settle run still stands (not superseded), so the distribute
        # run's inputs -- the settle runs' stored totals -- did not change
        t.eq(rows.get(dists[2025]["run_id"]), "verifies", "the distribute run over it")

    # a file that cannot be created: exit 2, nothing written
    r = db.run("report", "--period", "2025", "--out", os.path.join(db.tmp, "no", "r.html"))
    t.eq(r.code, 2, "an impossible --out is exit 2 %r" % r)
    db.drop()


def one_class(t):
    """Only guests buy: no consumer is eligible, so the consumer class pays
    nothing and its 40% stays in the retained surplus; the step's amount is
    the producer class's part alone, and the page counts it as the
    producers'. The waterfall still adds up to the retained surplus."""
    db = TestDB()
    db.add_members(MEMBERS)
    db.add_transactions([(i, "2025-0%d-10 12:00:00+01" % (1 + i % 6), 1 + i % 3, None,
                          10000 + 999 * i, "EUR", "goods") for i in range(1, 13)])
    cfg = dict(CONFIG, currencies={"EUR": 2},
               surplus=dict(CONFIG["surplus"], costs={"amount": {"EUR": "10.00"}}))
    path = db.write_config(cfg)
    for m in range(1, 7):
        t.eq(db.run("settle", "--config", path, "--period", "2025-%02d" % m).code, 0, "settle")
    r = db.run("distribute", "--config", path, "--from", "2025-01-01", "--to", "2025-07-01",
               "--json")
    t.eq(r.code, 0, "distribute %r" % r)
    st = r.json()
    c = st["currencies"]["EUR"]
    step = [s["amount_minor"] for s in c["steps"] if s["id"] == "patronage-refund"][0]
    pool = c["surplus_minor"] - sum(s["amount_minor"] for s in c["steps"][:2])
    t.check(0 < step < pool, "the consumer part stays retained: %d < %d" % (step, pool))
    out = os.path.join(db.tmp, "h1.html")
    r = db.run("report", "--period", "2025", "--out", out)
    t.eq(r.code, 0, "report %r" % r)
    raw, p = parse(out)
    got = {a["data-class"]: int(a["data-amount-minor"]) for a in p.find("rect")
           if "data-class" in a}
    t.eq(got, {"producer": step, "consumer": 0}, "all refunds are the producers'")
    check_falls(t, p, {2025: st})
    t.check("equal" in raw and "differs" not in raw, "class total = member allocations")
    db.drop()


def loss_year(t):
    """Config version 2, a loss year (the case of test_law): S = -1066,
    the free reserve covers 1.00, the legal reserve 2.00, 7.66 is carried
    forward. The waterfall goes from S back to 0 through the covers and
    the carried part, and adds up."""
    import test_law as L  # noqa: E402 -- its setup and config
    db = TestDB()
    cfg = dict(L.LAW, surplus=dict(L.LAW["surplus"], costs={"amount": {"EUR": "30.00"}}))
    path = L.setup(db, cfg)
    t.eq(db.run("settle", "--config", path, "--period", "2026-10").code, 0, "settle October")
    t.eq(db.run("settle", "--config", path, "--period", "2026-11").code, 0, "settle November")
    r = db.run("distribute", "--config", path, "--period", "2026-11", "--json")
    t.eq(r.code, 0, "a loss year %r" % r)
    st = r.json()
    out = os.path.join(db.tmp, "loss.html")
    r = db.run("report", "--period", "2026-11", "--out", out, "--config", path)
    t.eq(r.code, 0, "report %r" % r)
    raw, p = parse(out)
    bars, seen = [], False
    for (tag, a) in p.tags:
        if tag == "svg":
            seen = a.get("data-chart") == "waterfall"
        elif seen and tag == "rect" and "data-label" in a:
            bars.append((a["data-label"], a["data-kind"], int(a["data-amount-minor"])))
    c = st["currencies"]["EUR"]
    t.eq(bars, [("fee income", "total", c["fee_income_minor"]),
                ("costs", "change", -c["costs_minor"]),
                ("surplus", "total", -1066),
                ("covered by equity:reserves:free", "change", 100),
                ("covered by equity:reserves:legal", "change", 200),
                ("loss carried forward", "change", 766)], "the loss year's bars")
    t.check("do not add up" not in raw, "the loss year adds up")
    t.check("Loss carried in 3.00 EUR" in raw and "carried out 10.66 EUR" in raw,
            "the loss note: %s" % re.findall(r"Loss carried in[^<]*", raw))
    t.eq(len([a for a in p.find("tr") if "data-run" in a]), 2, "November's two runs")
    db.drop()


if __name__ == "__main__":
    t = Runner()
    t.case(main_case)
    t.case(one_class)
    t.case(loss_year)
    t.finish()
