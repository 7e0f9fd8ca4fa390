-- docs/cooperative-law.md, "Worked cases", law-fee-fund. June 2025.
-- 1: stay 123.45, fee 1852 = 617 host + 1235 guest; community 309 + 618,
--    income 308 + 617.
-- 2: stay 80.00 by a guest without an account, fee 1200 = 400 + 800;
--    community 200 + 400, income 200 + 400.
-- 3: refund of 12.35 of stay 1, fee -185 = -62 + -123; community -31 - 62,
--    income -31 - 61.
-- 4: experience 45.67, fee 365 = 183 + 182; community 61 + 61,
--    solidarity 31 + 30, income 91 + 91.
-- Fee income 1615, community 1556, solidarity 61: 3232, the fees.
INSERT INTO coopsettle.members (id, class, joined_on, left_on) VALUES
  (1, 'producer', '2020-01-01', NULL),
  (2, 'producer', '2020-01-01', NULL),
  (3, 'producer', '2020-01-01', NULL),
  (10, 'consumer', '2020-01-01', NULL);
INSERT INTO coopsettle.transactions VALUES
  (1, '2025-06-03 12:00:00+02', 1, 10, 12345, 'EUR', 'stay'),
  (2, '2025-06-15 12:00:00+02', 2, NULL, 8000, 'EUR', 'stay'),
  (3, '2025-06-20 12:00:00+02', 1, 10, -1235, 'EUR', 'stay'),
  (4, '2025-06-25 12:00:00+02', 3, 11, 4567, 'EUR', 'experience');
