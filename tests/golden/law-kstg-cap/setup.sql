-- docs/cooperative-law.md, "Worked cases", law-kstg-cap.
-- Fees 13500 (T); member sides M = 2750 (1) + 2500 (2, after joining)
-- + 1500 (10) + 1500 (11) = 8250. S = 13500 - 3123 = 10377 = S'.
-- Legal reserve round(1037.7) = 1038; A = 9339. Cap floor(10377 x 8250 /
-- 13500) = floor(6341.5) = 6341 < 9339: P = 6341. Classes 3805 : 2536;
-- producers LR(3805; 2750, 2500) = 1993 : 1812; consumers 1268 : 1268.
-- Retained surplus 9339 - 6341 = 2998.
INSERT INTO coopsettle.members (id, class, joined_on, left_on) VALUES
  (1, 'producer', '2020-01-01', NULL),
  (2, 'producer', '2025-07-01', NULL),
  (10, 'consumer', '2020-01-01', NULL),
  (11, 'consumer', '2025-03-01', NULL);
INSERT INTO coopsettle.transactions VALUES
  (1, '2025-02-10 12:00:00+01', 1, 10, 40000, 'EUR', 'goods'),
  (2, '2025-04-10 12:00:00+02', 2, 11, 30000, 'EUR', 'goods'),
  (3, '2025-08-10 12:00:00+02', 2, NULL, 50000, 'EUR', 'goods'),
  (4, '2025-09-10 12:00:00+02', 1, NULL, 25000, 'EUR', 'goods'),
  (5, '2025-10-10 12:00:00+02', 1, 10, -10000, 'EUR', 'goods');
