-- compare.sql -- does the plain-SQL baseline (baseline.sql or
-- baseline_v2.sql, run_id :sql_run) give exactly coopsettle's ledger lines
-- and totals (settle run :cs_run)?
-- Prints one row: the count of rows that differ (in either direction) in
-- the ledger lines ('-' when :check_lines is false: comparing tens of
-- millions of lines takes long), the party totals and the currency totals,
-- then the number of lines of each. All differences 0: equal.
-- With :dated true (config version 2) the lines' posted_on and the party
-- totals' member flag are compared too (spec 10.1, 10.5); with :vat true
-- (baseline_vat.sql) the party and currency totals' vat_minor too (spec
-- 10.8; the VAT lines are ledger lines like the others). With :show true it
-- prints instead the first rows of each table that differ, marked with the
-- side they are missing from, for the message of a failed check.
\set ON_ERROR_STOP 1
\if :{?dated}
\else
\set dated false
\endif
\if :{?show}
\else
\set show false
\endif
\if :{?vat}
\else
\set vat false
\endif
\set line_cols 'journal, line_no, transaction_id, rule_id, account, party_id, currency, amount_minor'
\set party_cols 'party_id, side, currency, transactions, gross_minor, fees_minor'
\set currency_cols 'currency, transactions, gross_minor, fees_minor, fees_producer_minor, fees_consumer_minor'
\if :dated
\set line_cols :line_cols ', posted_on'
\set party_cols :party_cols ', member'
\endif
\if :vat
\set party_cols :party_cols ', vat_minor'
\set currency_cols :currency_cols ', vat_minor'
\endif
\if :show
(SELECT 'only coopsettle' AS line, :line_cols
 FROM coopsettle.ledger_lines WHERE run_id = :cs_run AND entry = 'post'
 EXCEPT ALL
 SELECT 'only coopsettle', :line_cols FROM bench_sql.ledger_lines WHERE run_id = :sql_run
 ORDER BY 2, 3 LIMIT 10)
UNION ALL
(SELECT 'only baseline', :line_cols FROM bench_sql.ledger_lines WHERE run_id = :sql_run
 EXCEPT ALL
 SELECT 'only baseline', :line_cols
 FROM coopsettle.ledger_lines WHERE run_id = :cs_run AND entry = 'post'
 ORDER BY 2, 3 LIMIT 10);
(SELECT 'only coopsettle' AS party_total, :party_cols
 FROM coopsettle.party_totals WHERE run_id = :cs_run
 EXCEPT ALL
 SELECT 'only coopsettle', :party_cols FROM bench_sql.party_totals WHERE run_id = :sql_run
 ORDER BY 2, 3, 4 LIMIT 10)
UNION ALL
(SELECT 'only baseline', :party_cols FROM bench_sql.party_totals WHERE run_id = :sql_run
 EXCEPT ALL
 SELECT 'only baseline', :party_cols FROM coopsettle.party_totals WHERE run_id = :cs_run
 ORDER BY 2, 3, 4 LIMIT 10);
\quit
\endif
SELECT
\if :check_lines
  (SELECT count(*) FROM (
     (SELECT :line_cols
      FROM coopsettle.ledger_lines WHERE run_id = :cs_run AND entry = 'post'
      EXCEPT ALL
      SELECT :line_cols
      FROM bench_sql.ledger_lines WHERE run_id = :sql_run)
     UNION ALL
     (SELECT :line_cols
      FROM bench_sql.ledger_lines WHERE run_id = :sql_run
      EXCEPT ALL
      SELECT :line_cols
      FROM coopsettle.ledger_lines WHERE run_id = :cs_run AND entry = 'post')) d)::text AS ledger_lines_differing,
\else
  '-' AS ledger_lines_differing,
\endif
  (SELECT count(*) FROM (
     (SELECT :party_cols
      FROM coopsettle.party_totals WHERE run_id = :cs_run
      EXCEPT ALL
      SELECT :party_cols
      FROM bench_sql.party_totals WHERE run_id = :sql_run)
     UNION ALL
     (SELECT :party_cols
      FROM bench_sql.party_totals WHERE run_id = :sql_run
      EXCEPT ALL
      SELECT :party_cols
      FROM coopsettle.party_totals WHERE run_id = :cs_run)) d) AS party_totals_differing,
  (SELECT count(*) FROM (
     (SELECT :currency_cols
      FROM coopsettle.currency_totals WHERE run_id = :cs_run
      EXCEPT ALL
      SELECT :currency_cols
      FROM bench_sql.currency_totals WHERE run_id = :sql_run)
     UNION ALL
     (SELECT :currency_cols
      FROM bench_sql.currency_totals WHERE run_id = :sql_run
      EXCEPT ALL
      SELECT :currency_cols
      FROM coopsettle.currency_totals WHERE run_id = :cs_run)) d) AS currency_totals_differing,
  (SELECT count(*) FROM coopsettle.ledger_lines WHERE run_id = :cs_run AND entry = 'post') AS coopsettle_lines,
  (SELECT count(*) FROM bench_sql.ledger_lines WHERE run_id = :sql_run) AS baseline_lines;
