-- baseline_setup.sql -- the tables of the plain-SQL baseline (baseline.sql),
-- made once in the bench's template database, outside every timing.
--
-- Same columns, indexes, keys and checks as coopsettle's output tables
-- (LIKE ... INCLUDING ALL), in a schema of the baseline's own. LIKE does not
-- copy foreign keys: the baseline's tables have none (see
-- docs/performance.md for what coopsettle's cost).
\set ON_ERROR_STOP 1
CREATE SCHEMA bench_sql;
CREATE TABLE bench_sql.ledger_lines (LIKE coopsettle.ledger_lines INCLUDING ALL);
CREATE TABLE bench_sql.party_totals (LIKE coopsettle.party_totals INCLUDING ALL);
CREATE TABLE bench_sql.currency_totals (LIKE coopsettle.currency_totals INCLUDING ALL);
