-- compare.sql -- does the plain-SQL baseline (baseline.sql, run_id :sql_run)
-- give exactly coopsettle's ledger lines and totals (settle run :cs_run)?
-- Prints one row: the count of rows that differ (in either direction) in
-- the ledger lines ('-' when :check_lines is false: comparing tens of
-- millions of lines takes long), the party totals and the currency totals,
-- then the number of lines of each. All differences 0: equal.
\set ON_ERROR_STOP 1
SELECT
\if :check_lines
  (SELECT count(*) FROM (
     (SELECT journal, line_no, transaction_id, rule_id, account, party_id, currency, amount_minor
      FROM coopsettle.ledger_lines WHERE run_id = :cs_run AND entry = 'post'
      EXCEPT ALL
      SELECT journal, line_no, transaction_id, rule_id, account, party_id, currency, amount_minor
      FROM bench_sql.ledger_lines WHERE run_id = :sql_run)
     UNION ALL
     (SELECT journal, line_no, transaction_id, rule_id, account, party_id, currency, amount_minor
      FROM bench_sql.ledger_lines WHERE run_id = :sql_run
      EXCEPT ALL
      SELECT journal, line_no, transaction_id, rule_id, account, party_id, currency, amount_minor
      FROM coopsettle.ledger_lines WHERE run_id = :cs_run AND entry = 'post')) d)::text AS ledger_lines_differing,
\else
  '-' AS ledger_lines_differing,
\endif
  (SELECT count(*) FROM (
     (SELECT party_id, side, currency, transactions, gross_minor, fees_minor
      FROM coopsettle.party_totals WHERE run_id = :cs_run
      EXCEPT ALL
      SELECT party_id, side, currency, transactions, gross_minor, fees_minor
      FROM bench_sql.party_totals WHERE run_id = :sql_run)
     UNION ALL
     (SELECT party_id, side, currency, transactions, gross_minor, fees_minor
      FROM bench_sql.party_totals WHERE run_id = :sql_run
      EXCEPT ALL
      SELECT party_id, side, currency, transactions, gross_minor, fees_minor
      FROM coopsettle.party_totals WHERE run_id = :cs_run)) d) AS party_totals_differing,
  (SELECT count(*) FROM (
     (SELECT currency, transactions, gross_minor, fees_minor, fees_producer_minor, fees_consumer_minor
      FROM coopsettle.currency_totals WHERE run_id = :cs_run
      EXCEPT ALL
      SELECT currency, transactions, gross_minor, fees_minor, fees_producer_minor, fees_consumer_minor
      FROM bench_sql.currency_totals WHERE run_id = :sql_run)
     UNION ALL
     (SELECT currency, transactions, gross_minor, fees_minor, fees_producer_minor, fees_consumer_minor
      FROM bench_sql.currency_totals WHERE run_id = :sql_run
      EXCEPT ALL
      SELECT currency, transactions, gross_minor, fees_minor, fees_producer_minor, fees_consumer_minor
      FROM coopsettle.currency_totals WHERE run_id = :cs_run)) d) AS currency_totals_differing,
  (SELECT count(*) FROM coopsettle.ledger_lines WHERE run_id = :cs_run AND entry = 'post') AS coopsettle_lines,
  (SELECT count(*) FROM bench_sql.ledger_lines WHERE run_id = :sql_run) AS baseline_lines;
