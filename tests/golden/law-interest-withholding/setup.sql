-- docs/cooperative-law.md, "Worked cases", law-interest-withholding.
-- S = 50000 - 12345 = 37655; legal reserve round(3765.5) = 3766
-- (half_even); A = 33889. Capital at the end of 2024-12-31: member 1
-- 100000 (the 50000 of 2025-03-01 comes later), member 2 33333; member 3
-- joins in February and member 4 left on 2025-01-01: not members on the
-- window's first day. i = 4000 + 1333.32, the step takes 5333 = 4000 +
-- 1333; withheld 1055 and 351, net 2945 and 982. Retained 28556.
INSERT INTO coopsettle.members (id, class, joined_on, left_on) VALUES
  (1, 'producer', '2020-01-01', NULL),
  (2, 'consumer', '2022-06-01', NULL),
  (3, 'consumer', '2025-02-01', NULL),
  (4, 'producer', '2020-01-01', '2025-01-01');
INSERT INTO coopsettle.capital_movements VALUES
  (1, '2020-01-01', 100000),
  (1, '2025-03-01', 50000),
  (2, '2022-06-01', 33333),
  (3, '2025-02-01', 20000),
  (4, '2020-01-01', 40000);
INSERT INTO coopsettle.transactions VALUES
  (1, '2025-05-05 12:00:00+02', 1, 2, 500000, 'EUR', 'goods');
