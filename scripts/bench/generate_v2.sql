-- generate_v2.sql -- benchmark data with dated memberships (config version
-- 2) for scripts/bench.sh --v2 (docs/performance.md).
--
-- psql variables: rows (transactions), members (ids; at least 100). Runs in
-- a database where `coopsettle init-db` has made the schema; fills
-- coopsettle.members (memberships: id, class, joined_on, left_on; spec 10.1)
-- and coopsettle.transactions.
--
-- Member ids 1..members: a fifth producers (1..P), the rest consumers. Each
-- id holds its class in one period, except (i is the id):
--   i % 20 = 3    two periods, the first ends inside the window (November
--                 2026) and the second begins 1 to 9 days later: not a
--                 member on the days between (5% of the ids)
--   i % 20 = 13   two periods, left and rejoined years before the window
--                 (5%): 10% of the ids have two periods in all
--   i % 50 = 7    joins inside the window (2%)
--   i % 53 = 0    leaves inside the window, on 2026-11-20 (about 1.9%)
--   i % 31 = 5    left before the window: a former member (about 3.2%)
-- and every id with i % 20 = 0 (5%) also holds the other class; half of them
-- (i % 40 = 0) join it inside the window. Periods of one id and class never
-- overlap.
-- Transactions: ids 1..rows, occurred_at uniform over November 2026 in
-- Europe/Berlin (the bench window), so about 1 in 24 falls between 23:00 and
-- 24:00 UTC, on the next local day; 80% EUR, 20% CHF, about 5% refunds, 15%
-- guest buyers (consumer_id NULL). Sellers: about 5% consumers who also hold
-- the producer class, 7% ids that never were members. Buyers (of the 85% who
-- are not guests): about 5% producers who also hold the consumer class, 2%
-- producers (mostly not consumer members), 4% ids that never were members.
-- Amounts as generate.sql. Deterministic: setseed fixes random().
\set ON_ERROR_STOP 1
SELECT setseed(0.2026);
SELECT (:members / 5)::bigint AS producers, (:members - :members / 5)::bigint AS consumers \gset

-- Load without the indexes, then build them with their own definitions.
CREATE TEMP TABLE saved_indexes AS
SELECT indexname, indexdef FROM pg_indexes
WHERE schemaname = 'coopsettle' AND tablename IN ('transactions', 'members');
SELECT format('DROP INDEX coopsettle.%I', indexname) FROM saved_indexes \gexec

-- The class every id holds, in one or two periods.
INSERT INTO coopsettle.members (id, class, joined_on, left_on)
SELECT i, cls, p.joined_on, p.left_on
FROM (SELECT i,
	     CASE WHEN i <= :producers THEN 'producer' ELSE 'consumer' END AS cls,
	     DATE '2018-01-01' + (random() * 3200)::int AS j,      -- up to 2026-10-05
	     DATE '2018-01-01' + (random() * 2000)::int AS j_early, -- up to 2023-06-24
	     (random() * 300)::int AS gap_early,
	     DATE '2026-11-02' + (i / 20) % 28 AS left_in,          -- 2026-11-02 .. 11-29
	     1 + (i / 20) % 9 AS gap_in
      FROM generate_series(1, :members) AS i) m
CROSS JOIN LATERAL (
	SELECT * FROM (VALUES (1, m.j, m.left_in), (2, m.left_in + m.gap_in, NULL::date))
	       AS v (k, joined_on, left_on) WHERE m.i % 20 = 3
	UNION ALL
	SELECT * FROM (VALUES (1, m.j_early, m.j_early + 400),
			      (2, m.j_early + 500 + m.gap_early, NULL::date))
	       AS v (k, joined_on, left_on) WHERE m.i % 20 = 13
	UNION ALL
	SELECT 1, CASE WHEN m.i % 50 = 7 THEN DATE '2026-11-01' + (m.i / 50) % 30 ELSE m.j END,
	       CASE WHEN m.i % 50 = 7 THEN NULL
		    WHEN m.i % 53 = 0 THEN DATE '2026-11-20'
		    WHEN m.i % 31 = 5 THEN DATE '2026-10-15' END
	WHERE m.i % 10 <> 3) p;

-- The other class of 5% of the ids: members who sell and buy.
INSERT INTO coopsettle.members (id, class, joined_on, left_on)
SELECT i, CASE WHEN i <= :producers THEN 'consumer' ELSE 'producer' END,
       CASE WHEN i % 40 = 0 THEN DATE '2026-11-01' + (i / 40) % 30
	    ELSE DATE '2019-01-01' + (random() * 2500)::int END,
       NULL
FROM generate_series(20, :members, 20) AS i;

INSERT INTO coopsettle.transactions
       (id, occurred_at, producer_id, consumer_id, amount_minor, currency, category)
SELECT i,
       TIMESTAMPTZ '2026-11-01 00:00:00 Europe/Berlin'
	 + floor(random() * 2592000)::int * INTERVAL '1 second',
       CASE WHEN random() < 0.05 -- the consumers of ids i % 20 = 0
	    THEN 20 * (:producers / 20 + 1 + floor(random() * (:members / 20 - :producers / 20))::bigint)
	    WHEN random() < 0.926 THEN 1 + floor(random() * :producers)::bigint
	    ELSE 1000000000 + floor(random() * 1000)::bigint END,
       CASE WHEN random() < 0.15 THEN NULL
	    WHEN random() < 0.05 -- the producers of ids i % 20 = 0
	    THEN 20 * (1 + floor(random() * (:producers / 20))::bigint)
	    WHEN random() < 0.021 THEN 1 + floor(random() * :producers)::bigint
	    WHEN random() < 0.957 THEN :producers + 1 + floor(random() * :consumers)::bigint
	    ELSE 2000000000 + floor(random() * 5000)::bigint END,
       (CASE WHEN random() < 0.05 THEN -1 ELSE 1 END)
	 * CASE WHEN random() < 0.02 THEN 100000 + floor(random() * 400000)::bigint
		ELSE 100 + floor(random() * random() * 40000)::bigint END,
       CASE WHEN random() < 0.8 THEN 'EUR' ELSE 'CHF' END,
       (ARRAY['crafts', 'food', 'art', 'textiles'])[1 + floor(random() * 4)::int]
FROM generate_series(1, :rows) AS i;

SELECT indexdef FROM saved_indexes \gexec
VACUUM (FREEZE, ANALYZE) coopsettle.members;
VACUUM (FREEZE, ANALYZE) coopsettle.transactions;
CHECKPOINT;
