INSERT INTO coopsettle.members VALUES
  (1, 'producer', '2020-01-01', NULL, 10000),
  (2, 'producer', '2020-01-01', NULL, 0),
  (10, 'consumer', '2021-05-01', NULL, 5000),
  (11, 'consumer', '2021-05-01', NULL, 0);
INSERT INTO coopsettle.transactions VALUES
  -- guest buys 3.00: 9% = 0.27 < min 0.50 -> 50; split 2/3 : 1/3 = 33.33 : 16.67 -> 33 : 17
  (1, '2026-11-02 10:00:00+01', 1, NULL, 300, 'EUR', 'crafts'),
  -- member buys 150.00: 0.10 + 8% x 100.00 + 5% x 50.00 = 10 + 800 + 250 = 1060
  (2, '2026-11-02 11:00:00+01', 1, 10, 15000, 'EUR', 'crafts'),
  -- refund of 150.00: -1060
  (3, '2026-11-02 12:00:00+01', 1, 10, -15000, 'EUR', 'crafts'),
  -- CHF sale, producer 7 is not a member: 10 + 8% x 20.00 = 170
  (4, '2026-11-02 13:00:00+01', 7, 11, 2000, 'CHF', 'food'),
  -- the next day: not in the window
  (5, '2026-11-03 00:00:00+01', 1, 10, 999, 'EUR', 'food');
