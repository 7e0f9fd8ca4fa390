-- A realistic month for the sample cooperative of config/example.yaml:
-- "Handwerk & Hof Marktplatz eG", November 2026, Europe/Berlin.
-- 120 maker members (producers), 180 buyer members (consumers), 20 makers
-- who are not members, guest buyers, two currencies, about 5% refunds.
-- The shop keeps its own tables in schema marktplatz; config/example.yaml
-- points source.* at them. Deterministic: setseed fixes random().
SELECT setseed(0.2026) AS seed \gset
CREATE SCHEMA marktplatz;
CREATE TABLE marktplatz.sales (LIKE coopsettle.transactions INCLUDING ALL);
CREATE TABLE marktplatz.members (LIKE coopsettle.members INCLUDING ALL);
CREATE TABLE marktplatz.operating_costs (LIKE coopsettle.operating_costs INCLUDING ALL);

INSERT INTO marktplatz.members (id, class, joined_on, left_on, paid_in_capital_minor)
SELECT i,
       CASE WHEN i <= 120 THEN 'producer' ELSE 'consumer' END,
       DATE '2019-01-01' + (random() * 2800)::int,
       CASE WHEN i % 37 = 0 THEN DATE '2026-11-15' ELSE NULL END,
       CASE WHEN i <= 120 THEN (1 + (random() * 9)::int) * 25000
            WHEN i % 3 = 0 THEN 10000 ELSE 0 END
FROM generate_series(1, 300) AS i;

INSERT INTO marktplatz.sales
       (id, occurred_at, producer_id, consumer_id, amount_minor, currency, category)
SELECT i,
       TIMESTAMPTZ '2026-11-01 00:00:00 Europe/Berlin'
         + (random() * 30 * 86400)::int * INTERVAL '1 second',
       CASE WHEN random() < 0.9 THEN 1 + (random() * 119)::int
            ELSE 901 + (random() * 19)::int END,
       CASE WHEN random() < 0.2 THEN NULL
            WHEN random() < 0.95 THEN 121 + (random() * 179)::int
            ELSE 1001 + (random() * 50)::int END,
       (CASE WHEN random() < 0.05 THEN -1 ELSE 1 END)
         * (200 + (random() * random() * 30000)::int),
       CASE WHEN random() < 0.85 THEN 'EUR' ELSE 'CHF' END,
       (ARRAY['crafts', 'food', 'art', 'textiles'])[1 + (random() * 3)::int]
FROM generate_series(1, 40000) AS i;

INSERT INTO marktplatz.operating_costs (booked_on, currency, amount_minor)
SELECT d::date, 'EUR', 9000 + (random() * 2000)::int
FROM generate_series(DATE '2026-11-01', DATE '2026-11-30', INTERVAL '1 day') AS d
UNION ALL
SELECT DATE '2026-11-30', 'CHF', 15000;
