/*
 * db.c -- the libpq edge of coopsettle (see db.h). The only file that
 * includes libpq-fe.h.
 */
#include "coopsettle/db.h"

#include <errno.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coopsettle/util.h"

struct cs_db {
	PGconn *conn;
	int lost;
	char *copy_buf;	  /* last buffer returned by PQgetCopyData */
	int64_t affected; /* rows the last command stored (its tag), -1 if none */
};

/* The schema of the engine's tables (cs_db_use_schema), bare and quoted. */
static char schema_name[CS_SCHEMA_NAME_MAX + 1] = "coopsettle";
static char schema_quoted[CS_SCHEMA_NAME_MAX + 4] = "\"coopsettle\".";

int cs_db_use_schema(const char *name, cs_error *err)
{
	const char *why = cs_schema_name_problem(name, strlen(name));

	if (why) {
		cs_error_set(err, CS_EXIT_USAGE, "invalid schema name '%s': %s",
			     cs_text_shown(name), why);
		return -1;
	}
	snprintf(schema_name, sizeof(schema_name), "%s", name);
	snprintf(schema_quoted, sizeof(schema_quoted), "\"%s\".", name);
	return 0;
}

const char *cs_db_schema(void)
{
	return schema_name;
}

/* Nonzero when c can continue an SQL word (so `xcoopsettle.` is no prefix). */
static int word_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '$' || c == '.' || (unsigned char)c >= 0x80;
}

/*
 * The schema map. A double-quoted identifier (the config's relations, which
 * PQescapeIdentifier quoted) is copied as it is; a single-quoted literal is
 * mapped too (to_regclass('coopsettle.runs')), and while in one a double
 * quote is just a character. The schema name is checked lowercase ASCII
 * (util.h), so its quoted form needs no escaping in either.
 */
char *cs_db_map_schema(const char *sql)
{
	static const char prefix[] = "coopsettle.";
	const size_t plen = sizeof(prefix) - 1, qlen = strlen(schema_quoted);
	size_t n = strlen(sql), hits = 0, i, o = 0;
	int in_ident = 0, in_literal = 0;
	char *out;

	for (i = 0; i + plen <= n; i++)
		if (strncmp(sql + i, prefix, plen) == 0)
			hits++;
	out = malloc(n + hits * (qlen > plen ? qlen - plen : 0) + 1);
	if (!out)
		return NULL;
	for (i = 0; i < n;) {
		char c = sql[i];

		if (c == '"' && !in_literal)
			in_ident = !in_ident;
		else if (c == '\'' && !in_ident)
			in_literal = !in_literal;
		else if (!in_ident && c == 'c' && (i == 0 || !word_char(sql[i - 1])) &&
			 strncmp(sql + i, prefix, plen) == 0) {
			memcpy(out + o, schema_quoted, qlen);
			o += qlen;
			i += plen;
			continue;
		}
		out[o++] = c;
		i++;
	}
	out[o] = '\0';
	return out;
}

/* First statement of every session: a secure search_path (every name is
 * schema-qualified) and no NOTICE chatter on stderr. */
static const char secure_search_path_sql[] =
	"SELECT pg_catalog.set_config('search_path', '', false),"
	" pg_catalog.set_config('client_min_messages', 'warning', false)";

/*
 * What a server error means for the scheduler (spec section 10.4): exit 1
 * only for what a retry can cure -- the connection lost (class 08), a
 * serialization failure or deadlock (40), the server short of disk, memory
 * or connection slots (53), a lock or statement timeout (55P03, 57014),
 * the server shutting down, crashed or starting (57P0x), an I/O error (58).
 * Exit 2 for what a person must fix: authentication (28), a missing
 * database (3D) or schema (3F), permission denied, a missing relation,
 * column or function (42). Anything else stays 1 with its SQLSTATE named
 * (docs/operations.md). Sets *hint to what to fix, or NULL.
 */
static int exit_for_sqlstate(const char *sqlstate, const char **hint)
{
	*hint = NULL;
	if (!sqlstate || strlen(sqlstate) != 5)
		return CS_EXIT_RUNTIME;
	if (strncmp(sqlstate, "28", 2) == 0) {
		*hint = "Fix the role or its credentials (~/.pgpass, pg_hba.conf); a retry "
			"will not help.";
		return CS_EXIT_USAGE;
	}
	if (strncmp(sqlstate, "3D", 2) == 0) {
		*hint = "Name an existing database with --db or PGDATABASE.";
		return CS_EXIT_USAGE;
	}
	if (strcmp(sqlstate, "42501") == 0) {
		*hint = "Grant the role what it needs (docs/operations.md, 'The runner role'); a "
			"retry will not help.";
		return CS_EXIT_USAGE;
	}
	if (strcmp(sqlstate, "42P01") == 0 || strcmp(sqlstate, "42703") == 0 ||
	    strcmp(sqlstate, "42883") == 0 || strncmp(sqlstate, "3F", 2) == 0) {
		*hint = "Check the relations the config's source keys name and their columns "
			"(docs/config.md), or run 'coopsettle init-db' as the schema's owner.";
		return CS_EXIT_USAGE;
	}
	if (strncmp(sqlstate, "42", 2) == 0)
		return CS_EXIT_USAGE;
	if (strcmp(sqlstate, "57014") == 0 || strcmp(sqlstate, "55P03") == 0) {
		*hint = "A statement or lock timeout ended the run; nothing was written and a "
			"retry is safe (raise statement_timeout or lock_timeout for the role if it "
			"recurs).";
		return CS_EXIT_RUNTIME;
	}
	if (strncmp(sqlstate, "53", 2) == 0) {
		*hint = "The server is short of disk, memory or connection slots; nothing was "
			"written and a retry is safe once there is room.";
		return CS_EXIT_RUNTIME;
	}
	return CS_EXIT_RUNTIME;
}

/* Fills err from a failed result or connection: a lost connection is
 * CONNECTION_BAD, SQLSTATE class 08, or a FATAL error (the server ends the
 * session and closes the connection right after it), nothing else. */
static int fail(cs_db *db, const PGresult *res, const char *what, cs_error *err)
{
	const char *sqlstate = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *severity = res ? PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED) : NULL;
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *msg, *hint;
	size_t len;
	int code;
	char clean[CS_ERROR_MSG_BYTES];

	/* libpq can hand out the error of a closed connection before it marks
	 * the connection bad (seen after an immediate shutdown): let it read
	 * what is left, which marks a closed connection. */
	if (PQstatus(db->conn) != CONNECTION_BAD)
		PQconsumeInput(db->conn);
	msg = primary ? primary : PQerrorMessage(db->conn);
	if (PQstatus(db->conn) == CONNECTION_BAD ||
	    (sqlstate && strncmp(sqlstate, "08", 2) == 0) ||
	    (severity && (strcmp(severity, "FATAL") == 0 || strcmp(severity, "PANIC") == 0)))
		db->lost = 1;
	snprintf(clean, sizeof(clean), "%s", msg ? msg : "unknown error");
	len = strlen(clean);
	while (len > 0 && (clean[len - 1] == '\n' || clean[len - 1] == ' '))
		clean[--len] = '\0';
	if (db->lost) {
		cs_error_set(err, CS_EXIT_RUNTIME,
			     "database connection lost during %s; nothing was written", what);
		cs_error_detail(err, "%s", clean);
		cs_error_hint(err, "Check the server, then re-run the same command.");
		return -1;
	}
	code = exit_for_sqlstate(sqlstate, &hint);
	cs_error_set(err, code, "database error during %s: %s", what, clean);
	if (sqlstate)
		cs_error_detail(err, "SQLSTATE %s", sqlstate);
	if (hint)
		cs_error_hint(err, "%s", hint);
	return -1;
}

/* The message of a failed connection without its trailing line breaks. */
static void connect_message(PGconn *conn, char *buf, size_t size)
{
	size_t len;

	snprintf(buf, size, "%s", conn ? PQerrorMessage(conn) : "out of memory");
	len = strlen(buf);
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
		buf[--len] = '\0';
}

/* The server answered but refused the connection (clean: its message):
 * no free slot (exit 1), a missing database, no CONNECT privilege, or a
 * role or authentication problem (exit 2), each with its hint. */
static void connect_refused(PGconn *conn, const char *clean, cs_error *err)
{
	const char *db = PQdb(conn);

	if (strstr(clean, "too many clients") || strstr(clean, "connection slots")) {
		cs_error_set(err, CS_EXIT_RUNTIME, "the database server has no free connection slot");
		cs_error_detail(err, "%s", clean);
		cs_error_hint(err, "Nothing was written and a retry is safe; raise max_connections "
				   "if it recurs.");
		return;
	}
	if (strstr(clean, "database \"") && strstr(clean, "does not exist")) {
		cs_error_set(err, CS_EXIT_USAGE, "database '%s' does not exist", db ? db : "");
		cs_error_detail(err, "%s", clean);
		cs_error_hint(err, "Create it (createdb, then 'coopsettle init-db'), or name the "
				   "right one with --db dbname=... or PGDATABASE; a retry will not "
				   "help.");
		return;
	}
	if (strstr(clean, "permission denied for database")) {
		cs_error_set(err, CS_EXIT_USAGE, "the role may not connect to database '%s'",
			     db ? db : "");
		cs_error_detail(err, "%s", clean);
		cs_error_hint(err, "GRANT CONNECT ON DATABASE %s TO the role "
				   "(docs/operations.md); a retry will not help.",
			      db ? db : "...");
		return;
	}
	cs_error_set(err, CS_EXIT_USAGE, "the database server refused the connection of role '%s'",
		     PQuser(conn));
	cs_error_detail(err, "%s", clean);
	cs_error_hint(err, "Check the role name (PGUSER, --db user=...), its password "
			   "(~/.pgpass, PGPASSFILE) and the server's pg_hba.conf; a retry will not "
			   "help.");
}

/*
 * Says why a connection failed, each cause with its exit code and a hint
 * naming what to fix (spec section 10.4). libpq gives no SQLSTATE for a
 * failed connection, so PQping asks the server first, language-neutral:
 * no attempt (the settings do not parse: exit 2), no response (the server
 * is down or unreachable: exit 1, retry), rejected (starting up or shutting
 * down: exit 1). A server that answers but refused us is exit 2, the
 * message telling a missing database from a missing role or failed
 * authentication (the server's words, which it writes in English unless
 * lc_messages says otherwise); too many clients is exit 1.
 */
static void connect_failed(PGconn *conn, const char *const *keys, const char *const *values,
			   cs_error *err)
{
	char clean[CS_ERROR_MSG_BYTES];
	const char *host = conn ? PQhost(conn) : NULL;
	const char *port = conn ? PQport(conn) : NULL;
	PGPing ping = conn ? PQpingParams(keys, values, 1) : PQPING_NO_ATTEMPT;

	connect_message(conn, clean, sizeof(clean));
	if (!conn) {
		cs_error_set(err, CS_EXIT_RUNTIME, "cannot connect to the database: out of memory");
		return;
	}
	if (ping == PQPING_NO_ATTEMPT || strstr(clean, "invalid connection option") ||
	    strstr(clean, "invalid integer value") || strstr(clean, "invalid port number") ||
	    strstr(clean, "missing \"=\"") || strstr(clean, "invalid URI") ||
	    strstr(clean, "invalid sslmode")) {
		cs_error_set(err, CS_EXIT_USAGE, "the connection settings are not valid");
		cs_error_detail(err, "%s", clean);
		cs_error_hint(err, "Fix --db CONNINFO (key=value pairs, a postgresql:// URI or a "
				   "database name) or the PG* environment variables; a retry will "
				   "not help.");
		return;
	}
	if (ping == PQPING_NO_RESPONSE) {
		cs_error_set(err, CS_EXIT_RUNTIME,
			     "the database server at %s%s%s is not reachable", host ? host : "",
			     port && *port ? " port " : "", port ? port : "");
		cs_error_detail(err, "%s", clean);
		cs_error_hint(err, "Start the server or fix the network; if the host or port is "
				   "wrong, fix PGHOST/PGPORT or --db. Nothing was written and a retry "
				   "is safe.");
		return;
	}
	if (ping == PQPING_REJECT) {
		cs_error_set(err, CS_EXIT_RUNTIME,
			     "the database server is not accepting connections yet (starting up, "
			     "shutting down or in recovery)");
		cs_error_detail(err, "%s", clean);
		cs_error_hint(err, "Wait until the server is up; nothing was written and a retry "
				   "is safe.");
		return;
	}
	connect_refused(conn, clean, err);
}

cs_db *cs_db_connect(const char *conninfo, cs_error *err)
{
	cs_db *db = calloc(1, sizeof(*db));
	PGresult *res;

	if (!db) {
		cs_error_set(err, CS_EXIT_RUNTIME, "out of memory");
		return NULL;
	}
	db->affected = -1;
	{
		/* Like psql: a connection string, a URI, or a bare database name
		 * (expand_dbname); NULL uses libpq's environment and defaults.
		 * application_name is 'coopsettle' unless the conninfo or
		 * PGAPPNAME names one (operators and tests find us by it).
		 * client_encoding is UTF8 whatever the conninfo or
		 * PGCLIENTENCODING say: categories are compared with the
		 * config's UTF-8 bytes and the config text is stored as UTF-8
		 * (given after dbname, it overrides the conninfo's). */
		const char *const keys[] = {"dbname", "fallback_application_name",
					    "client_encoding", NULL};
		const char *const values[] = {conninfo && conninfo[0] ? conninfo : NULL,
					      "coopsettle", "UTF8", NULL};

		db->conn = PQconnectdbParams(keys, values, 1);
		if (!db->conn || PQstatus(db->conn) != CONNECTION_OK) {
			connect_failed(db->conn, keys, values, err);
			cs_db_close(db);
			return NULL;
		}
	}
	/* A SQL_ASCII database stores bytes in no declared encoding, which the
	 * server refuses to send as UTF8 when they are not UTF-8: read them as
	 * they are (categories then match the config's bytes or nothing). */
	{
		const char *server = PQparameterStatus(db->conn, "server_encoding");

		if (server && strcmp(server, "SQL_ASCII") == 0 &&
		    PQsetClientEncoding(db->conn, "SQL_ASCII") != 0) {
			fail(db, NULL, "connection set-up", err);
			cs_db_close(db);
			return NULL;
		}
	}
	res = PQexec(db->conn, secure_search_path_sql);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		fail(db, res, "connection set-up", err);
		PQclear(res);
		cs_db_close(db);
		return NULL;
	}
	PQclear(res);
	return db;
}

void cs_db_close(cs_db *db)
{
	if (!db)
		return;
	if (db->copy_buf)
		PQfreemem(db->copy_buf);
	if (db->conn)
		PQfinish(db->conn);
	free(db);
}

/* Remembers how many rows a finished command stored: the number in its
 * command tag ("COPY n", "INSERT 0 n"), which counts the rows the server
 * actually wrote (a BEFORE trigger returning NULL is not counted). */
static void note_affected(cs_db *db, PGresult *res)
{
	const char *n = res ? PQcmdTuples(res) : "";
	char *end;
	long long v;

	db->affected = -1;
	if (!n || !*n)
		return;
	errno = 0;
	v = strtoll(n, &end, 10);
	if (errno == 0 && *end == '\0' && v >= 0)
		db->affected = (int64_t)v;
}

static PGresult *run(cs_db *db, const char *sql, int n_params, const char *const *params)
{
	char *mapped = cs_db_map_schema(sql);
	PGresult *res;

	if (!mapped)
		return NULL; /* PQresultStatus(NULL) is PGRES_FATAL_ERROR */
	res = PQexecParams(db->conn, mapped, n_params, NULL, params, NULL, NULL, 0);
	free(mapped);
	return res;
}

/* PQexec of the mapped sql (COPY). */
static PGresult *run_simple(cs_db *db, const char *sql)
{
	char *mapped = cs_db_map_schema(sql);
	PGresult *res;

	if (!mapped)
		return NULL;
	res = PQexec(db->conn, mapped);
	free(mapped);
	return res;
}

int cs_db_exec(cs_db *db, const char *sql, int n_params, const char *const *params,
	       cs_error *err)
{
	PGresult *res = run(db, sql, n_params, params);
	ExecStatusType st = PQresultStatus(res);
	int rc = 0;

	note_affected(db, NULL);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		rc = fail(db, res, "a statement", err);
	else
		note_affected(db, res);
	PQclear(res);
	return rc;
}

int cs_db_query(cs_db *db, const char *sql, int n_params, const char *const *params,
		cs_db_rows *out, cs_error *err)
{
	PGresult *res = run(db, sql, n_params, params);
	size_t r, c, nr, nc;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		rc = fail(db, res, "a query", err);
		goto cleanup;
	}
	nr = (size_t)PQntuples(res);
	nc = (size_t)PQnfields(res);
	out->cells = calloc(nr * nc + 1, sizeof(char *));
	if (!out->cells) {
		rc = cs_error_set(err, CS_EXIT_RUNTIME, "out of memory");
		goto cleanup;
	}
	out->n_rows = nr;
	out->n_cols = nc;
	for (r = 0; r < nr; r++)
		for (c = 0; c < nc; c++)
			if (!PQgetisnull(res, (int)r, (int)c))
				out->cells[r * nc + c] = PQgetvalue(res, (int)r, (int)c);
	out->result = res; /* the cells point into it: freed by cs_db_rows_free */
	return 0;
cleanup:
	PQclear(res);
	return rc;
}

const char *cs_db_cell(const cs_db_rows *rows, size_t row, size_t col)
{
	CS_ASSERT(row < rows->n_rows && col < rows->n_cols);
	return rows->cells[row * rows->n_cols + col];
}

void cs_db_rows_free(cs_db_rows *rows)
{
	free(rows->cells);
	PQclear(rows->result);
	memset(rows, 0, sizeof(*rows));
}

char *cs_db_quote_ident(cs_db *db, const char *name, cs_error *err)
{
	char *q = PQescapeIdentifier(db->conn, name, strlen(name));
	char *copy;

	if (!q) {
		cs_error_set(err, CS_EXIT_USAGE, "cannot quote the name '%s'", name);
		cs_error_detail(err, "%s", PQerrorMessage(db->conn));
		return NULL;
	}
	copy = strdup(q);
	PQfreemem(q);
	if (!copy)
		cs_error_set(err, CS_EXIT_RUNTIME, "out of memory");
	return copy;
}

int cs_db_copy_out_begin(cs_db *db, const char *sql, cs_error *err)
{
	PGresult *res = run_simple(db, sql);
	int rc = 0;

	if (PQresultStatus(res) != PGRES_COPY_OUT)
		rc = fail(db, res, "reading (COPY)", err);
	PQclear(res);
	return rc;
}

int cs_db_copy_out_next(cs_db *db, const char **buf, size_t *len, cs_error *err)
{
	char *data = NULL;
	int n;
	PGresult *res;
	int rc = 0;

	if (db->copy_buf) {
		PQfreemem(db->copy_buf);
		db->copy_buf = NULL;
	}
	n = PQgetCopyData(db->conn, &data, 0);
	if (n > 0) {
		db->copy_buf = data;
		*buf = data;
		*len = (size_t)n;
		return 1;
	}
	if (n == -2)
		return fail(db, NULL, "reading (COPY)", err);
	/* n == -1: the COPY is done; collect its results until NULL. */
	while ((res = PQgetResult(db->conn)) != NULL) {
		if (PQresultStatus(res) != PGRES_COMMAND_OK && rc == 0)
			rc = fail(db, res, "reading (COPY)", err);
		PQclear(res);
	}
	if (rc == 0 && PQstatus(db->conn) == CONNECTION_BAD)
		rc = fail(db, NULL, "reading (COPY)", err);
	return rc < 0 ? -1 : 0;
}

int cs_db_copy_in_begin(cs_db *db, const char *sql, cs_error *err)
{
	PGresult *res = run_simple(db, sql);
	int rc = 0;

	if (PQresultStatus(res) != PGRES_COPY_IN)
		rc = fail(db, res, "writing (COPY)", err);
	PQclear(res);
	return rc;
}

int cs_db_copy_in_put(cs_db *db, const char *buf, size_t len, cs_error *err)
{
	CS_ASSERT(len <= (size_t)0x7fffffff);
	if (PQputCopyData(db->conn, buf, (int)len) != 1)
		return fail(db, NULL, "writing (COPY)", err);
	return 0;
}

int cs_db_copy_in_end(cs_db *db, cs_error *err)
{
	PGresult *res;
	int rc = 0;

	note_affected(db, NULL);
	if (PQputCopyEnd(db->conn, NULL) != 1)
		rc = fail(db, NULL, "writing (COPY)", err);
	while ((res = PQgetResult(db->conn)) != NULL) {
		if (PQresultStatus(res) != PGRES_COMMAND_OK && rc == 0)
			rc = fail(db, res, "writing (COPY)", err);
		else if (rc == 0)
			note_affected(db, res);
		PQclear(res);
	}
	if (rc == 0 && PQstatus(db->conn) == CONNECTION_BAD)
		rc = fail(db, NULL, "writing (COPY)", err);
	return rc;
}

int cs_db_in_transaction(const cs_db *db)
{
	return PQtransactionStatus(db->conn) != PQTRANS_IDLE;
}

int64_t cs_db_rows_stored(const cs_db *db)
{
	return db->affected;
}

int cs_db_expect_stored(cs_db *db, const char *table, int64_t expected, cs_error *err)
{
	if (db->affected == expected)
		return 0;
	cs_error_set(err, CS_EXIT_RUNTIME,
		     "the database stored %lld rows of %s where %lld were sent; nothing was "
		     "committed",
		     (long long)db->affected, table, (long long)expected);
	cs_error_detail(err, "The server's command tag counts the rows it wrote; the engine "
			     "counted the rows it sent.");
	cs_error_hint(err,
		      "A trigger or rule on %s changes what is stored (a BEFORE trigger "
		      "returning NULL drops rows): remove it. coopsettle's tables are written "
		      "only by coopsettle.",
		      table);
	return -1;
}

int cs_db_connection_lost(const cs_db *db)
{
	return db->lost;
}

int cs_db_backend_pid(const cs_db *db)
{
	return PQbackendPID(db->conn);
}

int cs_db_cell_i64(const cs_db_rows *rows, size_t r, size_t c, int64_t *out)
{
	return cs_parse_i64(cs_db_cell(rows, r, c), out);
}
