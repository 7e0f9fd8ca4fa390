/*
 * main.c -- the coopsettle command line (spec section 8). It only parses
 * arguments, calls the library and maps errors to exit codes. Every
 * command takes -h and --help, and the global --db also after the command
 * name; every command's help lists all its options and exit codes (and
 * docs/coopsettle.1 repeats them: tests/integration/test_install.sh).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coopsettle/bookkeeping.h"
#include "coopsettle/config.h"
#include "coopsettle/config_load.h"
#include "coopsettle/db.h"
#include "coopsettle/error.h"
#include "coopsettle/limits.h"
#include "coopsettle/run.h"
#include "coopsettle/schema.h"
#include "coopsettle/tools.h"
#include "coopsettle/util.h"
#include "coopsettle/window.h"

#ifndef CS_VERSION
#define CS_VERSION "0.0.0"
#endif

static const char usage_line[] =
	"usage: coopsettle [--db CONNINFO] [--schema NAME] COMMAND [OPTIONS]\n";

static const char main_help[] =
	"coopsettle -- exact fee settlement and surplus distribution for platform cooperatives\n"
	"\n"
	"usage: coopsettle [--db CONNINFO] [--schema NAME] COMMAND [OPTIONS]\n"
	"\n"
	"commands:\n"
	"  init-db          create or migrate the coopsettle schema (idempotent)\n"
	"  check-config     check a config file: exit 0, or 2 with FILE:LINE:COL errors\n"
	"  settle           settle the fees of a window into the ledger\n"
	"  distribute       distribute the surplus of a window\n"
	"  status           the committed runs, the days not settled and the stale runs\n"
	"                   of a window (default: the last closed day)\n"
	"  verify           recompute a run and check it against what it stored,\n"
	"                   or check the chain of run records\n"
	"  explain          explain a member's fees or surplus shares in a run\n"
	"  export           write a run's ledger lines as an hledger, beancount or\n"
	"                   CSV journal\n"
	"  statements       write member statements of a distribute run\n"
	"  report           write the board's and the auditor's HTML page of a period\n"
	"\n"
	"global options:\n"
	"  --db CONNINFO    libpq connection string, URI or database name; without\n"
	"                   it, libpq's environment (PGHOST, PGPORT, PGUSER,\n"
	"                   PGDATABASE, ...) and defaults. Never put a password\n"
	"                   here: use ~/.pgpass. Before or after the command.\n"
	"  --schema NAME    the schema of the engine's tables (default coopsettle; a\n"
	"                   command with --config takes it from the config's key\n"
	"                   'schema'). Before the command.\n"
	"  --help           this help (-h too); 'coopsettle COMMAND --help' for a command\n"
	"  --version        print the version (before or after the command)\n"
	"\n"
	"exit codes: 0 done; 1 a failure a retry can cure (server down or starting,\n"
	"connection lost, lock or statement timeout, disk full); 2 usage, config,\n"
	"connection settings, authentication, missing database, permission, missing\n"
	"relation or column, schema version, open window; 3 invalid input data; 4\n"
	"conflict with committed runs; 5 verification mismatch, or status found days\n"
	"not settled or stale runs\n";

static const char init_db_help[] =
	"usage: coopsettle [--db CONNINFO] [--schema NAME] init-db [--config FILE]\n"
	"\n"
	"Creates the schema (default 'coopsettle'; the config's key 'schema' or\n"
	"--schema names another) with its input tables transactions, members,\n"
	"operating_costs, capital_movements; output tables runs, ledger_lines,\n"
	"party_totals, currency_totals, settlement_rejects, distribution_steps,\n"
	"member_allocations; the snapshots of what runs read: run_input_chunks\n"
	"with the view run_inputs, run_memberships, run_capital, run_costs, or\n"
	"migrates an older version to the current one in place, in one\n"
	"transaction. Running it twice is harmless. It says\n"
	"which it did: 'created', 'migrated from version N to M' or 'already\n"
	"current'. Run it as the schema's owner (docs/operations.md).\n"
	"\n"
	"  --config FILE   create the schema that FILE's key 'schema' names\n"
	"  --db CONNINFO   as before the command (coopsettle --help)\n"
	"  -h, --help      this help\n"
	"\n"
	"exit codes: 0 created, migrated or already current; 1 a failure a retry can\n"
	"cure (server down, connection lost); 2 usage, config, connection settings,\n"
	"permission, or a schema newer than this engine\n";

static const char check_config_help[] =
	"usage: coopsettle check-config FILE\n"
	"\n"
	"Loads and validates FILE. Exits 0 when it is valid; otherwise prints every\n"
	"error as FILE:LINE:COL: message, the line and a caret, and exits 2.\n"
	"It needs no database.\n"
	"\n"
	"  -h, --help      this help\n"
	"\n"
	"exit codes: 0 the config is valid; 2 usage, or the config is not valid\n";

static const char settle_help[] =
	"usage: coopsettle [--db CONNINFO] settle --config FILE\n"
	"                  (--period P | --from X --to Y)\n"
	"                  [--dry-run] [--supersede --reason TEXT] [--allow-open]\n"
	"                  [--json] [--no-progress]\n"
	"\n"
	"Settles the fees of the window's transactions and writes balanced ledger\n"
	"lines, party totals and the run record in one database transaction.\n"
	"The window must have closed (the config's close_after past its end, by\n"
	"the database server's clock) unless --allow-open. The same window again\n"
	"is 'unchanged' (exit 0) when its inputs and config are; otherwise exit 4\n"
	"until --supersede --reason replaces the committed run.\n"
	"\n"
	"  --config FILE   the settlement config (YAML)\n"
	"  --period P      YYYY-MM-DD, YYYY-MM, YYYY-Qn or YYYY in the config's time\n"
	"                  zone, or yesterday, last-month, last-quarter, last-year\n"
	"                  (there, at the database server's now())\n"
	"  --from X        start (inclusive): local date YYYY-MM-DD or ISO 8601 with offset\n"
	"  --to Y          end (exclusive), same forms\n"
	"  --dry-run       compute everything and report what the real run would do\n"
	"                  (the same conflicts and exit codes); write nothing\n"
	"  --supersede     replace the committed run of exactly this window: its\n"
	"                  figures old -> new, changed config keys and the distribute\n"
	"                  runs it makes stale are reported\n"
	"  --reason TEXT   why (stored in the run record); required with --supersede\n"
	"  --allow-open    settle a window that has not closed yet\n"
	"  --json          print the statement as JSON on stdout (else a summary)\n"
	"  --no-progress   no progress line on stderr even on a terminal\n"
	"  --db CONNINFO   as before the command (coopsettle --help)\n"
	"  -h, --help      this help\n"
	"\n"
	"exit codes: 0 committed, unchanged or dry run; 1 a failure a retry can cure\n"
	"(server down, connection lost, timeout, disk full); 2 usage, config, open\n"
	"window, connection settings, permission or schema version; 3 invalid\n"
	"transactions (with on_invalid: abort); 4 the window overlaps a committed run,\n"
	"or its committed run changed and --supersede is missing\n";

static const char distribute_help[] =
	"usage: coopsettle [--db CONNINFO] distribute --config FILE\n"
	"                  (--period P | --from X --to Y)\n"
	"                  [--dry-run] [--supersede --reason TEXT] [--allow-open]\n"
	"                  [--json]\n"
	"\n"
	"Distributes the window's surplus (fee income of the committed settle runs\n"
	"that tile the window, less operating costs) through the config's\n"
	"waterfall: reserves, capital interest and patronage refunds. Distribute\n"
	"runs may not overlap: distribute each fiscal year once (a monthly\n"
	"--dry-run previews it). Closed windows, unchanged re-runs and --supersede\n"
	"work as for settle.\n"
	"\n"
	"  --config FILE   the config, with its surplus section (YAML)\n"
	"  --period P      YYYY-MM-DD, YYYY-MM, YYYY-Qn or YYYY in the config's time\n"
	"                  zone, or yesterday, last-month, last-quarter, last-year\n"
	"                  (there, at the database server's now())\n"
	"  --from X        start (inclusive): local date YYYY-MM-DD or ISO 8601 with offset\n"
	"  --to Y          end (exclusive), same forms\n"
	"  --dry-run       compute everything and report what the real run would do\n"
	"                  (the same conflicts and exit codes); write nothing\n"
	"  --supersede     replace the committed distribute run of exactly this window\n"
	"  --reason TEXT   why (stored in the run record); required with --supersede\n"
	"  --allow-open    distribute a window that has not closed yet\n"
	"  --json          print the statement as JSON on stdout (else a summary)\n"
	"  --db CONNINFO   as before the command (coopsettle --help)\n"
	"  -h, --help      this help\n"
	"\n"
	"exit codes: 0 committed, unchanged or dry run; 1 a failure a retry can cure\n"
	"(server down, connection lost, timeout, disk full); 2 usage, config (no\n"
	"surplus section), open window, connection settings, permission or schema\n"
	"version; 3 the committed settle runs do not tile the window, or invalid\n"
	"members or costs; 4 the window overlaps a committed distribute run, or its\n"
	"committed run changed and --supersede is missing\n";

/* Reads --db VALUE or --db=VALUE at argv[*i] into *conninfo (i moves past
 * it). Returns 1 when it was one, 0 when it was not, or the exit code of a
 * usage error (+10, so it differs from 0 and 1). */
static int take_db(const char *cmd, int argc, char **argv, int *i, const char **conninfo)
{
	if (strcmp(argv[*i], "--db") != 0 && strncmp(argv[*i], "--db=", 5) != 0)
		return 0;
	if (*conninfo)
		return 10 + cs_usage_error(cmd, "option '%s' is given twice", "--db");
	if (argv[*i][4] == '=') {
		*conninfo = argv[*i] + 5;
		(*i)++;
		return 1;
	}
	if (*i + 1 >= argc)
		return 10 + cs_usage_error(cmd, "option '%s' needs a value", "--db");
	*conninfo = argv[*i + 1];
	*i += 2;
	return 1;
}

static int is_help(const char *arg)
{
	return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

/* --version, before or after the command. */
static int print_version(void)
{
	printf("coopsettle %s\n", CS_VERSION);
	return CS_EXIT_OK;
}

/* Prints the errors of a config that failed to load (below). */
static void print_config_errors(const char *path, const cs_config_diag *diag);

/* init-db --config FILE: applies FILE's schema. Returns -1, or the exit code. */
static int init_db_config(const char *path)
{
	cs_config_diag diag;
	cs_config *cfg = NULL;
	int rc;

	if (cs_config_load_file(&cfg, path, &diag) < 0) {
		print_config_errors(path, &diag);
		return CS_EXIT_USAGE;
	}
	rc = cs_cli_config_schema("init-db", cfg->schema);
	cs_config_free(cfg);
	return rc;
}

static int cmd_init_db(const char *conninfo, int argc, char **argv)
{
	cs_error err;
	cs_db *db;
	const char *config = NULL;
	int from = 0, version = 0, i = 1, k, distributed = 0;

	while (i < argc) {
		if (is_help(argv[i])) {
			fputs(init_db_help, stdout);
			return CS_EXIT_OK;
		}
		if (strcmp(argv[i], "--version") == 0)
			return print_version();
		if (strcmp(argv[i], "--config") == 0 || strncmp(argv[i], "--config=", 9) == 0) {
			if (config)
				return cs_usage_error("init-db", "option '%s' is given twice",
						      "--config");
			if (argv[i][8] == '=') {
				config = argv[i++] + 9;
				continue;
			}
			if (i + 1 >= argc)
				return cs_usage_error("init-db", "option '%s' needs a value",
						      "--config");
			config = argv[i + 1];
			i += 2;
			continue;
		}
		k = take_db("init-db", argc, argv, &i, &conninfo);
		if (k >= 10)
			return k - 10;
		if (k == 0)
			return cs_usage_error("init-db", "unexpected argument '%s'", argv[i]);
	}
	if (config && (k = init_db_config(config)) >= 0)
		return k;
	cs_error_clear(&err);
	db = cs_db_connect(conninfo, &err);
	if (!db || cs_schema_init(db, &from, &version, &err) < 0 ||
	    cs_schema_distributed(db, &distributed, &err) < 0) {
		cs_error_print(&err);
		cs_db_close(db);
		return err.exit_code ? err.exit_code : CS_EXIT_RUNTIME;
	}
	cs_db_close(db);
	if (distributed)
		printf("coopsettle: the tables are Citus distributed tables: append-only is kept "
		       "by the runner's privileges and the row-level security of runs, without "
		       "triggers (docs/scale-out.md)\n");
	if (from == 0)
		printf("coopsettle: schema '%s' created at version %d\n", cs_db_schema(), version);
	else if (from < version)
		printf("coopsettle: schema '%s' migrated from version %d to %d\n", cs_db_schema(),
		       from, version);
	else
		printf("coopsettle: schema '%s' already current (version %d)\n", cs_db_schema(),
		       version);
	return CS_EXIT_OK;
}

/* Prints the errors of a config that failed to load, with the offending
 * lines: the file is read again (bounded) only to quote it. */
static void print_config_errors(const char *path, const cs_config_diag *diag)
{
	FILE *f = fopen(path, "rb");
	char *text = NULL;
	size_t len = 0;

	if (f) {
		text = malloc(CS_CONFIG_BYTES_MAX + 1);
		if (text) {
			len = fread(text, 1, CS_CONFIG_BYTES_MAX, f);
			text[len] = '\0';
		}
		fclose(f);
	}
	cs_config_diag_print(stderr, diag, path, text, len);
	free(text);
}

static int cmd_check_config(int argc, char **argv)
{
	cs_config_diag diag;
	cs_config *cfg = NULL;
	const char *path = NULL, *conninfo = NULL;
	int i = 1, k;

	while (i < argc) {
		if (is_help(argv[i])) {
			fputs(check_config_help, stdout);
			return CS_EXIT_OK;
		}
		if (strcmp(argv[i], "--version") == 0)
			return print_version();
		/* --db is accepted as everywhere; the command needs no database */
		k = take_db("check-config", argc, argv, &i, &conninfo);
		if (k >= 10)
			return k - 10;
		if (k == 1)
			continue;
		if (argv[i][0] == '-' && argv[i][1] != '\0')
			return cs_usage_error("check-config", "unknown option '%s'", argv[i]);
		if (path)
			return cs_usage_error("check-config", "%s needs exactly one FILE",
					      "check-config");
		path = argv[i++];
	}
	if (!path)
		return cs_usage_error("check-config", "%s needs exactly one FILE", "check-config");
	if (cs_config_load_file(&cfg, path, &diag) < 0) {
		print_config_errors(path, &diag);
		return CS_EXIT_USAGE;
	}
	printf("%s: ok (%zu fee rule%s, %zu currenc%s, %zu surplus step%s)\n", path,
	       cfg->n_rules, cfg->n_rules == 1 ? "" : "s", cfg->n_currencies,
	       cfg->n_currencies == 1 ? "y" : "ies", cfg->n_steps, cfg->n_steps == 1 ? "" : "s");
	cs_config_free(cfg);
	return CS_EXIT_OK;
}

/* Loads a config for a run; prints its errors and returns NULL on failure. */
static cs_config *load_config(const char *path)
{
	cs_config_diag diag;
	cs_config *cfg = NULL;

	if (cs_config_load_file(&cfg, path, &diag) < 0) {
		print_config_errors(path, &diag);
		return NULL;
	}
	return cfg;
}

enum { OPT_CONFIG = 1, OPT_PERIOD, OPT_FROM, OPT_TO, OPT_DRY_RUN, OPT_SUPERSEDE, OPT_JSON,
       OPT_HELP, OPT_NO_PROGRESS, OPT_REASON, OPT_ALLOW_OPEN, OPT_DB, OPT_VERSION };

/* The arguments of settle and distribute. */
typedef struct run_args {
	const char *config, *period, *from, *to, *reason;
	const char *conninfo; /* --db before or after the command */
	int json, no_progress, dry_run, supersede, allow_open;
} run_args;

/* The option table of settle and distribute (distribute has no
 * --no-progress: it reads no rows one by one). */
static const struct option run_opts[] = {
	{"config", required_argument, NULL, OPT_CONFIG},
	{"period", required_argument, NULL, OPT_PERIOD},
	{"from", required_argument, NULL, OPT_FROM},
	{"to", required_argument, NULL, OPT_TO},
	{"dry-run", no_argument, NULL, OPT_DRY_RUN},
	{"supersede", no_argument, NULL, OPT_SUPERSEDE},
	{"reason", required_argument, NULL, OPT_REASON},
	{"allow-open", no_argument, NULL, OPT_ALLOW_OPEN},
	{"json", no_argument, NULL, OPT_JSON},
	{"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
	{"db", required_argument, NULL, OPT_DB},
	{"help", no_argument, NULL, OPT_HELP},
	{"version", no_argument, NULL, OPT_VERSION},
	{NULL, 0, NULL, 0},
};

/* Stores option c's value (optarg) in a. */
static void run_arg_set(run_args *a, int c)
{
	switch (c) {
	case OPT_CONFIG:
		a->config = optarg;
		break;
	case OPT_PERIOD:
		a->period = optarg;
		break;
	case OPT_FROM:
		a->from = optarg;
		break;
	case OPT_TO:
		a->to = optarg;
		break;
	case OPT_DRY_RUN:
		a->dry_run = 1;
		break;
	case OPT_SUPERSEDE:
		a->supersede = 1;
		break;
	case OPT_REASON:
		a->reason = optarg;
		break;
	case OPT_ALLOW_OPEN:
		a->allow_open = 1;
		break;
	case OPT_JSON:
		a->json = 1;
		break;
	case OPT_NO_PROGRESS:
		a->no_progress = 1;
		break;
	case OPT_DB:
		a->conninfo = optarg;
		break;
	default:
		break;
	}
}

/* A --reason must be a line of text for the record: not blank, at most
 * CS_REASON_BYTES_MAX bytes of UTF-8, no control characters. Returns 0, or
 * the exit code of a usage error. */
static int check_reason(const char *cmd, const char *reason)
{
	const unsigned char *t = (const unsigned char *)reason;
	size_t n = strlen(reason), i, k, blank = 1;

	if (n > CS_REASON_BYTES_MAX) {
		char max[24];

		snprintf(max, sizeof(max), "%d", CS_REASON_BYTES_MAX);
		return cs_usage_error(cmd, "--reason is longer than %s bytes", max);
	}
	for (i = 0; i < n; i += k) {
		k = cs_utf8_char_len(t + i, n - i);
		if (k == 0 || t[i] < 0x20 || t[i] == 0x7f)
			return cs_usage_error(cmd, "%s: --reason must be one line of UTF-8 text "
						   "without control characters",
					      cmd);
		if (t[i] != ' ')
			blank = 0;
	}
	if (blank)
		return cs_usage_error(cmd, "%s: --reason must say why, not be empty", cmd);
	return 0;
}

/* Checks that the options of settle or distribute fit together. Returns
 * -1 when they do, else the exit code of the usage error printed. */
static int check_run_args(const char *cmd, const run_args *a)
{
	int rc;

	if (!a->config)
		return cs_usage_error(cmd, "%s needs --config FILE", cmd);
	if ((a->period != NULL) == (a->from != NULL || a->to != NULL) ||
	    (!a->period && (!a->from || !a->to)))
		return cs_usage_error(cmd, "%s needs either --period P or both --from X and --to Y",
				      cmd);
	if (a->supersede && !a->reason)
		return cs_usage_error(cmd,
				      "%s --supersede needs --reason TEXT: say why the run is "
				      "replaced (it is stored in the run record)",
				      cmd);
	if (a->reason && (rc = check_reason(cmd, a->reason)) != 0)
		return rc;
	return -1;
}

/* Parses the options of settle or distribute into a (a->conninfo starts as
 * the --db given before the command). Returns -1 when the command is done
 * (help printed: *rc 0; usage error: *rc 2), else 0. */
static int parse_run_args(const char *cmd, int argc, char **argv, run_args *a, int *rc)
{
	const char *before = a->conninfo;
	unsigned seen = 0;
	int c, index, is_settle = strcmp(cmd, "settle") == 0;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", run_opts, &index)) != -1) {
		if (c == 'h' || c == OPT_HELP) {
			fputs(is_settle ? settle_help : distribute_help, stdout);
			*rc = CS_EXIT_OK;
			return -1;
		}
		if (c == OPT_VERSION) {
			*rc = print_version();
			return -1;
		}
		if (c == ':') {
			*rc = cs_usage_error(cmd, "option '%s' needs a value", argv[optind - 1]);
			return -1;
		}
		if (c <= 0 || c >= 32 || (c == OPT_NO_PROGRESS && !is_settle)) {
			*rc = cs_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
			return -1;
		}
		if ((seen & (1u << c)) || (c == OPT_DB && before)) {
			*rc = cs_usage_error(cmd, "option '--%s' is given twice", run_opts[index].name);
			return -1;
		}
		seen |= 1u << c;
		run_arg_set(a, c);
	}
	if (optind < argc) {
		*rc = cs_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
		return -1;
	}
	*rc = check_run_args(cmd, a);
	return *rc >= 0 ? -1 : 0;
}

/* Prints a finished run: the notes (changed config keys, stale runs) on
 * stderr, the JSON statement with --json or else the summary on stdout.
 * Returns the exit code. */
static int print_result(const run_args *a, const cs_run_result *res)
{
	if (res->notes.len)
		fputs(res->notes.data, stderr);
	if (a->json)
		fputs(res->statement.data, stdout);
	else
		fputs(res->summary.data ? res->summary.data : "", stdout);
	if (fflush(stdout) != 0) {
		fprintf(stderr, "coopsettle: cannot write the statement to stdout\n");
		return CS_EXIT_RUNTIME;
	}
	return CS_EXIT_OK;
}

static int cmd_run(const char *conninfo, const char *cmd, int argc, char **argv)
{
	run_args a;
	cs_run_opts ro;
	cs_run_result res;
	cs_error err;
	cs_config *cfg;
	int rc;

	memset(&a, 0, sizeof(a));
	a.conninfo = conninfo;
	if (parse_run_args(cmd, argc, argv, &a, &rc) < 0)
		return rc;
	cfg = load_config(a.config);
	if (!cfg)
		return CS_EXIT_USAGE;
	if ((rc = cs_cli_config_schema(cmd, cfg->schema)) >= 0) {
		cs_config_free(cfg);
		return rc;
	}
	memset(&ro, 0, sizeof(ro));
	cs_error_clear(&err);
	if (cs_tz_use(cfg->timezone, &err) < 0 ||
	    cs_run_window(&ro.window, a.conninfo, a.period, a.from, a.to, &err) < 0) {
		cs_error_print(&err);
		cs_config_free(cfg);
		return err.exit_code;
	}
	ro.conninfo = a.conninfo;
	ro.cfg = cfg;
	ro.dry_run = a.dry_run;
	ro.supersede = a.supersede;
	ro.reason = a.reason;
	ro.command = 1;
	ro.allow_open = a.allow_open;
	ro.progress = !a.no_progress && isatty(STDERR_FILENO);
	ro.summary_only = !a.json;
	cs_run_result_init(&res);
	rc = strcmp(cmd, "settle") == 0 ? cs_run_settle(&ro, &res, &err)
					: cs_run_distribute(&ro, &res, &err);
	if (rc < 0) {
		cs_error_print(&err);
		rc = err.exit_code ? err.exit_code : CS_EXIT_RUNTIME;
	} else {
		rc = print_result(&a, &res);
	}
	cs_run_result_free(&res);
	cs_config_free(cfg);
	return rc;
}

/* Reads the global --schema NAME or --schema=NAME at argv[*i] (i moves past
 * it) and applies it. Returns 1 when it was one, 0 when it was not, or the
 * exit code of a usage error + 10. */
static int take_schema(int argc, char **argv, int *i, const char **schema)
{
	cs_error err;
	const char *name;

	if (strcmp(argv[*i], "--schema") != 0 && strncmp(argv[*i], "--schema=", 9) != 0)
		return 0;
	if (*schema)
		return 10 + cs_usage_error(NULL, "option '%s' is given twice", "--schema");
	if (argv[*i][8] == '=') {
		name = argv[(*i)++] + 9;
	} else {
		if (*i + 1 >= argc)
			return 10 + cs_usage_error(NULL, "option '%s' needs a value", "--schema");
		name = argv[*i + 1];
		*i += 2;
	}
	cs_error_clear(&err);
	if (cs_db_use_schema(name, &err) < 0) {
		cs_error_print(&err);
		return 10 + CS_EXIT_USAGE;
	}
	*schema = name;
	cs_cli_schema_flag(name);
	return 1;
}

/* The global options before the command: --db, --schema, --help,
 * --version. Returns -1 to go on (*i at the command), or the exit code. */
static int global_options(int argc, char **argv, int *i, const char **conninfo)
{
	const char *schema = NULL;
	int k;

	while (*i < argc && argv[*i][0] == '-') {
		if (is_help(argv[*i])) {
			fputs(main_help, stdout);
			return CS_EXIT_OK;
		}
		if (strcmp(argv[*i], "--version") == 0)
			return print_version();
		k = take_db(NULL, argc, argv, i, conninfo);
		if (k == 0)
			k = take_schema(argc, argv, i, &schema);
		if (k >= 10)
			return k - 10;
		if (k == 0)
			return cs_usage_error(NULL, "unknown option '%s'", argv[*i]);
	}
	if (*i >= argc) {
		fputs(usage_line, stderr);
		fputs("Try 'coopsettle --help'.\n", stderr);
		return CS_EXIT_USAGE;
	}
	return -1;
}

int main(int argc, char **argv)
{
	const char *conninfo = NULL, *cmd;
	int i = 1, rc;

	rc = global_options(argc, argv, &i, &conninfo);
	if (rc >= 0)
		return rc;
	cmd = argv[i];
	argc -= i;
	argv += i;
	if (strcmp(cmd, "init-db") == 0)
		return cmd_init_db(conninfo, argc, argv);
	if (strcmp(cmd, "check-config") == 0)
		return cmd_check_config(argc, argv);
	if (strcmp(cmd, "settle") == 0 || strcmp(cmd, "distribute") == 0)
		return cmd_run(conninfo, cmd, argc, argv);
	if (strcmp(cmd, "verify") == 0 || strcmp(cmd, "explain") == 0 ||
	    strcmp(cmd, "export") == 0 || strcmp(cmd, "statements") == 0 ||
	    strcmp(cmd, "status") == 0 || strcmp(cmd, "report") == 0)
		return cs_tool_main(conninfo, cmd, argc, argv);
	return cs_usage_error(NULL, "unknown command '%s'", cmd);
}
