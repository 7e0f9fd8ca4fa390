-- baseline_v2.sql -- the fee rules of scripts/bench/bench_v2.yaml (config
-- version 2, dated memberships) as plain SQL with NUMERIC arithmetic: what a
-- database-savvy user would write without coopsettle. scripts/bench.sh --v2
-- times it against `coopsettle settle` and checks once that both give the
-- same ledger lines (posting dates included) and totals.
--
-- psql variables: from, to (the window, timestamptz text), run_id (the value
-- written into run_id). Tables: baseline_setup.sql. One transaction.
--
-- Membership (spec 10.1): a party is a member of class c on local day D
-- when a row (id, c) of coopsettle.members has joined_on <= D and (left_on
-- NULL or D < left_on); D is the local day of occurred_at in the config's
-- time zone, Europe/Berlin. Periods of one id and class do not overlap (the
-- bench data is valid, the engine checks it), so a LEFT JOIN finds at most
-- one row and never repeats a transaction.
--
-- Rules (spec section 5), in config order, the first that matches applies:
--   guests           consumer not a consumer member on the day: 9%, min
--                    0.50, max 40.00, borne 2/3 producer, 1/3 consumer
--   outside-sellers  producer not a producer member on the day: 11%, min
--                    0.60, max 60.00, borne 4/5, 1/5
--   chf-members      currency CHF: 7% up to 200.00, 4% above; min 0.40,
--                    max 80.00, borne 1/2, 1/2
--   standard         8% up to 100.00, 6% up to 1000.00, 3.5% above; min
--                    0.30, max 120.00, borne 3/4, 1/4
-- Amounts are in minor units (both currencies have exponent 2, so 0.50 is
-- 50). raw is clamped to [min, max], then to |g|; rounded half to even (SQL's
-- round() on numeric rounds half away from zero, so the rounding is written
-- out); split by largest remainder, ties to the producer; signs of g put
-- back. Lines of amount 0 are not written; every line is posted on D (spec
-- 10.5). Party totals are kept per (party, side, currency, member on the
-- day). The bench data is valid (no NULLs, no duplicate ids, no overlapping
-- periods), so the baseline does no validation.
\set ON_ERROR_STOP 1
BEGIN;

-- The rules as a table: marginal tiers (up to three; an absent bound is a
-- very large number, a missing rate 0), min, max and the producer's and
-- consumer's shares as fractions.
CREATE TEMP TABLE rule ON COMMIT DROP AS
SELECT * FROM (VALUES
	('guests', 0.09, 1e30, 0, 1e30, 0, 50, 4000, 2, 3, 1, 3),
	('outside-sellers', 0.11, 1e30, 0, 1e30, 0, 60, 6000, 4, 5, 1, 5),
	('chf-members', 0.07, 20000, 0.04, 1e30, 0, 40, 8000, 1, 2, 1, 2),
	('standard', 0.08, 10000, 0.06, 100000, 0.035, 30, 12000, 3, 4, 1, 4))
AS r (rule_id, rate1, up_to1, rate2, up_to2, rate3, fee_min, fee_max,
      share_p_num, share_p_den, share_c_num, share_c_den);

-- One row per transaction with its day, member flags, fee and split. Each
-- level is fenced with OFFSET 0 so the planner computes a column once
-- instead of inlining its expression into every use.
CREATE TEMP TABLE fee ON COMMIT DROP AS
SELECT id, producer_id, consumer_id, g, currency, day, pm, cm, rule_id,
       sign(g) * (bp + CASE WHEN f - bp - bc = 1 AND rp >= rc THEN 1 ELSE 0 END) AS fp,
       sign(g) * (bc + CASE WHEN f - bp - bc = 1 AND rp < rc THEN 1 ELSE 0 END) AS fc
FROM (
	-- largest remainder over two parts: the floors, then the one unit
	-- left (if any) to the larger fractional part, the producer on a tie
	SELECT *, div(f * share_p_num, share_p_den) AS bp,
	       div(f * share_c_num, share_c_den) AS bc,
	       mod(f * share_p_num, share_p_den) * share_c_den AS rp,
	       mod(f * share_c_num, share_c_den) * share_p_den AS rc
	FROM (
		-- half_even on a non-negative exact value
		SELECT *, floor(raw) + CASE WHEN raw - floor(raw) > 0.5 THEN 1
					    WHEN raw - floor(raw) = 0.5
						 AND mod(floor(raw), 2) = 1 THEN 1
					    ELSE 0 END AS f
		FROM (
			SELECT *, CASE WHEN a = 0 THEN 0
				       ELSE greatest(least(greatest(raw0, fee_min), fee_max, a), 0)
				  END AS raw
			FROM (
				SELECT t.*, r.*,
				       r.rate1 * least(t.a, r.up_to1)
				       + r.rate2 * greatest(least(t.a, r.up_to2) - r.up_to1, 0)
				       + r.rate3 * greatest(t.a - r.up_to2, 0) AS raw0
				FROM (
					SELECT t.*, CASE WHEN NOT t.cm THEN 'guests'
							 WHEN NOT t.pm THEN 'outside-sellers'
							 WHEN t.currency = 'CHF' THEN 'chf-members'
							 ELSE 'standard' END AS rule_key
					FROM (
						-- membership on the local day: the period
						-- that holds it, if any
						SELECT t.*, mp.id IS NOT NULL AS pm,
						       mc.id IS NOT NULL AS cm
						FROM (
							SELECT t.id, t.producer_id, t.consumer_id,
							       t.amount_minor AS g, t.currency,
							       abs(t.amount_minor)::numeric AS a,
							       (t.occurred_at AT TIME ZONE 'Europe/Berlin')::date AS day
							FROM coopsettle.transactions t
							WHERE t.occurred_at >= :'from'::timestamptz
							  AND t.occurred_at < :'to'::timestamptz
							OFFSET 0) t
						LEFT JOIN coopsettle.members mp
						       ON mp.id = t.producer_id AND mp.class = 'producer'
						      AND mp.joined_on <= t.day
						      AND (mp.left_on IS NULL OR t.day < mp.left_on)
						LEFT JOIN coopsettle.members mc
						       ON mc.id = t.consumer_id AND mc.class = 'consumer'
						      AND mc.joined_on <= t.day
						      AND (mc.left_on IS NULL OR t.day < mc.left_on)
						OFFSET 0) t
					OFFSET 0) t
				JOIN rule r ON r.rule_id = t.rule_key
				OFFSET 0) s1
			OFFSET 0) s2
		OFFSET 0) s3
	OFFSET 0) s4;

INSERT INTO bench_sql.ledger_lines (run_id, entry, journal, line_no, transaction_id,
				    rule_id, account, party_id, currency, amount_minor,
				    posted_on)
SELECT :run_id, 'post', fee.id, l.line_no, fee.id, fee.rule_id, l.account, l.party_id,
       fee.currency, l.amount, fee.day
FROM fee CROSS JOIN LATERAL (VALUES
	(1, 'assets:clearing', fee.consumer_id, fee.g + fee.fc),
	(2, 'liabilities:payable:producers', fee.producer_id, -(fee.g - fee.fp)),
	(3, 'income:fees', fee.producer_id, -fee.fp),
	(4, 'income:fees', fee.consumer_id, -fee.fc)) AS l (line_no, account, party_id, amount)
WHERE l.amount <> 0
ORDER BY fee.id, l.line_no;

INSERT INTO bench_sql.party_totals (run_id, party_id, side, currency, member, transactions,
				    gross_minor, fees_minor)
SELECT :run_id, party_id, side, currency, member, count(*), sum(g), sum(f)
FROM (SELECT producer_id AS party_id, 'producer' AS side, currency, pm AS member, g,
	     fp AS f FROM fee
      UNION ALL
      SELECT consumer_id, 'consumer', currency, cm, g, fc FROM fee
      WHERE consumer_id IS NOT NULL) AS p
GROUP BY party_id, side, currency, member;

INSERT INTO bench_sql.currency_totals (run_id, currency, transactions, gross_minor,
				       fees_minor, fees_producer_minor, fees_consumer_minor)
SELECT :run_id, currency, count(*), sum(g), sum(fp + fc), sum(fp), sum(fc)
FROM fee GROUP BY currency;

COMMIT;
