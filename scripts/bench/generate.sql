-- generate.sql -- benchmark data for scripts/bench.sh (docs/performance.md).
--
-- psql variables: rows (transactions), members, cover (1: every member
-- takes part in at least one transaction, for the distribute benchmark; 0:
-- parties drawn at random). Runs in a database where `coopsettle init-db`
-- has made the schema; fills coopsettle.members and coopsettle.transactions.
--
-- Members: a fifth producers (ids 1..P), the rest consumers (P+1..members).
-- Transactions: ids 1..rows in insertion order, occurred_at uniform over
-- November 2026 in Europe/Berlin (the bench window), 80% EUR and 20% CHF,
-- about 5% refunds (negative amounts), 15% guest buyers (consumer_id NULL),
-- 5% buyers and 10% sellers that are not members of their side, amounts
-- mostly small with a tail up to 5,000.00 so every tier, min and max bites.
-- Deterministic: setseed fixes random().
\set ON_ERROR_STOP 1
SELECT setseed(0.2026);
SELECT (:members / 5)::bigint AS producers, (:members - :members / 5)::bigint AS consumers \gset

-- Load without the indexes, then build them with their own definitions:
-- the same indexes, made in a fraction of the time.
CREATE TEMP TABLE saved_indexes AS
SELECT indexname, indexdef FROM pg_indexes
WHERE schemaname = 'coopsettle' AND tablename IN ('transactions', 'members');
SELECT format('DROP INDEX coopsettle.%I', indexname) FROM saved_indexes \gexec

INSERT INTO coopsettle.members (id, class, joined_on, left_on, paid_in_capital_minor)
SELECT i,
       CASE WHEN i <= :producers THEN 'producer' ELSE 'consumer' END,
       DATE '2018-01-01' + (random() * 3200)::int,
       CASE WHEN i % 53 = 0 THEN DATE '2026-11-20' END,
       CASE WHEN i <= :producers THEN (1 + (random() * 9)::int) * 25000
            WHEN i % 3 = 0 THEN 10000 ELSE 0 END
FROM generate_series(1, :members) AS i;

INSERT INTO coopsettle.transactions
       (id, occurred_at, producer_id, consumer_id, amount_minor, currency, category)
SELECT i,
       TIMESTAMPTZ '2026-11-01 00:00:00 Europe/Berlin'
         + floor(random() * 2592000)::int * INTERVAL '1 second',
       CASE WHEN :cover = 1 AND i <= :members THEN 1 + (i - 1) % :producers
            WHEN random() < 0.9 THEN 1 + floor(random() * :producers)::bigint
            ELSE 1000000000 + floor(random() * 1000)::bigint END,
       CASE WHEN :cover = 1 AND i <= :members THEN :producers + 1 + (i - 1) % :consumers
            WHEN random() < 0.15 THEN NULL
            WHEN random() < 0.95 THEN :producers + 1 + floor(random() * :consumers)::bigint
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
