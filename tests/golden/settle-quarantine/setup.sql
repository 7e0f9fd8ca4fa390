INSERT INTO coopsettle.members VALUES (1, 'producer', '2020-01-01', NULL, 0),
  (10, 'consumer', '2020-01-01', NULL, 0);
INSERT INTO coopsettle.transactions VALUES
  (NULL, '2026-11-02 10:00:00+01', 1, NULL, 100, 'EUR', 'x'), -- id is null
  (20, NULL, 1, NULL, 100, 'EUR', 'x'),                       -- occurred_at is null
  (21, '2026-11-02 10:00:00+01', NULL, NULL, 100, 'EUR', 'x'),
  (22, '2026-11-02 10:00:00+01', 1, NULL, NULL, 'EUR', 'x'),
  (23, '2026-11-02 10:00:00+01', 1, NULL, 100, NULL, 'x'),
  (24, '2026-11-02 10:00:00+01', 1, NULL, 100, 'USD', 'x'),
  (25, '2026-11-02 10:00:00+01', 1, NULL, 100, 'EUR', 'x'),   -- duplicate id
  (25, '2026-11-02 10:00:01+01', 1, NULL, 200, 'EUR', 'x'),
  (26, '2026-11-02 10:00:00+01', 1, 10, 100, 'EUR', 'x'),     -- member buyer: no rule
  (27, '2026-11-02 10:00:00+01', 1, NULL, 1000, 'EUR', 'x');  -- valid: 9% = 90 -> 60 : 30
