-- 2026-03-29 in Europe/Berlin has 23 hours: [00:00+01, 00:00+02 next day)
INSERT INTO coopsettle.members VALUES (1, 'producer', '2020-01-01', NULL, 0),
  (10, 'consumer', '2020-01-01', NULL, 0);
INSERT INTO coopsettle.transactions VALUES
  (1, '2026-03-28 23:00:00+00', 1, 10, 1000, 'EUR', 'x'),        -- local midnight: in
  (2, '2026-03-29 21:59:59.999999+00', 1, 10, 2000, 'EUR', 'x'), -- 23:59:59.999999 CEST: in
  (3, '2026-03-29 22:00:00+00', 1, 10, 4000, 'EUR', 'x'),        -- next local midnight: out
  (4, '2026-03-28 22:59:59+00', 1, 10, 8000, 'EUR', 'x');        -- the day before: out
