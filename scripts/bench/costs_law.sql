-- costs_law.sql -- the operating costs of the cooperative-law benchmark
-- (scripts/bench.sh --law, after the three yearly settle runs of
-- generate_law.sql's transactions).
--
-- Costs follow the settled fee income, so the years keep their shape at
-- any --dist-members: a share of each year's fees per currency, booked in
-- twelve monthly rows (the last month takes the remainder):
--   EUR  2023 78%, 2024 74%, 2025 76%
--   CHF  2023 80%, 2024 118% (a loss year), 2025 70%
\set ON_ERROR_STOP 1
WITH pct (year, currency, pct) AS (
	VALUES (2023, 'EUR', 78), (2024, 'EUR', 74), (2025, 'EUR', 76),
	       (2023, 'CHF', 80), (2024, 'CHF', 118), (2025, 'CHF', 70)),
yearly AS (
	SELECT extract(year FROM r.window_from AT TIME ZONE 'Europe/Berlin')::int AS year,
	       t.currency, (t.fees_minor * p.pct / 100)::bigint AS costs
	FROM coopsettle.runs r
	JOIN coopsettle.currency_totals t ON t.run_id = r.id
	JOIN pct p ON p.currency = t.currency
	  AND p.year = extract(year FROM r.window_from AT TIME ZONE 'Europe/Berlin')::int
	WHERE r.kind = 'settle' AND r.status = 'committed')
INSERT INTO coopsettle.operating_costs (booked_on, currency, amount_minor)
SELECT make_date(year, m, 28), currency,
       CASE WHEN m < 12 THEN costs / 12 ELSE costs - 11 * (costs / 12) END
FROM yearly, generate_series(1, 12) AS m;
ANALYZE coopsettle.operating_costs;
