-- stats_v2.sql -- what the version 2 bench data holds (generate_v2.sql), so
-- the report can say that membership on the local day matters. Run once by
-- scripts/bench.sh --v2, outside every timing.
--
-- psql variables: from, to (the window, timestamptz text), first_day,
-- end_day (its local days [first_day, end_day) as dates), tz (the config's
-- time zone). Prints one row:
--   membership rows, member ids, ids holding both classes, (id, class)
--   pairs with two or more periods, pairs whose status changes inside the
--   window (a member on some of its local days and not on others);
--   transactions of the window; of them, those whose producer_member or
--   consumer_member on the local day differ from the same on the UTC day,
--   and from the same without dates (any row of the id and class, as
--   version 1 reads them).
\set ON_ERROR_STOP 1
WITH m AS (SELECT id, class, joined_on, left_on FROM coopsettle.members),
pairs AS (
	-- member days of each (id, class) in the window (periods do not overlap)
	SELECT id, class, count(*) AS periods,
	       sum(greatest(0, least(coalesce(left_on, :'end_day'::date), :'end_day'::date)
			       - greatest(joined_on, :'first_day'::date))) AS days
	FROM m GROUP BY id, class),
t AS (
	SELECT t.producer_id, t.consumer_id,
	       (t.occurred_at AT TIME ZONE :'tz')::date AS day,
	       (t.occurred_at AT TIME ZONE 'UTC')::date AS utc_day
	FROM coopsettle.transactions t
	WHERE t.occurred_at >= :'from'::timestamptz AND t.occurred_at < :'to'::timestamptz),
-- as baseline_v2.sql looks them up: at most one period holds a day
flags AS (
	SELECT p.id IS NOT NULL AS pm, c.id IS NOT NULL AS cm,
	       pu.id IS NOT NULL AS pm_utc, cu.id IS NOT NULL AS cm_utc,
	       pa.id IS NOT NULL AS pm_any, ca.id IS NOT NULL AS cm_any
	FROM t
	LEFT JOIN coopsettle.members p ON p.id = t.producer_id AND p.class = 'producer'
	      AND p.joined_on <= t.day AND (p.left_on IS NULL OR t.day < p.left_on)
	LEFT JOIN coopsettle.members c ON c.id = t.consumer_id AND c.class = 'consumer'
	      AND c.joined_on <= t.day AND (c.left_on IS NULL OR t.day < c.left_on)
	LEFT JOIN coopsettle.members pu ON pu.id = t.producer_id AND pu.class = 'producer'
	      AND pu.joined_on <= t.utc_day AND (pu.left_on IS NULL OR t.utc_day < pu.left_on)
	LEFT JOIN coopsettle.members cu ON cu.id = t.consumer_id AND cu.class = 'consumer'
	      AND cu.joined_on <= t.utc_day AND (cu.left_on IS NULL OR t.utc_day < cu.left_on)
	LEFT JOIN (SELECT DISTINCT id FROM coopsettle.members WHERE class = 'producer') pa
	       ON pa.id = t.producer_id
	LEFT JOIN (SELECT DISTINCT id FROM coopsettle.members WHERE class = 'consumer') ca
	       ON ca.id = t.consumer_id)
SELECT (SELECT count(*) FROM m) AS membership_rows,
       (SELECT count(DISTINCT id) FROM m) AS member_ids,
       (SELECT count(*) FROM (SELECT id FROM m GROUP BY id HAVING count(DISTINCT class) = 2) d)
	 AS both_classes,
       (SELECT count(*) FROM pairs WHERE periods >= 2) AS two_periods,
       (SELECT count(*) FROM pairs
	 WHERE days > 0 AND days < :'end_day'::date - :'first_day'::date) AS changing,
       count(*) AS transactions,
       count(*) FILTER (WHERE pm <> pm_utc OR cm <> cm_utc) AS local_vs_utc,
       count(*) FILTER (WHERE pm <> pm_any OR cm <> cm_any) AS dated_vs_undated
FROM flags;
