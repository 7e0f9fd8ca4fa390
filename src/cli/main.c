/*
 * main.c -- the coopsettle command line (spec section 8). It only parses
 * arguments, calls the library and maps errors to exit codes.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
	"usage: coopsettle [--db CONNINFO] COMMAND [OPTIONS]\n";

static const char main_help[] =
	"coopsettle -- exact fee settlement and surplus distribution for platform cooperatives\n"
	"\n"
	"usage: coopsettle [--db CONNINFO] COMMAND [OPTIONS]\n"
	"\n"
	"commands:\n"
	"  init-db          create or migrate the coopsettle schema (idempotent)\n"
	"  check-config     check a config file: exit 0, or 2 with FILE:LINE:COL errors\n"
	"  settle           settle the fees of a window into the ledger\n"
	"  distribute       distribute the surplus of a window\n"
	"  verify           recompute a run and check it against what it stored,\n"
	"                   or check the chain of run records\n"
	"  explain          explain a member's fees or surplus shares in a run\n"
	"  export           write a run's ledger lines as an hledger, beancount or\n"
	"                   CSV journal\n"
	"  statements       write member statements of a distribute run\n"
	"\n"
	"global options:\n"
	"  --db CONNINFO    libpq connection string, URI or database name; without\n"
	"                   it, libpq's environment (PGHOST, PGPORT, PGUSER,\n"
	"                   PGDATABASE, ...) and defaults. Never put a password\n"
	"                   here: use ~/.pgpass.\n"
	"  --help           this help; 'coopsettle COMMAND --help' for a command\n"
	"  --version        print the version\n"
	"\n"
	"exit codes:\n"
	"  0 done; 1 runtime failure (database, I/O); 2 usage or config error;\n"
	"  3 invalid input data; 4 conflict with committed runs; 5 verification mismatch\n";

static const char init_db_help[] =
	"usage: coopsettle [--db CONNINFO] init-db\n"
	"\n"
	"Creates the schema 'coopsettle' (input tables transactions, members,\n"
	"operating_costs; output tables runs, ledger_lines, party_totals,\n"
	"currency_totals, settlement_rejects, distribution_steps,\n"
	"member_allocations, run_input_chunks and the view run_inputs, the input\n"
	"snapshot of settle runs) or migrates an older version to the current\n"
	"one in place, in one transaction. Running it twice is harmless.\n";

static const char check_config_help[] =
	"usage: coopsettle check-config FILE\n"
	"\n"
	"Loads and validates FILE. Exits 0 when it is valid; otherwise prints every\n"
	"error as FILE:LINE:COL: message, the line and a caret, and exits 2.\n";

static const char settle_help[] =
	"usage: coopsettle [--db CONNINFO] settle --config FILE\n"
	"                  (--period P | --from X --to Y)\n"
	"                  [--dry-run] [--supersede] [--json] [--no-progress]\n"
	"\n"
	"Settles the fees of the window's transactions and writes balanced ledger\n"
	"lines, party totals and the run record in one database transaction.\n"
	"\n"
	"  --config FILE   the settlement config (YAML)\n"
	"  --period P      YYYY-MM-DD, YYYY-MM, YYYY-Qn or YYYY, in the config's time zone\n"
	"  --from X        start (inclusive): local date YYYY-MM-DD or ISO 8601 with offset\n"
	"  --to Y          end (exclusive), same forms\n"
	"  --dry-run       compute everything, write nothing\n"
	"  --supersede     replace the committed run of exactly this window\n"
	"  --json          print the statement as JSON on stdout\n"
	"  --no-progress   no progress line on stderr even on a terminal\n"
	"\n"
	"exit codes: 0 done or unchanged; 1 database/I/O; 2 usage or config;\n"
	"3 invalid transactions (with on_invalid: abort); 4 window overlaps a committed run\n";

static const char distribute_help[] =
	"usage: coopsettle [--db CONNINFO] distribute --config FILE\n"
	"                  (--period P | --from X --to Y)\n"
	"                  [--dry-run] [--supersede] [--json]\n"
	"\n"
	"Distributes the window's surplus (fee income of the committed settle runs\n"
	"that tile the window, less operating costs) through the config's\n"
	"waterfall: reserves, capital interest and patronage refunds.\n"
	"\n"
	"exit codes: 0 done or unchanged; 1 database/I/O; 2 usage or config;\n"
	"3 settle runs do not tile the window or invalid members; 4 conflict\n";

static int cmd_init_db(const char *conninfo)
{
	cs_error err;
	cs_db *db;
	int version = 0;

	cs_error_clear(&err);
	db = cs_db_connect(conninfo, &err);
	if (!db || cs_schema_init(db, &version, &err) < 0) {
		cs_error_print(&err);
		cs_db_close(db);
		return err.exit_code ? err.exit_code : CS_EXIT_RUNTIME;
	}
	cs_db_close(db);
	printf("coopsettle: schema 'coopsettle' is at version %d\n", version);
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

static int cmd_check_config(const char *path)
{
	cs_config_diag diag;
	cs_config *cfg = NULL;

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
       OPT_HELP, OPT_NO_PROGRESS };

/* The arguments of settle and distribute. */
typedef struct run_args {
	const char *config, *period, *from, *to;
	int json, no_progress, dry_run, supersede;
} run_args;

/* Parses the options of settle or distribute into a. Returns -1 when the
 * command is done (help printed: *rc 0; usage error: *rc 2), else 0. */
static int parse_run_args(const char *cmd, int argc, char **argv, run_args *a, int *rc)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, OPT_CONFIG},
		{"period", required_argument, NULL, OPT_PERIOD},
		{"from", required_argument, NULL, OPT_FROM},
		{"to", required_argument, NULL, OPT_TO},
		{"dry-run", no_argument, NULL, OPT_DRY_RUN},
		{"supersede", no_argument, NULL, OPT_SUPERSEDE},
		{"json", no_argument, NULL, OPT_JSON},
		{"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
		{"help", no_argument, NULL, OPT_HELP},
		{NULL, 0, NULL, 0},
	};
	unsigned seen = 0;
	int c, index;

	memset(a, 0, sizeof(*a));
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":", opts, &index)) != -1) {
		if (c > 0 && c < 32 && c != OPT_HELP) {
			if (seen & (1u << c)) {
				*rc = cs_usage_error(cmd, "option '--%s' is given twice", opts[index].name);
				return -1;
			}
			seen |= 1u << c;
		}
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
		case OPT_JSON:
			a->json = 1;
			break;
		case OPT_NO_PROGRESS:
			a->no_progress = 1;
			break;
		case OPT_HELP:
			fputs(strcmp(cmd, "settle") == 0 ? settle_help : distribute_help, stdout);
			*rc = CS_EXIT_OK;
			return -1;
		case ':':
			*rc = cs_usage_error(cmd, "option '%s' needs a value", argv[optind - 1]);
			return -1;
		default:
			*rc = cs_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
			return -1;
		}
	}
	if (optind < argc)
		*rc = cs_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
	else if (!a->config)
		*rc = cs_usage_error(cmd, "%s needs --config FILE", cmd);
	else if ((a->period != NULL) == (a->from != NULL || a->to != NULL) ||
		 (!a->period && (!a->from || !a->to)))
		*rc = cs_usage_error(cmd, "%s needs either --period P or both --from X and --to Y",
				     cmd);
	else
		return 0;
	return -1;
}

/* Prints a finished run: the JSON statement with --json, else the
 * summary. Returns the exit code. */
static int print_result(const run_args *a, const cs_run_result *res)
{
	if (a->json)
		fputs(res->statement.data, stdout);
	else
		fputs(res->summary.data ? res->summary.data : "", stderr);
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

	if (parse_run_args(cmd, argc, argv, &a, &rc) < 0)
		return rc;
	cfg = load_config(a.config);
	if (!cfg)
		return CS_EXIT_USAGE;
	memset(&ro, 0, sizeof(ro));
	cs_error_clear(&err);
	if (cs_tz_use(cfg->timezone, &err) < 0 ||
	    (a.period ? cs_window_from_period(&ro.window, a.period, &err)
		      : cs_window_from_bounds(&ro.window, a.from, a.to, &err)) < 0) {
		cs_error_print(&err);
		cs_config_free(cfg);
		return err.exit_code;
	}
	ro.conninfo = conninfo;
	ro.cfg = cfg;
	ro.dry_run = a.dry_run;
	ro.supersede = a.supersede;
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

int main(int argc, char **argv)
{
	const char *conninfo = NULL, *cmd;
	int i = 1;

	while (i < argc && argv[i][0] == '-') {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(main_help, stdout);
			return CS_EXIT_OK;
		}
		if (strcmp(argv[i], "--version") == 0) {
			printf("coopsettle %s\n", CS_VERSION);
			return CS_EXIT_OK;
		}
		if (strcmp(argv[i], "--db") == 0 || strncmp(argv[i], "--db=", 5) == 0) {
			if (conninfo)
				return cs_usage_error(NULL, "option '%s' is given twice", "--db");
			if (argv[i][4] == '=') {
				conninfo = argv[i] + 5;
				i++;
				continue;
			}
			if (i + 1 >= argc)
				return cs_usage_error(NULL, "option '%s' needs a value", "--db");
			conninfo = argv[i + 1];
			i += 2;
			continue;
		}
		return cs_usage_error(NULL, "unknown option '%s'", argv[i]);
	}
	if (i >= argc) {
		fputs(usage_line, stderr);
		fputs("Try 'coopsettle --help'.\n", stderr);
		return CS_EXIT_USAGE;
	}
	cmd = argv[i];
	argc -= i;
	argv += i;
	if (strcmp(cmd, "init-db") == 0) {
		if (argc == 2 && strcmp(argv[1], "--help") == 0) {
			fputs(init_db_help, stdout);
			return CS_EXIT_OK;
		}
		if (argc > 1)
			return cs_usage_error(cmd, "unexpected argument '%s'", argv[1]);
		return cmd_init_db(conninfo);
	}
	if (strcmp(cmd, "check-config") == 0) {
		if (argc == 2 && strcmp(argv[1], "--help") == 0) {
			fputs(check_config_help, stdout);
			return CS_EXIT_OK;
		}
		if (argc != 2 || argv[1][0] == '-')
			return cs_usage_error(cmd, "%s needs exactly one FILE", cmd);
		return cmd_check_config(argv[1]);
	}
	if (strcmp(cmd, "settle") == 0 || strcmp(cmd, "distribute") == 0)
		return cmd_run(conninfo, cmd, argc, argv);
	if (strcmp(cmd, "verify") == 0 || strcmp(cmd, "explain") == 0 ||
	    strcmp(cmd, "export") == 0 || strcmp(cmd, "statements") == 0)
		return cs_tool_main(conninfo, cmd, argc, argv);
	return cs_usage_error(NULL, "unknown command '%s'", cmd);
}
