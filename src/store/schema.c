/*
 * schema.c -- DDL of the coopsettle schema and its migrations (see schema.h
 * and docs/architecture.md).
 *
 * Input tables carry no NOT NULL or key constraints on purpose: invalid rows
 * (NULL columns, duplicate ids) are a documented input case that the engine
 * reports, so the tables must be able to hold them. Output tables are
 * append-only. Two guards: privileges (the runner role of docs/operations.md
 * may INSERT and SELECT, never DELETE or TRUNCATE, and UPDATE only a run's
 * status, which the row-level security policies of runs allow only from
 * 'committed' to 'superseded'), which hold on plain PostgreSQL and on Citus;
 * and, where the server runs them, triggers that refuse UPDATE, DELETE and
 * TRUNCATE from any role but that status change (Citus refuses triggers on
 * distributed tables, so a schema that Citus distributes has none).
 *
 * The small output tables reference runs(id) with a deferred foreign key.
 * The bulk ones (ledger_lines, party_totals, member_allocations,
 * run_input_chunks: rows per line, party, member or input chunk) have none since
 * schema version 3: a deferred key fires one check per row at COMMIT, which
 * took 18 of the 41 seconds of a 1,000,000-row settle (docs/performance.md).
 * Their rows cannot point at a missing run all the same: the engine writes
 * them in the transaction that inserts the run, checks before COMMIT that the
 * server stored as many rows as were sent (the COPY command tags), runs are never
 * deleted (the append-only trigger), and verify --chain names any row whose
 * run does not exist.
 */
#include "coopsettle/schema.h"

#include "coopsettle/hash.h"
#include "coopsettle/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const schema_v1_sql[] = {
	/* CREATE SCHEMA: cs_schema_init, with the schema's name */
	"CREATE TABLE IF NOT EXISTS coopsettle.schema_version ("
	"  version integer NOT NULL,"
	"  applied_at timestamptz NOT NULL DEFAULT pg_catalog.now());",
	/* inputs */
	"CREATE TABLE IF NOT EXISTS coopsettle.transactions ("
	"  id bigint, occurred_at timestamptz, producer_id bigint, consumer_id bigint,"
	"  amount_minor bigint, currency text, category text);",
	"CREATE INDEX IF NOT EXISTS transactions_occurred_at_idx"
	"  ON coopsettle.transactions (occurred_at);",
	"CREATE INDEX IF NOT EXISTS transactions_id_idx ON coopsettle.transactions (id);",
	"CREATE TABLE IF NOT EXISTS coopsettle.members ("
	"  id bigint, class text, joined_on date, left_on date,"
	"  paid_in_capital_minor bigint);",
	"CREATE INDEX IF NOT EXISTS members_id_idx ON coopsettle.members (id);",
	"CREATE TABLE IF NOT EXISTS coopsettle.operating_costs ("
	"  booked_on date, currency text, amount_minor bigint);",
	"CREATE INDEX IF NOT EXISTS operating_costs_booked_on_idx"
	"  ON coopsettle.operating_costs (booked_on);",
	/* outputs */
	"CREATE SEQUENCE IF NOT EXISTS coopsettle.runs_id_seq;",
	"CREATE TABLE IF NOT EXISTS coopsettle.runs ("
	"  id bigint PRIMARY KEY,"
	"  kind text NOT NULL CHECK (kind IN ('settle', 'distribute')),"
	"  window_from timestamptz NOT NULL,"
	"  window_to timestamptz NOT NULL,"
	"  window_from_us bigint NOT NULL,"
	"  window_to_us bigint NOT NULL,"
	"  window_from_text text NOT NULL,"
	"  window_to_text text NOT NULL,"
	"  status text NOT NULL CHECK (status IN ('committed', 'superseded')),"
	"  config_text text NOT NULL,"
	"  config_sha256 text NOT NULL,"
	"  input_sha256 text NOT NULL,"
	"  output_sha256 text NOT NULL,"
	"  engine_version text NOT NULL,"
	"  created_at text NOT NULL,"
	"  supersedes bigint REFERENCES coopsettle.runs (id),"
	"  prev_record_sha256 text,"
	"  record_sha256 text NOT NULL,"
	"  line_count bigint NOT NULL,"
	"  statement text NOT NULL);",
	"CREATE INDEX IF NOT EXISTS runs_kind_window_idx"
	"  ON coopsettle.runs (kind, window_from, window_to);",
	"CREATE TABLE IF NOT EXISTS coopsettle.ledger_lines ("
	"  run_id bigint NOT NULL," /* no foreign key: see the file comment */
	"  entry text NOT NULL CHECK (entry IN ('post', 'reversal')),"
	"  journal bigint NOT NULL,"
	"  line_no integer NOT NULL,"
	"  transaction_id bigint,"
	"  rule_id text,"
	"  account text NOT NULL,"
	"  party_id bigint,"
	"  currency text NOT NULL,"
	"  amount_minor numeric(40, 0) NOT NULL);",
	"CREATE INDEX IF NOT EXISTS ledger_lines_run_idx"
	"  ON coopsettle.ledger_lines (run_id, journal, line_no);",
	"CREATE TABLE IF NOT EXISTS coopsettle.party_totals ("
	"  run_id bigint NOT NULL," /* no foreign key: see the file comment */
	"  party_id bigint NOT NULL,"
	"  side text NOT NULL,"
	"  currency text NOT NULL,"
	"  transactions bigint NOT NULL,"
	"  gross_minor numeric(40, 0) NOT NULL,"
	"  fees_minor numeric(40, 0) NOT NULL,"
	"  PRIMARY KEY (run_id, side, party_id, currency));",
	"CREATE TABLE IF NOT EXISTS coopsettle.currency_totals ("
	"  run_id bigint NOT NULL REFERENCES coopsettle.runs (id) DEFERRABLE INITIALLY DEFERRED,"
	"  currency text NOT NULL,"
	"  transactions bigint NOT NULL,"
	"  gross_minor numeric(40, 0) NOT NULL,"
	"  fees_minor numeric(40, 0) NOT NULL,"
	"  fees_producer_minor numeric(40, 0) NOT NULL,"
	"  fees_consumer_minor numeric(40, 0) NOT NULL,"
	"  PRIMARY KEY (run_id, currency));",
	"CREATE TABLE IF NOT EXISTS coopsettle.settlement_rejects ("
	"  run_id bigint NOT NULL REFERENCES coopsettle.runs (id) DEFERRABLE INITIALLY DEFERRED,"
	"  ordinal integer NOT NULL,"
	"  transaction_id bigint,"
	"  reason text NOT NULL,"
	"  PRIMARY KEY (run_id, ordinal));",
	"CREATE TABLE IF NOT EXISTS coopsettle.distribution_steps ("
	"  run_id bigint NOT NULL REFERENCES coopsettle.runs (id) DEFERRABLE INITIALLY DEFERRED,"
	"  currency text NOT NULL,"
	"  ordinal integer NOT NULL,"
	"  step_id text NOT NULL,"
	"  amount_minor numeric(40, 0) NOT NULL,"
	"  PRIMARY KEY (run_id, currency, ordinal));",
	"CREATE TABLE IF NOT EXISTS coopsettle.member_allocations ("
	"  run_id bigint NOT NULL," /* no foreign key: see the file comment */
	"  member_id bigint NOT NULL,"
	"  currency text NOT NULL,"
	"  capital_interest_minor numeric(40, 0) NOT NULL,"
	"  patronage_minor numeric(40, 0) NOT NULL,"
	"  cash_minor numeric(40, 0) NOT NULL,"
	"  retained_minor numeric(40, 0) NOT NULL,"
	"  patronage_basis_minor numeric(40, 0) NOT NULL,"
	"  PRIMARY KEY (run_id, member_id, currency));",
	/* version 3: the bulk tables lose their foreign keys (file comment) */
	"ALTER TABLE coopsettle.ledger_lines DROP CONSTRAINT IF EXISTS ledger_lines_run_id_fkey;",
	"ALTER TABLE coopsettle.party_totals DROP CONSTRAINT IF EXISTS party_totals_run_id_fkey;",
	"ALTER TABLE coopsettle.member_allocations"
	"  DROP CONSTRAINT IF EXISTS member_allocations_run_id_fkey;",
	/* version 4: the input snapshot in chunks of CS_INPUT_CHUNK_ROWS rows, one
	 * array per column (docs/auditing.md, "Input snapshots"); the view
	 * run_inputs shows it a row per transaction, as versions 2 and 3 stored it */
	"CREATE TABLE IF NOT EXISTS coopsettle.run_input_chunks ("
	"  run_id bigint NOT NULL," /* no foreign key: see the file comment */
	"  first_ordinal bigint NOT NULL,"
	"  transaction_id bigint[] NOT NULL,"
	"  occurred_at_us bigint[] NOT NULL,"
	"  producer_id bigint[] NOT NULL,"
	"  consumer_id bigint[] NOT NULL,"
	"  amount_minor bigint[] NOT NULL,"
	"  currency text[] NOT NULL,"
	"  category text[] NOT NULL,"
	"  producer_member boolean[] NOT NULL,"
	"  consumer_member boolean[] NOT NULL,"
	"  PRIMARY KEY (run_id, first_ordinal));",
	/* lz4 compresses a chunk three times faster than the default pglz; a
	 * server built without lz4 stores the chunks uncompressed instead */
	"DO $$ BEGIN"
	"  ALTER TABLE coopsettle.run_input_chunks ALTER transaction_id SET COMPRESSION lz4,"
	"    ALTER occurred_at_us SET COMPRESSION lz4, ALTER producer_id SET COMPRESSION lz4,"
	"    ALTER consumer_id SET COMPRESSION lz4, ALTER amount_minor SET COMPRESSION lz4,"
	"    ALTER currency SET COMPRESSION lz4, ALTER category SET COMPRESSION lz4,"
	"    ALTER producer_member SET COMPRESSION lz4, ALTER consumer_member SET COMPRESSION lz4;"
	"EXCEPTION WHEN feature_not_supported THEN"
	"  ALTER TABLE coopsettle.run_input_chunks ALTER transaction_id SET STORAGE EXTERNAL,"
	"    ALTER occurred_at_us SET STORAGE EXTERNAL, ALTER producer_id SET STORAGE EXTERNAL,"
	"    ALTER consumer_id SET STORAGE EXTERNAL, ALTER amount_minor SET STORAGE EXTERNAL,"
	"    ALTER currency SET STORAGE EXTERNAL, ALTER category SET STORAGE EXTERNAL,"
	"    ALTER producer_member SET STORAGE EXTERNAL, ALTER consumer_member SET STORAGE EXTERNAL;"
	"END $$;",
	/* a version 2 or 3 table run_inputs (one row per transaction) moves into
	 * chunks; the rows keep their order, numbered 1..n per run again (they
	 * are unless the table was edited, and verify still names such an edit) */
	"DO $$ BEGIN"
	"  IF (SELECT c.relkind FROM pg_catalog.pg_class c"
	"      WHERE c.oid = pg_catalog.to_regclass('coopsettle.run_inputs')) = 'r' THEN"
	"    INSERT INTO coopsettle.run_input_chunks SELECT run_id, min(n),"
	"      pg_catalog.array_agg(transaction_id ORDER BY n),"
	"      pg_catalog.array_agg(occurred_at_us ORDER BY n),"
	"      pg_catalog.array_agg(producer_id ORDER BY n),"
	"      pg_catalog.array_agg(consumer_id ORDER BY n),"
	"      pg_catalog.array_agg(amount_minor ORDER BY n),"
	"      pg_catalog.array_agg(currency ORDER BY n),"
	"      pg_catalog.array_agg(category ORDER BY n),"
	"      pg_catalog.array_agg(producer_member ORDER BY n),"
	"      pg_catalog.array_agg(consumer_member ORDER BY n)"
	"      FROM (SELECT r.*, pg_catalog.row_number() OVER (PARTITION BY r.run_id"
	"            ORDER BY r.ordinal) AS n FROM coopsettle.run_inputs r) s"
	"      GROUP BY run_id, (n - 1) / " CS_INPUT_CHUNK_ROWS_SQL ";"
	"    DROP TABLE coopsettle.run_inputs;"
	"  END IF;"
	"END $$;",
	"CREATE OR REPLACE VIEW coopsettle.run_inputs AS"
	"  SELECT c.run_id, c.first_ordinal + u.i - 1 AS ordinal, u.transaction_id,"
	"    u.occurred_at_us, u.producer_id, u.consumer_id, u.amount_minor, u.currency,"
	"    u.category, u.producer_member, u.consumer_member"
	"  FROM coopsettle.run_input_chunks c CROSS JOIN LATERAL ROWS FROM ("
	"    pg_catalog.unnest(c.transaction_id), pg_catalog.unnest(c.occurred_at_us),"
	"    pg_catalog.unnest(c.producer_id), pg_catalog.unnest(c.consumer_id),"
	"    pg_catalog.unnest(c.amount_minor), pg_catalog.unnest(c.currency),"
	"    pg_catalog.unnest(c.category), pg_catalog.unnest(c.producer_member),"
	"    pg_catalog.unnest(c.consumer_member)) WITH ORDINALITY AS u(transaction_id,"
	"    occurred_at_us, producer_id, consumer_id, amount_minor, currency, category,"
	"    producer_member, consumer_member, i);",
	/* version 5 (config version 2, time-true records; docs/inputs.md,
	 * docs/auditing.md): capital movements as an input; a posting date on
	 * every ledger line (NULL on lines written before); party totals apart
	 * for member business (NULL: a version 1 run); the snapshots of what a
	 * run read from memberships, capital and costs */
	"CREATE TABLE IF NOT EXISTS coopsettle.capital_movements ("
	"  member_id bigint, booked_on date, amount_minor bigint);",
	"CREATE INDEX IF NOT EXISTS capital_movements_member_idx"
	"  ON coopsettle.capital_movements (member_id, booked_on);",
	"ALTER TABLE coopsettle.ledger_lines ADD COLUMN IF NOT EXISTS posted_on date;",
	"ALTER TABLE coopsettle.party_totals ADD COLUMN IF NOT EXISTS member boolean;",
	"DO $$ BEGIN"
	"  IF EXISTS (SELECT 1 FROM pg_catalog.pg_constraint WHERE conname = 'party_totals_pkey'"
	"      AND conrelid = 'coopsettle.party_totals'::regclass) THEN"
	"    ALTER TABLE coopsettle.party_totals DROP CONSTRAINT party_totals_pkey;"
	"  END IF;"
	"END $$;",
	"CREATE UNIQUE INDEX IF NOT EXISTS party_totals_key ON coopsettle.party_totals"
	"  (run_id, side, party_id, currency, member) NULLS NOT DISTINCT;",
	"CREATE TABLE IF NOT EXISTS coopsettle.run_memberships ("
	"  run_id bigint NOT NULL," /* no foreign key: see the file comment */
	"  member_id bigint NOT NULL, class text NOT NULL, joined_on date NOT NULL,"
	"  left_on date);",
	"CREATE INDEX IF NOT EXISTS run_memberships_run_idx"
	"  ON coopsettle.run_memberships (run_id, member_id);",
	"CREATE TABLE IF NOT EXISTS coopsettle.run_capital ("
	"  run_id bigint NOT NULL," /* no foreign key: see the file comment */
	"  member_id bigint NOT NULL, booked_on date NOT NULL, amount_minor bigint NOT NULL);",
	"CREATE INDEX IF NOT EXISTS run_capital_run_idx"
	"  ON coopsettle.run_capital (run_id, member_id);",
	"CREATE TABLE IF NOT EXISTS coopsettle.run_costs ("
	"  run_id bigint NOT NULL REFERENCES coopsettle.runs (id) DEFERRABLE INITIALLY DEFERRED,"
	"  booked_on date NOT NULL, currency text NOT NULL, amount_minor bigint NOT NULL);",
	"CREATE INDEX IF NOT EXISTS run_costs_run_idx ON coopsettle.run_costs (run_id);",
	/* append-only: refuse UPDATE and DELETE but the supersede status change */
	"CREATE OR REPLACE FUNCTION coopsettle.refuse_change() RETURNS trigger"
	"  LANGUAGE plpgsql SET search_path = '' AS $$"
	"BEGIN"
	"  IF TG_OP = 'UPDATE' AND TG_TABLE_NAME = 'runs' THEN"
	"    IF OLD.status = 'committed' AND NEW.status = 'superseded'"
	"       AND (pg_catalog.to_jsonb(OLD) - 'status') = (pg_catalog.to_jsonb(NEW) - 'status') THEN"
	"      RETURN NEW;"
	"    END IF;"
	"  END IF;"
	"  RAISE EXCEPTION 'coopsettle.% is append-only: % refused', TG_TABLE_NAME, TG_OP"
	"    USING ERRCODE = 'insufficient_privilege',"
	"          HINT = 'Correct a period with settle --supersede --reason TEXT.';"
	"END $$;",
	/* the runs' row-level security: what the runner (docs/operations.md)
	 * may do to a run record beyond its column grants -- read any, insert
	 * committed ones, and change a committed one only to superseded (its
	 * grant is UPDATE (status)). It holds where no trigger runs (Citus runs
	 * none on distributed tables, but keeps these policies on the shards:
	 * docs/scale-out.md); the owner is not bound by it, the triggers bind
	 * the owner too. Policies cannot say "if not exists": dropped first. */
	"ALTER TABLE coopsettle.runs ENABLE ROW LEVEL SECURITY;",
	"DROP POLICY IF EXISTS runs_read ON coopsettle.runs;",
	"CREATE POLICY runs_read ON coopsettle.runs FOR SELECT USING (true);",
	"DROP POLICY IF EXISTS runs_append ON coopsettle.runs;",
	"CREATE POLICY runs_append ON coopsettle.runs FOR INSERT WITH CHECK (status = 'committed');",
	"DROP POLICY IF EXISTS runs_supersede ON coopsettle.runs;",
	"CREATE POLICY runs_supersede ON coopsettle.runs FOR UPDATE USING (status = 'committed')"
	"  WITH CHECK (status = 'superseded');",
	/* version 6, run bookkeeping (spec section 10.4): who made
	 * each run (the session user), why (--reason), and the runs it depends
	 * on (a distribute run's settle runs, a superseding run's predecessor),
	 * all covered by the record hash (format 3). Runs made before keep NULL.
	 * Run ids are drawn as max(id) + 1 under the advisory lock since this
	 * version; the sequence runs_id_seq stays, unused, so that older grants
	 * and dumps still apply. */
	"ALTER TABLE coopsettle.runs ADD COLUMN IF NOT EXISTS actor text,"
	"  ADD COLUMN IF NOT EXISTS reason text,"
	"  ADD COLUMN IF NOT EXISTS depends_on bigint[];",
	/* version 7, the cooperative law (spec 10.3; config version 2): a
	 * settle run's fee income apart from its fund parts (NULL: no fund, the
	 * fee income is fees_minor), and a member's withheld capital interest
	 * (NULL: a run without withholding, 0) */
	"ALTER TABLE coopsettle.currency_totals ADD COLUMN IF NOT EXISTS fee_income_minor"
	"  numeric(40, 0);",
	"ALTER TABLE coopsettle.member_allocations ADD COLUMN IF NOT EXISTS withheld_minor"
	"  numeric(40, 0);",
	/* version 8, VAT on fees (spec 10.8; config version 2): the VAT each
	 * party and each currency paid on fees (NULL: a run without VAT) */
	"ALTER TABLE coopsettle.party_totals ADD COLUMN IF NOT EXISTS vat_minor numeric(40, 0);",
	"ALTER TABLE coopsettle.currency_totals ADD COLUMN IF NOT EXISTS vat_minor numeric(40, 0);",
};

/* The integer in a one-cell result, or -1. */
static int cell_int(const char *text)
{
	int64_t v;

	if (cs_parse_i64(text, &v) < 0 || v < 0 || v > 1000000)
		return -1;
	return (int)v;
}

static const char *const append_only_tables[] = {
	"runs", "ledger_lines", "party_totals", "currency_totals", "settlement_rejects",
	"distribution_steps", "member_allocations", "run_input_chunks", "run_memberships",
	"run_capital", "run_costs",
};

void cs_schema_lock_key(char out[24])
{
	static const char salt[] = "coopsettle advisory lock: ";
	const char *name = cs_db_schema();
	char buf[sizeof(salt) + CS_SCHEMA_NAME_MAX + 1], hex[65];
	uint64_t u = 0;
	int i;

	if (strcmp(name, "coopsettle") == 0) {
		snprintf(out, 24, "%s", CS_ADVISORY_LOCK_KEY);
		return;
	}
	snprintf(buf, sizeof(buf), "%s%s", salt, name);
	cs_sha256_hex(buf, strlen(buf), hex);
	for (i = 0; i < 16; i++) {
		char c = hex[i];

		u = u << 4 | (uint64_t)(c <= '9' ? c - '0' : c - 'a' + 10);
	}
	/* two's complement without relying on the conversion of a large u */
	if (u >> 63)
		snprintf(out, 24, "-%llu", (unsigned long long)(~u + 1));
	else
		snprintf(out, 24, "%llu", (unsigned long long)u);
}

int cs_schema_lock(cs_db *db, cs_error *err)
{
	char key[24];
	const char *params[1];

	cs_schema_lock_key(key);
	params[0] = key;
	return cs_db_exec(db, "SELECT pg_catalog.pg_advisory_xact_lock($1::bigint)", 1, params,
			  err);
}

int cs_schema_distributed(cs_db *db, int *distributed, cs_error *err)
{
	cs_db_rows rows;
	int citus;

	*distributed = 0;
	if (cs_db_query(db, "SELECT pg_catalog.to_regclass('pg_catalog.pg_dist_partition') IS NOT NULL",
			0, NULL, &rows, err) < 0)
		return -1;
	citus = cs_db_cell(&rows, 0, 0) && cs_db_cell(&rows, 0, 0)[0] == 't';
	cs_db_rows_free(&rows);
	if (!citus)
		return 0;
	if (cs_db_query(db,
			"SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition"
			" WHERE logicalrelid = pg_catalog.to_regclass('coopsettle.runs'))",
			0, NULL, &rows, err) < 0)
		return -1;
	*distributed = cs_db_cell(&rows, 0, 0) && cs_db_cell(&rows, 0, 0)[0] == 't';
	cs_db_rows_free(&rows);
	return 0;
}

int cs_schema_init(cs_db *db, int *from_version, int *version, cs_error *err)
{
	cs_db_rows rows;
	char sql[512];
	size_t i;
	int current = 0, distributed = 0;

	if (cs_db_exec(db, "BEGIN", 0, NULL, err) < 0)
		return -1;
	if (cs_schema_lock(db, err) < 0)
		goto fail;
	/* the version before: 0 when there is no schema yet */
	if (cs_db_query(db,
			"SELECT CASE WHEN pg_catalog.to_regclass('coopsettle.schema_version') IS NULL"
			" THEN 0 ELSE -1 END",
			0, NULL, &rows, err) < 0)
		goto fail;
	*from_version = cs_db_cell(&rows, 0, 0) && strcmp(cs_db_cell(&rows, 0, 0), "0") == 0 ? 0
											    : -1;
	cs_db_rows_free(&rows);
	snprintf(sql, sizeof(sql), "CREATE SCHEMA IF NOT EXISTS \"%s\"", cs_db_schema());
	if (cs_db_exec(db, sql, 0, NULL, err) < 0)
		goto fail;
	for (i = 0; i < sizeof(schema_v1_sql) / sizeof(schema_v1_sql[0]); i++)
		if (cs_db_exec(db, schema_v1_sql[i], 0, NULL, err) < 0)
			goto fail;
	if (cs_schema_distributed(db, &distributed, err) < 0)
		goto fail;
	for (i = 0; !distributed && i < sizeof(append_only_tables) / sizeof(append_only_tables[0]);
	     i++) {
		const char *t = append_only_tables[i];
		static const char *const fmt[] = {
			"DROP TRIGGER IF EXISTS append_only ON coopsettle.%s",
			"CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON coopsettle.%s"
			" FOR EACH ROW EXECUTE FUNCTION coopsettle.refuse_change()",
			"DROP TRIGGER IF EXISTS append_only_truncate ON coopsettle.%s",
			"CREATE TRIGGER append_only_truncate BEFORE TRUNCATE ON coopsettle.%s"
			" FOR EACH STATEMENT EXECUTE FUNCTION coopsettle.refuse_change()",
		};
		size_t k;

		for (k = 0; k < sizeof(fmt) / sizeof(fmt[0]); k++) {
			snprintf(sql, sizeof(sql), fmt[k], t);
			if (cs_db_exec(db, sql, 0, NULL, err) < 0)
				goto fail;
		}
	}
	if (cs_db_query(db, "SELECT coalesce(max(version), 0) FROM coopsettle.schema_version", 0,
			NULL, &rows, err) < 0)
		goto fail;
	current = cell_int(cs_db_cell(&rows, 0, 0));
	cs_db_rows_free(&rows);
	if (*from_version < 0)
		*from_version = current;
	if (current > CS_SCHEMA_VERSION) {
		cs_error_set(err, CS_EXIT_USAGE,
			     "schema version %d is newer than this engine's %d", current,
			     CS_SCHEMA_VERSION);
		cs_error_hint(err, "Use a coopsettle release that knows schema version %d.",
			      current);
		goto fail;
	}
	snprintf(sql, sizeof(sql), "INSERT INTO coopsettle.schema_version (version) VALUES (%d)",
		 CS_SCHEMA_VERSION);
	if (current < CS_SCHEMA_VERSION && cs_db_exec(db, sql, 0, NULL, err) < 0)
		goto fail;
	if (cs_db_exec(db, "COMMIT", 0, NULL, err) < 0)
		return -1;
	*version = CS_SCHEMA_VERSION;
	return 0;
fail:
	{
		cs_error ignored;

		cs_db_exec(db, "ROLLBACK", 0, NULL, &ignored);
	}
	return -1;
}

int cs_schema_check(cs_db *db, cs_error *err)
{
	cs_db_rows rows;
	int ok, found;

	if (cs_db_query(db,
			"SELECT pg_catalog.to_regclass('coopsettle.schema_version') IS NOT NULL",
			0, NULL, &rows, err) < 0)
		return -1;
	ok = cs_db_cell(&rows, 0, 0) && cs_db_cell(&rows, 0, 0)[0] == 't';
	cs_db_rows_free(&rows);
	if (!ok) {
		cs_error_set(err, CS_EXIT_USAGE, "the coopsettle schema '%s' does not exist",
			     cs_db_schema());
		cs_error_hint(err, "Run 'coopsettle init-db' first, as the schema's owner; a "
				   "retry will not help.");
		return -1;
	}
	if (cs_db_query(db, "SELECT coalesce(max(version), 0) FROM coopsettle.schema_version", 0,
			NULL, &rows, err) < 0)
		return -1;
	found = cs_db_cell(&rows, 0, 0) ? cell_int(cs_db_cell(&rows, 0, 0)) : -1;
	cs_db_rows_free(&rows);
	if (found == CS_SCHEMA_VERSION)
		return 0;
	if (found > CS_SCHEMA_VERSION) {
		cs_error_set(err, CS_EXIT_USAGE,
			     "the coopsettle schema is at version %d, newer than this engine's %d",
			     found, CS_SCHEMA_VERSION);
		cs_error_hint(err, "Use a coopsettle release that knows schema version %d.", found);
		return -1;
	}
	cs_error_set(err, CS_EXIT_USAGE,
		     "the coopsettle schema is at version %d; this engine needs version %d", found,
		     CS_SCHEMA_VERSION);
	cs_error_hint(err, "Run 'coopsettle init-db' as the schema's owner to migrate it; a retry "
			   "will not help.");
	return -1;
}
