-- docs/cooperative-law.md, "Worked cases", law-reserve-target.
-- Target of the legal reserve: floor(25% x 1876543) = 469135.
-- 2024: S = 260000 - 10000 = 250000; legal 25000 (room 69135), other
--   50000 (room 150000), refund 175000 = 100962 (member 1) + 74038.
-- 2025: S = 577891 - 10000 = 567891; legal: round(10% x S) = 56789, room
--   469135 - 425000 = 44135: 44135; other: round(20% x S) = 113578, room
--   150000 - 50000 = 100000: 100000; refund 423756 = 244426 + 179330.
INSERT INTO coopsettle.members (id, class, joined_on, left_on) VALUES
  (1, 'producer', '2020-01-01', NULL),
  (2, 'producer', '2020-01-01', NULL);
INSERT INTO coopsettle.transactions VALUES
  (1, '2024-05-15 12:00:00+02', 1, NULL, 1500000, 'EUR', 'goods'),
  (2, '2024-08-20 12:00:00+02', 2, NULL, 1100000, 'EUR', 'goods'),
  (3, '2025-03-03 12:00:00+01', 1, NULL, 3333333, 'EUR', 'goods'),
  (4, '2025-10-10 12:00:00+02', 2, NULL, 2445580, 'EUR', 'goods');
