-- docs/cooperative-law.md, "Worked cases", law-loss-cover.
-- 2024: fee income 12346 - 2346 = 10000, costs 2654, S = 7346;
--   legal reserve round(25% x 7346) = round(1836.5) = 1836 (half_even);
--   retained surplus 5510 onto the free reserve.
-- 2025: fee income 3000, costs 56000, S = -53000 (a loss year):
--   free reserve 12000 + 5510 = 17510 gives 17510, legal reserve
--   30000 + 1836 = 31836 gives 31836, 3654 is carried forward.
INSERT INTO coopsettle.members (id, class, joined_on, left_on) VALUES
  (1, 'producer', '2020-01-01', NULL);
INSERT INTO coopsettle.transactions VALUES
  (1, '2024-03-10 12:00:00+01', 1, NULL, 123456, 'EUR', 'goods'),
  (2, '2024-09-20 12:00:00+02', 1, NULL, -23456, 'EUR', 'goods'),
  (3, '2025-05-05 12:00:00+02', 1, NULL, 30000, 'EUR', 'goods');
INSERT INTO coopsettle.operating_costs VALUES
  ('2024-12-31', 'EUR', 2654),
  ('2025-01-31', 'EUR', 30000),
  ('2025-12-31', 'EUR', 26000);
