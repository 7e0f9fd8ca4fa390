-- docs/cooperative-law.md, "Worked cases", law-qualified-notice.
-- Fees 6170 + round(4938.25) = 4938: 11108; S = 11108 - 2000 = 9108;
-- reserve round(910.8) = 911; dividend 8197 = 4553 (member 1) + 3644
-- (member 2); cash ceil(20%) 911 and 729, retained 3642 and 2915.
-- Last day 2025-06-30: due 2026-02-28 (clamped) + 15 days = 2026-03-15.
INSERT INTO coopsettle.members (id, class, joined_on, left_on) VALUES
  (1, 'producer', '2020-01-01', NULL),
  (2, 'producer', '2020-01-01', NULL);
INSERT INTO coopsettle.transactions VALUES
  (1, '2024-09-14 12:00:00-05', 1, NULL, 123400, 'USD', 'goods'),
  (2, '2025-03-22 12:00:00-05', 2, NULL, 98765, 'USD', 'goods');
