-- generate_law.sql -- benchmark data for the cooperative law (config
-- version 2, scripts/bench/bench_law.yaml) for scripts/bench.sh --law
-- (docs/performance.md, "The cooperative law").
--
-- psql variables: members (ids; at least 100), rows (transactions per year).
-- Runs in a database where `coopsettle init-db` has made the schema; fills
-- coopsettle.members (memberships, spec 10.1), coopsettle.capital_movements
-- (spec 10.2) and coopsettle.transactions for the years 2023, 2024 and 2025
-- in Europe/Berlin. The operating costs come later, from the settled fee
-- income (costs_law.sql).
--
-- Member ids 1..members: a fifth producers (1..P), the rest consumers. Each
-- id holds its class in one period, open, joined 2015-2022, except (i is
-- the id, the first test that holds decides the period):
--   i % 50 = 7    joins in 2025, the timed year (2%)
--   i % 20 = 3    two periods: leaves in 2024 and rejoins 10 to 59 days
--                 later (5%)
--   i % 20 = 13   joins in 2023 (5%)
-- and then leaves, unless it joined in 2025 or has two periods:
--   i % 53 = 0    in 2024 (about 1.7%)
--   i % 31 = 5    in 2025 (about 2.8%)
-- Every id with i % 20 = 0 (5%) also holds the other class, from a day in
-- 2019 to 2024, open.
--
-- Capital (base currency EUR; never below 0 at the end of any day):
--   every id pays its first share on the day it first joins: producers
--     250.00 to 2,250.00, consumers 100.00; a second class adds 100.00
--   i % 3 <> 0    a top-up of 50.00 to 500.00, on a day of 2022-2025
--                 (not before the first share)
--   i % 4 = 0     a second top-up of 25.00 to 100.00 in 2023-2025
--   i % 7 = 0     repays half of its first share in mid-2023 to 2025,
--                 unless it leaves
--   leavers       repay their first share 30 days after they leave (some
--                 after 2025: not read by the 2025 run)
--   1,000 rows of ids that never were members (ignored, spec 10.7.6).
-- So about 2.2 movements per member, 3 payments for a quarter of them.
--
-- Transactions: rows per year, ids numbered through the years, occurred_at
-- uniform over the local year. Transaction k of a year (k <= members)
-- has the k-th producer and consumer in turn, so every member takes part
-- in every year it is a member (patronage in each window), except:
-- sellers 4% ids that never were members, 3% consumers who also hold the
-- producer class; buyers 10% guests (NULL), 2% producers who also hold the
-- consumer class, 2% ids that never were members. 80% EUR, 20% CHF, about
-- 5% refunds, amounts as generate.sql. Deterministic: setseed fixes random().
\set ON_ERROR_STOP 1
SELECT setseed(0.2025);
SELECT (:members / 5)::bigint AS producers, (:members - :members / 5)::bigint AS consumers \gset

-- Load without the indexes, then build them with their own definitions.
CREATE TEMP TABLE saved_indexes AS
SELECT indexname, indexdef FROM pg_indexes
WHERE schemaname = 'coopsettle'
  AND tablename IN ('transactions', 'members', 'capital_movements');
SELECT format('DROP INDEX coopsettle.%I', indexname) FROM saved_indexes \gexec

-- Each id's first class and its period(s), with the day it first joined
-- and the day it leaves (NULL: stays), kept for the capital below.
CREATE TEMP TABLE ids AS
SELECT i,
       CASE WHEN i <= :producers THEN 'producer' ELSE 'consumer' END AS cls,
       CASE WHEN i % 50 = 7 THEN DATE '2025-01-01' + (i / 50) % 360
	    WHEN i % 20 = 13 THEN DATE '2023-01-01' + (i / 20) % 360
	    ELSE DATE '2015-01-01' + (random() * 2900)::int END AS joined,
       CASE WHEN i % 50 = 7 OR i % 20 = 3 THEN NULL
	    WHEN i % 53 = 0 THEN DATE '2024-02-01' + (i / 53) % 300
	    WHEN i % 31 = 5 THEN DATE '2025-03-01' + (i / 31) % 280 END AS leaves,
       CASE WHEN i % 50 = 7 OR i % 20 <> 3 THEN NULL
	    ELSE DATE '2024-01-15' + (i / 20) % 300 END AS gap_from,
       10 + (i / 20) % 50 AS gap_days,
       CASE WHEN i <= :producers THEN 25000 * (1 + floor(random() * 9)::bigint)
	    ELSE 10000 END AS first_share
FROM generate_series(1, :members) AS i;

INSERT INTO coopsettle.members (id, class, joined_on, left_on)
SELECT i, cls, joined, coalesce(gap_from, leaves) FROM ids
UNION ALL
SELECT i, cls, gap_from + gap_days, NULL FROM ids WHERE gap_from IS NOT NULL
UNION ALL -- the other class of 5% of the ids
SELECT i, CASE WHEN cls = 'producer' THEN 'consumer' ELSE 'producer' END,
       DATE '2019-01-01' + (random() * 2000)::int, NULL
FROM ids WHERE i % 20 = 0;

INSERT INTO coopsettle.capital_movements (member_id, booked_on, amount_minor)
SELECT i, joined, first_share FROM ids
UNION ALL -- a share for the second class
SELECT m.id, m.joined_on, 10000 FROM coopsettle.members m
JOIN ids ON ids.i = m.id AND ids.cls <> m.class
UNION ALL
SELECT i, greatest(joined, DATE '2022-01-01' + (random() * 1460)::int),
       5000 * (1 + floor(random() * 10)::bigint)
FROM ids WHERE i % 3 <> 0
UNION ALL
SELECT i, greatest(joined, DATE '2023-01-01' + (random() * 1090)::int),
       2500 * (1 + floor(random() * 4)::bigint)
FROM ids WHERE i % 4 = 0
UNION ALL
SELECT i, greatest(joined + 1, DATE '2023-06-01' + (random() * 900)::int), -(first_share / 2)
FROM ids WHERE i % 7 = 0 AND leaves IS NULL
UNION ALL
SELECT i, leaves + 30, -first_share FROM ids WHERE leaves IS NOT NULL
UNION ALL
SELECT 3000000000 + k, DATE '2023-01-01' + k % 1000, 10000
FROM generate_series(1, 1000) AS k;

INSERT INTO coopsettle.transactions
       (id, occurred_at, producer_id, consumer_id, amount_minor, currency, category)
SELECT (y - 2023) * :rows + k,
       make_timestamptz(y, 1, 1, 0, 0, 0, 'Europe/Berlin')
	 + floor(random() * extract(epoch FROM make_timestamptz(y + 1, 1, 1, 0, 0, 0, 'Europe/Berlin')
					 - make_timestamptz(y, 1, 1, 0, 0, 0, 'Europe/Berlin')))::int
	   * INTERVAL '1 second',
       CASE WHEN random() < 0.04 THEN 1000000000 + floor(random() * 1000)::bigint
	    WHEN random() < 0.03 -- the consumers of ids i % 20 = 0
	    THEN 20 * (:producers / 20 + 1 + floor(random() * (:members / 20 - :producers / 20))::bigint)
	    WHEN k <= :members THEN 1 + (k - 1) % :producers
	    ELSE 1 + floor(random() * :producers)::bigint END,
       CASE WHEN random() < 0.10 THEN NULL
	    WHEN random() < 0.02 -- the producers of ids i % 20 = 0
	    THEN 20 * (1 + floor(random() * (:producers / 20))::bigint)
	    WHEN random() < 0.02 THEN 2000000000 + floor(random() * 5000)::bigint
	    WHEN k <= :members THEN :producers + 1 + (k - 1) % :consumers
	    ELSE :producers + 1 + floor(random() * :consumers)::bigint END,
       (CASE WHEN random() < 0.05 THEN -1 ELSE 1 END)
	 * CASE WHEN random() < 0.02 THEN 100000 + floor(random() * 400000)::bigint
		ELSE 100 + floor(random() * random() * 40000)::bigint END,
       CASE WHEN random() < 0.8 THEN 'EUR' ELSE 'CHF' END,
       (ARRAY['crafts', 'food', 'art', 'textiles'])[1 + floor(random() * 4)::int]
FROM generate_series(2023, 2025) AS y, generate_series(1, :rows) AS k;

SELECT indexdef FROM saved_indexes \gexec
VACUUM (FREEZE, ANALYZE) coopsettle.members;
VACUUM (FREEZE, ANALYZE) coopsettle.capital_movements;
VACUUM (FREEZE, ANALYZE) coopsettle.transactions;
CHECKPOINT;
