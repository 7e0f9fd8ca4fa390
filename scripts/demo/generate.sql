-- Three financial years, 2023 to 2025, of the sample cooperative of
-- config/example.yaml: "Handwerk & Hof Marktplatz eG", Europe/Berlin, EUR.
-- The shop keeps its own tables in schema marktplatz, with the columns
-- config version 2 reads (docs/inputs.md); config/example.yaml points
-- source.* at them. Deterministic: setseed fixes random().
--
--   memberships  120 makers (producers, ids 1-120) and 180 buyers
--                (consumers, ids 121-300); makers 1-40 also buy as members;
--                some join during the three years, some leave, maker 45
--                leaves in 2023 and joins again in 2024
--   capital      shares of 100.00 paid in on joining, more shares bought
--                in 2024, shares repaid six months after leaving (GenG 73)
--   sales        2023: 36000, 2024: 30000, 2025: 48000; 19 makers who are
--                not members (901-919), guest buyers and 50 registered
--                buyers who are not members (1001-1050); about 4% refunds
--   costs        every day; 2024 carries the platform's relaunch, so it
--                ends in a loss
SELECT setseed(0.2026) AS seed \gset
CREATE SCHEMA marktplatz;
CREATE TABLE marktplatz.sales (LIKE coopsettle.transactions INCLUDING ALL);
CREATE TABLE marktplatz.memberships (
  id        bigint NOT NULL,
  class     text NOT NULL,   -- producer or consumer
  joined_on date NOT NULL,   -- first day of the membership
  left_on   date             -- first day without it; NULL: still a member
);
CREATE TABLE marktplatz.capital (LIKE coopsettle.capital_movements INCLUDING ALL);
CREATE TABLE marktplatz.operating_costs (LIKE coopsettle.operating_costs INCLUDING ALL);

-- Memberships. Makers 1-100 joined before 2023, 101-120 join during the
-- three years; every 29th maker and every 23rd buyer leaves again.
INSERT INTO marktplatz.memberships (id, class, joined_on, left_on)
SELECT i, 'producer', j,
       CASE WHEN i % 29 = 0 AND i <= 100 THEN DATE '2023-03-01' + (i * 17) % 900 END
FROM (SELECT i, CASE WHEN i <= 100 THEN DATE '2019-01-01' + (random() * 1400)::int
                     ELSE DATE '2023-01-15' + (random() * 960)::int END AS j
      FROM generate_series(1, 120) AS i) AS p
WHERE i <> 45;
-- Maker 45 leaves at the end of September 2023 and comes back in July 2024.
INSERT INTO marktplatz.memberships VALUES
  (45, 'producer', DATE '2020-04-01', DATE '2023-10-01'),
  (45, 'producer', DATE '2024-07-01', NULL);
INSERT INTO marktplatz.memberships (id, class, joined_on, left_on)
SELECT i, 'consumer', j,
       CASE WHEN i % 23 = 0 AND j + 400 + i % 300 < DATE '2025-12-31' THEN j + 400 + i % 300 END
FROM (SELECT i, DATE '2019-06-01' + (random() * 2350)::int AS j
      FROM generate_series(121, 300) AS i) AS c;
-- Makers 1-40 also buy as members, from a year after they joined.
INSERT INTO marktplatz.memberships (id, class, joined_on, left_on)
SELECT id, 'consumer', joined_on + 365, left_on
FROM marktplatz.memberships
WHERE class = 'producer' AND id <= 40 AND (left_on IS NULL OR left_on > joined_on + 365);

-- Capital (Geschaeftsguthaben): shares of 100.00, paid in on the first day
-- of a member's first membership (makers 2 to 20 shares, buyers 1 to 3);
-- maker 45 pays in again when he rejoins.
INSERT INTO marktplatz.capital (member_id, booked_on, amount_minor)
SELECT id, min(joined_on),
       CASE WHEN bool_or(class = 'producer') THEN 2 + id * 7 % 19 ELSE 1 + id % 3 END * 10000
FROM marktplatz.memberships
GROUP BY id
ORDER BY id;
INSERT INTO marktplatz.capital VALUES (45, DATE '2024-07-01', 50000);
-- Every tenth maker buys five more shares in March 2024, if still a member.
INSERT INTO marktplatz.capital (member_id, booked_on, amount_minor)
SELECT id, DATE '2024-03-15', 50000
FROM marktplatz.memberships
WHERE class = 'producer' AND id % 10 = 0 AND joined_on <= DATE '2024-03-15'
  AND (left_on IS NULL OR left_on > DATE '2024-03-15');
-- Who leaves has the shares paid back six months later (GenG 73 (2)).
INSERT INTO marktplatz.capital (member_id, booked_on, amount_minor)
SELECT m.id, (m.last_left + INTERVAL '6 months')::date,
       -(SELECT sum(c.amount_minor) FROM marktplatz.capital c
          WHERE c.member_id = m.id AND c.booked_on < m.last_left)
FROM (SELECT id, max(left_on) AS last_left FROM marktplatz.memberships
      GROUP BY id HAVING bool_and(left_on IS NOT NULL)) AS m
UNION ALL
SELECT 45, DATE '2024-04-01', -(SELECT sum(amount_minor) FROM marktplatz.capital
                                 WHERE member_id = 45 AND booked_on < DATE '2023-10-01')
ORDER BY 1;

-- Sales: y is the year, n its number of sales, first its first id.
INSERT INTO marktplatz.sales
       (id, occurred_at, producer_id, consumer_id, amount_minor, currency, category)
SELECT y.first + i,
       make_timestamptz(y.year, 1, 1, 0, 0, 0, 'Europe/Berlin')
         + (random() * 365 * 86400)::int * INTERVAL '1 second',
       CASE WHEN random() < 0.9 THEN 1 + (random() * 119)::int
            ELSE 901 + (random() * 18)::int END,
       CASE WHEN random() < 0.2 THEN NULL
            WHEN random() < 0.06 THEN 1001 + (random() * 49)::int
            WHEN random() < 0.1 THEN 1 + (random() * 39)::int
            ELSE 121 + (random() * 179)::int END,
       (CASE WHEN random() < 0.04 THEN -1 ELSE 1 END)
         * (200 + (random() * random() * 30000)::int),
       'EUR',
       (ARRAY['vegetables', 'dairy', 'bakery', 'ceramics', 'textiles', 'woodwork',
              'art'])[1 + (random() * 6)::int]
FROM (VALUES (2023, 36000, 0), (2024, 30000, 36000), (2025, 48000, 66000))
       AS y(year, n, first),
     LATERAL generate_series(1, y.n) AS i;

-- Operating costs: staff, hosting and payment fees every day; in 2024 the
-- relaunch of the platform on 30 September.
INSERT INTO marktplatz.operating_costs (booked_on, currency, amount_minor)
SELECT d::date, 'EUR',
       CASE extract(year FROM d) WHEN 2023 THEN 38000 WHEN 2024 THEN 42000 ELSE 30000 END
         + (random() * 4000)::int
FROM generate_series(DATE '2023-01-01', DATE '2025-12-31', INTERVAL '1 day') AS d
UNION ALL
SELECT DATE '2024-09-30', 'EUR', 9000000;
