"""docs/inputs.md's worked mapping, run for real.

Reads the SQL blocks and the config of docs/inputs.md (marked
`<!-- inputs-doc sql: NAME -->` and `<!-- inputs-doc yaml: config -->`),
so doc and test cannot drift: creates the shop's tables in schema `laden`,
its rows, the view owner and the views in schema `quelle`, and the runner
role with docs/operations.md's least-privilege block plus the doc's view
grants. Then, as the runner, through the views only:

  * settle November 2026 and check the statement against the figures the
    doc works by hand (and against lib/reference.py);
  * distribute November 2026, the same;
  * the runner cannot read the shop's tables directly;
  * a security_invoker view fails for the runner until the doc's
    `invoker` grants are given, which need no USAGE on the shop's schema;
  * a view that delivers a fraction of a cent is refused with exit 3,
    where a ::bigint cast in the view would have rounded it.
"""
import os
import re
import subprocess
import sys
import uuid
from datetime import date

import psycopg2

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import harness  # noqa: E402
from harness import Runner, TestDB  # noqa: E402
import reference  # noqa: E402

DOC = os.path.join(harness.SOURCE_DIR, "docs", "inputs.md")
OPERATIONS = os.path.join(harness.SOURCE_DIR, "docs", "operations.md")


def doc_block(kind, name):
    """The fenced block after <!-- inputs-doc KIND: NAME --> (indented or not)."""
    text = open(DOC, encoding="utf-8").read()
    m = re.search(r"<!-- inputs-doc %s: %s -->\s*\n([ \t]*)```%s\n(.*?)\n[ \t]*```"
                  % (kind, re.escape(name), kind), text, re.S)
    assert m, "docs/inputs.md lost its %s block '%s'" % (kind, name)
    indent = m.group(1)
    return "\n".join(line[len(indent):] if line.startswith(indent) else line
                     for line in m.group(2).split("\n")) + "\n"


def operations_sql():
    text = open(OPERATIONS, encoding="utf-8").read()
    m = re.search(r"<!-- least-privilege sql: begin -->\s*```sql\n(.*?)```", text, re.S)
    assert m, "docs/operations.md lost its least-privilege SQL block"
    return m.group(1)


class Roles:
    """Cluster-wide role names made unique per test run (roles outlive a
    database; tests run in parallel)."""

    def __init__(self):
        suffix = uuid.uuid4().hex[:8]
        self.runner = "cs_runner_" + suffix
        self.owner = "hofladen_quellen_" + suffix

    def sql(self, text, database=None):
        text = re.sub(r"\bcoopsettle_runner\b", self.runner, text)
        text = re.sub(r"\bhofladen_quellen\b", self.owner, text)
        if database:
            text = text.replace("ON DATABASE coopsettle ", 'ON DATABASE "%s" ' % database)
        return text


def run_as(db, role, *args):
    proc = subprocess.run(harness.command(None, "dbname=%s user=%s" % (db.name, role), args),
                          capture_output=True, text=True, timeout=600)
    return harness.Result(proc)


# The doc's config as the reference model reads it (a dict, not YAML).
MODEL_CFG = {
    "version": 1, "currency": "EUR", "currencies": {"EUR": 2}, "timezone": "Europe/Berlin",
    "fees": [{"id": "gast", "when": {"consumer_member": False}, "rate": "8%"},
             {"id": "mitglied", "rate": "5%", "borne_by": {"producer": "1/2", "consumer": "1/2"}}],
    "surplus": {"steps": [
        {"id": "kapitalzins", "type": "capital_interest", "rate": "4%", "cap_share": "50%"},
        {"id": "rueckverguetung", "type": "patronage", "share": "remaining",
         "classes": {"producer": "1/2", "consumer": "1/2"}}]},
}


def settle_and_distribute(t, db, roles, path):
    # settle November as the runner, through the views
    r = run_as(db, roles.runner, "settle", "--config", path, "--period", "2026-11", "--json")
    t.eq(r.code, 0, "settle as the runner through the views: %r" % r)
    if r.code != 0:
        return
    st = r.json()
    # figures worked by hand in docs/inputs.md
    t.eq(st["currencies"], {"EUR": {"transactions": 4, "gross_minor": 3899, "fees_minor": 285,
                                    "fees_producer_minor": 263, "fees_consumer_minor": 22}},
         "settle: currency totals as worked in the doc")
    t.eq(st["parties"], [
        {"id": 1, "side": "producer", "currency": "EUR", "transactions": 3, "gross_minor": 3000,
         "fees_minor": 240},
        {"id": 2, "side": "producer", "currency": "EUR", "transactions": 1, "gross_minor": 899,
         "fees_minor": 23},
        {"id": 10, "side": "consumer", "currency": "EUR", "transactions": 3, "gross_minor": 899,
         "fees_minor": 22}], "settle: parties as worked in the doc")
    t.eq(st["rejected"], [], "settle: nothing rejected")
    # the independent model, from the rows as the views deliver them
    rows = [dict(id=i, producer=p, consumer=c, amount=int(a), currency=cur, category=cat)
            for i, p, c, a, cur, cat in db.sql(
                "SELECT id, producer_id, consumer_id, amount_minor, currency, category"
                " FROM quelle.transaktionen ORDER BY id")]
    classes = dict(db.sql("SELECT id, class FROM quelle.mitglieder"))
    cur, parties, _, _ = reference.settle(MODEL_CFG, classes, rows)
    t.eq((st["currencies"], st["parties"]), (cur, parties), "settle: as the reference model")
    t.eq(db.sql("SELECT transaction_id, amount_minor::bigint FROM coopsettle.ledger_lines"
                " WHERE run_id = %s AND account = 'income:fees' AND party_id IS NOT NULL"
                " ORDER BY transaction_id, line_no", (st["run_id"],)),
         [(1001, -31), (1001, -31), (1002, -240), (1003, -23), (1003, -22), (1004, 31),
          (1004, 31)], "settle: the fee lines of each sale")

    r = run_as(db, roles.runner, "distribute", "--config", path, "--period", "2026-11", "--json")
    t.eq(r.code, 0, "distribute as the runner through the views: %r" % r)
    if r.code != 0:
        return
    st = r.json()
    t.eq(st["currencies"], {"EUR": {
        "fee_income_minor": 285, "costs_minor": 100, "surplus_minor": 185,
        "steps": [{"id": "kapitalzins", "amount_minor": 92},
                  {"id": "rueckverguetung", "amount_minor": 93}],
        "retained_surplus_minor": 0}}, "distribute: currencies as worked in the doc")

    def m(i, ci, pat):
        return {"id": i, "currency": "EUR", "capital_interest_minor": ci, "patronage_minor": pat,
                "cash_minor": pat, "retained_minor": 0}
    t.eq(st["members"], [m(1, 74, 43), m(2, 18, 4), m(10, 0, 46)],
         "distribute: members as worked in the doc")
    members = [(i, c, j, left, int(cap) if cap is not None else 0)
               for i, c, j, left, cap in db.sql(
                   "SELECT id, class, joined_on, left_on, paid_in_capital_minor"
                   " FROM quelle.mitglieder ORDER BY id")]
    fees = {(1, "EUR"): 240, (2, "EUR"): 23, (10, "EUR"): 22}
    gross = {(1, "EUR"): 3000, (2, "EUR"): 899, (10, "EUR"): 899}
    want = reference.distribute(MODEL_CFG, members, {"EUR": 285}, {"EUR": 100}, fees, gross,
                                date(2026, 11, 1), date(2026, 12, 1))
    t.eq((st["currencies"], st["members"]), want, "distribute: as the reference model")


def version_2_by_model(t, db):
    """The doc's version 2 figures, from the rows as the views deliver them,
    by the reference model of config version 2 (the engine's own version 2
    runs are tested where it implements them)."""
    cfg = dict(MODEL_CFG, version=2)
    ms = db.sql("SELECT id, class, joined_on, left_on FROM quelle.mitglieder ORDER BY id")
    movements = [(m, b, int(a)) for m, b, a in
                 db.sql("SELECT member_id, booked_on, amount_minor FROM quelle.kapital")]
    rows = [dict(id=i, occurred_at=at, producer=p, consumer=c, amount=int(a), currency=cur,
                 category=cat)
            for i, at, p, c, a, cur, cat in db.sql(
                "SELECT id, occurred_at, producer_id, consumer_id, amount_minor, currency,"
                " category FROM quelle.transaktionen")]
    window = reference.period_window("Europe/Berlin", "2026-11")
    cur, parties, _, _ = reference.settle_v2(cfg, ms, reference.rows_in_window(cfg, rows,
                                                                               *window))
    t.check(all(p["member"] for p in parties), "version 2: every party a member on its day")
    t.eq(reference.daily_balance_sum(ms, movements, [], 2,
                                     reference.local_days("Europe/Berlin", *window)),
         14 * 50000, "version 2: member 2's capital counts from 11-17")
    costs = {"EUR": 100}
    cur_d, members = reference.distribute_v2(cfg, ms, parties, reference.fee_income_of(cur),
                                             costs, movements, [], *window)
    t.eq(cur_d["EUR"]["steps"], [{"id": "kapitalzins", "amount_minor": 92},
                                 {"id": "rueckverguetung", "amount_minor": 93}],
         "version 2: steps as in the doc")
    t.eq([(m["id"], m["capital_interest_minor"], m["patronage_minor"]) for m in members],
         [(1, 75, 43), (2, 17, 4), (10, 0, 46)], "version 2: members as in the doc")


def least_privilege(t, db, roles, path):
    conn = psycopg2.connect(dbname=db.name, user=roles.runner)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM laden.verkaeufe")
        t.check(False, "the runner may not read the shop's tables directly")
    except psycopg2.Error as e:
        t.eq(e.pgcode, "42501", "the runner may not read laden.verkaeufe: %s" % e)
    finally:
        conn.close()

    # security_invoker: the tables are checked as the runner
    db.sql("ALTER VIEW quelle.transaktionen SET (security_invoker = true)")
    dry = ["settle", "--config", path, "--period", "2026-12-01", "--dry-run", "--allow-open"]
    r = run_as(db, roles.runner, *dry)
    t.check(r.code != 0 and "permission denied" in r.stderr,
            "a security_invoker view needs SELECT on the table: %r" % r)
    db.sql(roles.sql(doc_block("sql", "invoker")))
    r = run_as(db, roles.runner, *dry)
    t.eq(r.code, 0, "with the doc's invoker grants (no USAGE on laden): %r" % r)
    t.eq(db.sql("SELECT has_schema_privilege(%s, 'laden', 'USAGE')", (roles.runner,))[0][0],
         False, "the runner still has no USAGE on schema laden")
    db.sql("ALTER VIEW quelle.transaktionen SET (security_invoker = false)")


def no_rounding(t, db):
    """A view that delivers a fraction of a cent is refused, never rounded;
    the cast the doc warns about would have rounded it."""
    t.eq(db.sql("SELECT (12.345::numeric * 100)::bigint::text, (12.345::numeric * 100)::text"),
         [("1235", "1234.500")],
         "::bigint rounds 1234.5 cents to 1235; the product without the cast stays exact")
    db.sql("CREATE VIEW quelle.ungenau AS SELECT 2001::bigint AS id,"
           " timestamptz '2026-12-02 12:00+01' AS occurred_at, 1 AS producer_id,"
           " NULL::bigint AS consumer_id, 12.345::numeric * 100 AS amount_minor,"
           " 'EUR'::text AS currency, 'Obst'::text AS category")
    text = doc_block("yaml", "config").replace("transactions: quelle.transaktionen",
                                               "transactions: quelle.ungenau")
    path = db.write_config(text, "ungenau.yaml")
    r = db.run("settle", "--config", path, "--period", "2026-12-02", "--dry-run", "--allow-open")
    t.eq(r.code, 3, "a fraction of a cent is invalid input: %r" % r)
    t.check("transaction 2001: amount_minor 1234.500 is not a whole number" in r.stderr,
            "names the row and its value: %r" % r.stderr)


def main():
    t = Runner()
    db = TestDB()
    roles = Roles()
    try:
        db.sql(doc_block("sql", "shop"))
        db.sql(doc_block("sql", "rows"))
        db.sql(roles.sql(doc_block("sql", "views")))
        db.sql(roles.sql(operations_sql(), db.name))
        db.sql(roles.sql(doc_block("sql", "runner")))
        path = db.write_config(doc_block("yaml", "config"), "hofladen.yaml")
        t.case(lambda t_: settle_and_distribute(t_, db, roles, path))
        t.case(lambda t_: version_2_by_model(t_, db))
        t.case(lambda t_: least_privilege(t_, db, roles, path))
        t.case(lambda t_: no_rounding(t_, db))
    finally:
        db.drop()
        admin = psycopg2.connect(dbname="postgres")
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute('DROP ROLE IF EXISTS "%s"' % roles.runner)
            cur.execute('DROP ROLE IF EXISTS "%s"' % roles.owner)
        admin.close()
    t.finish()


if __name__ == "__main__":
    main()
