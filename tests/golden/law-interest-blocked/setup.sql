-- docs/cooperative-law.md, "Worked cases", law-interest-blocked.
-- 2024: fee income 2000, costs 12000, S = -10000 (a loss year): the legal
--   reserve gives its 5000, 5000 is carried forward.
-- 2025: fee income 15000 + 8100 + 3333 = 26433, costs 6000, S = 20433;
--   L0 = 5000, c = 5000, S' = 15433; legal reserve round(1543.3) = 1543;
--   interest blocked (L0 > 0): 0; refund 13890 = 6945 producers (member 1)
--   + 6945 consumers (LR 4510 member 2 : 2435 member 3); retained 0.
INSERT INTO coopsettle.members (id, class, joined_on, left_on) VALUES
  (1, 'producer', '2020-01-01', NULL),
  (2, 'consumer', '2020-01-01', NULL),
  (3, 'consumer', '2020-01-01', NULL);
INSERT INTO coopsettle.capital_movements VALUES
  (1, '2020-01-01', 50000),
  (2, '2023-06-01', 25000);
INSERT INTO coopsettle.transactions VALUES
  (1, '2024-04-10 12:00:00+02', 1, 2, 20000, 'EUR', 'goods'),
  (2, '2025-02-14 12:00:00+01', 1, 2, 150000, 'EUR', 'goods'),
  (3, '2025-07-01 12:00:00+02', 1, 3, 81000, 'EUR', 'goods'),
  (4, '2025-11-11 12:00:00+01', 1, NULL, 33333, 'EUR', 'goods');
INSERT INTO coopsettle.operating_costs VALUES
  ('2024-12-31', 'EUR', 12000),
  ('2025-12-31', 'EUR', 6000);
