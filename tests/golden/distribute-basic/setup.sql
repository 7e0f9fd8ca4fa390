-- docs/surplus.md, "Golden case": S = 12000 - 10000 = 2000; reserve 200;
-- capital interest capped at 20 (16 : 4); patronage 1000 (600 : 400);
-- retained surplus 780.
INSERT INTO coopsettle.members VALUES
  (1, 'producer', '2020-01-01', NULL, 100000),
  (2, 'producer', '2026-11-16', NULL, 50000),
  (10, 'consumer', '2020-01-01', NULL, 0),
  (11, 'consumer', '2020-01-01', NULL, 0);
INSERT INTO coopsettle.transactions VALUES
  (1, '2026-11-03 10:00:00+01', 1, 10, 100000, 'EUR', 'crafts'),
  (2, '2026-11-17 10:00:00+01', 2, 11, 60000, 'EUR', 'crafts'),
  (3, '2026-11-20 10:00:00+01', 1, NULL, 40000, 'EUR', 'crafts'),
  (4, '2026-11-25 10:00:00+01', 2, 11, -80000, 'EUR', 'crafts');
