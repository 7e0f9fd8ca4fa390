-- baseline_vat.sql -- the fee rules of scripts/bench/bench_vat.yaml (config
-- version 2, dated memberships, dated rules and VAT on every rule) as plain
-- SQL with NUMERIC arithmetic: what a database-savvy user would write
-- without coopsettle. scripts/bench.sh --vat times it against `coopsettle
-- settle` and checks once that both give the same ledger lines (posting
-- dates included) and totals (VAT included).
--
-- psql variables: from, to (the window, timestamptz text), run_id (the value
-- written into run_id). Tables: baseline_setup.sql. One transaction.
--
-- Membership (spec 10.1) as in baseline_v2.sql: a party is a member of
-- class c on local day D when a row (id, c) of coopsettle.members has
-- joined_on <= D and (left_on NULL or D < left_on); D is the local day of
-- occurred_at in Europe/Berlin.
--
-- Rules (spec section 5, dates spec 10.8), in config order, the first that
-- matches applies:
--   guests           consumer not a consumer member on the day: 9%, min
--                    0.50, max 40.00, borne 2/3 producer, 1/3 consumer
--   outside-sellers  producer not a producer member on the day: 11%, min
--                    0.60, max 60.00, borne 4/5, 1/5
--   chf-members      currency CHF: 7% up to 200.00, 4% above; min 0.40,
--                    max 80.00, borne 1/2, 1/2; VAT 8.1% included, on
--                    liabilities:vat:ch
--   standard         D < 2026-11-15: 8% up to 100.00, 6% up to 1000.00,
--                    3.5% above; min 0.30, max 120.00, borne 3/4, 1/4
--   standard-new     D >= 2026-11-15: 9% up to 100.00, 6% up to 1000.00,
--                    3.5% above; min 0.40, max 120.00, borne 3/4, 1/4
-- Every rule but chf-members: VAT 19% excluded, on liabilities:vat:19.
-- The fee f and its split f_p, f_c as in baseline_v2.sql. Then per side
-- (spec 10.8), with the VAT rate r = vn/vd: excluded, t = |f_side| x r,
-- the side pays p = f_side + t and its net fee is n = f_side; included,
-- t = |f_side| x r / (1 + r), p = f_side, n = f_side - t. t is rounded half
-- to even with integer arithmetic (numerator and denominator kept apart,
-- since 0.081/1.081 is no finite decimal) and takes the sign of g.
-- Lines: 1 clearing +(g + p_c), 2 payable -(g - p_p), 3 and 4 income:fees
-- -n_p and -n_c, 5 and 6 the VAT account -t_p and -t_c; lines of 0 are not
-- written, every line is posted on D. Totals count net fees and gain the
-- VAT.
\set ON_ERROR_STOP 1
BEGIN;

-- The rules as a table: marginal tiers (up to three; an absent bound is a
-- very large number, a missing rate 0), min, max and the producer's and
-- consumer's shares as fractions; then the VAT: whether included, the
-- fraction t / |f_side| as vat_num / vat_den (r for excluded, r / (1 + r)
-- for included), and its account.
CREATE TEMP TABLE rule ON COMMIT DROP AS
SELECT * FROM (VALUES
	('guests', 0.09, 1e30, 0, 1e30, 0, 50, 4000, 2, 3, 1, 3,
	 false, 19, 100, 'liabilities:vat:19'),
	('outside-sellers', 0.11, 1e30, 0, 1e30, 0, 60, 6000, 4, 5, 1, 5,
	 false, 19, 100, 'liabilities:vat:19'),
	('chf-members', 0.07, 20000, 0.04, 1e30, 0, 40, 8000, 1, 2, 1, 2,
	 true, 81, 1081, 'liabilities:vat:ch'),
	('standard', 0.08, 10000, 0.06, 100000, 0.035, 30, 12000, 3, 4, 1, 4,
	 false, 19, 100, 'liabilities:vat:19'),
	('standard-new', 0.09, 10000, 0.06, 100000, 0.035, 40, 12000, 3, 4, 1, 4,
	 false, 19, 100, 'liabilities:vat:19'))
AS r (rule_id, rate1, up_to1, rate2, up_to2, rate3, fee_min, fee_max,
      share_p_num, share_p_den, share_c_num, share_c_den,
      vat_included, vat_num, vat_den, vat_account);

-- One row per transaction with its day, member flags, fee and split. Each
-- level is fenced with OFFSET 0 so the planner computes a column once
-- instead of inlining its expression into every use.
CREATE TEMP TABLE fee ON COMMIT DROP AS
SELECT id, producer_id, consumer_id, g, currency, day, pm, cm, rule_id, vat_account,
       CASE WHEN vat_included THEN fp ELSE fp + tp END AS pp,
       CASE WHEN vat_included THEN fc ELSE fc + tc END AS pc,
       CASE WHEN vat_included THEN fp - tp ELSE fp END AS np,
       CASE WHEN vat_included THEN fc - tc ELSE fc END AS nc,
       tp, tc
FROM (
-- the VAT of each side: half_even of |f_side| x vat_num / vat_den, in
-- integers, with the sign of g
SELECT *, sign(g) * (qp + CASE WHEN 2 * mp > vat_den OR (2 * mp = vat_den AND mod(qp, 2) = 1)
			      THEN 1 ELSE 0 END) AS tp,
	  sign(g) * (qc + CASE WHEN 2 * mc > vat_den OR (2 * mc = vat_den AND mod(qc, 2) = 1)
			      THEN 1 ELSE 0 END) AS tc
FROM (
SELECT *, div(abs(fp)::numeric * vat_num, vat_den) AS qp, mod(abs(fp)::numeric * vat_num, vat_den) AS mp,
	  div(abs(fc)::numeric * vat_num, vat_den) AS qc, mod(abs(fc)::numeric * vat_num, vat_den) AS mc
FROM (
SELECT id, producer_id, consumer_id, g, currency, day, pm, cm, rule_id,
       vat_included, vat_num, vat_den, vat_account,
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
							 WHEN t.day < DATE '2026-11-15' THEN 'standard'
							 ELSE 'standard-new' END AS rule_key
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
	OFFSET 0) s4
OFFSET 0) s5
OFFSET 0) s6
OFFSET 0) s7;

INSERT INTO bench_sql.ledger_lines (run_id, entry, journal, line_no, transaction_id,
				    rule_id, account, party_id, currency, amount_minor,
				    posted_on)
SELECT :run_id, 'post', fee.id, l.line_no, fee.id, fee.rule_id, l.account, l.party_id,
       fee.currency, l.amount, fee.day
FROM fee CROSS JOIN LATERAL (VALUES
	(1, 'assets:clearing', fee.consumer_id, fee.g + fee.pc),
	(2, 'liabilities:payable:producers', fee.producer_id, -(fee.g - fee.pp)),
	(3, 'income:fees', fee.producer_id, -fee.np),
	(4, 'income:fees', fee.consumer_id, -fee.nc),
	(5, fee.vat_account, fee.producer_id, -fee.tp),
	(6, fee.vat_account, fee.consumer_id, -fee.tc)) AS l (line_no, account, party_id, amount)
WHERE l.amount <> 0
ORDER BY fee.id, l.line_no;

INSERT INTO bench_sql.party_totals (run_id, party_id, side, currency, member, transactions,
				    gross_minor, fees_minor, vat_minor)
SELECT :run_id, party_id, side, currency, member, count(*), sum(g), sum(n), sum(t)
FROM (SELECT producer_id AS party_id, 'producer' AS side, currency, pm AS member, g,
	     np AS n, tp AS t FROM fee
      UNION ALL
      SELECT consumer_id, 'consumer', currency, cm, g, nc, tc FROM fee
      WHERE consumer_id IS NOT NULL) AS p
GROUP BY party_id, side, currency, member;

INSERT INTO bench_sql.currency_totals (run_id, currency, transactions, gross_minor,
				       fees_minor, fees_producer_minor, fees_consumer_minor,
				       vat_minor)
SELECT :run_id, currency, count(*), sum(g), sum(np + nc), sum(np), sum(nc), sum(tp + tc)
FROM fee GROUP BY currency;

COMMIT;
