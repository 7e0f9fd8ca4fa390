/*
 * tools.c -- the command line of the commands that only read (see tools.h):
 * status, verify, explain, export and statements. It parses each command's
 * options (-h, --help and the global --db included), prints its help, calls
 * the library (status.c, verify.c, audit.c) and maps errors to exit codes,
 * as main.c does for the other commands.
 */
#include "coopsettle/tools.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "coopsettle/audit.h"
#include "coopsettle/buf.h"
#include "coopsettle/config_load.h"
#include "coopsettle/db.h"
#include "coopsettle/error.h"
#include "coopsettle/status.h"
#include "coopsettle/util.h"
#include "coopsettle/verify.h"

#ifndef CS_VERSION
#define CS_VERSION "0.0.0"
#endif

static const char verify_help[] =
	"usage: coopsettle [--db CONNINFO] verify (--run N | --chain) [--json]\n"
	"\n"
	"  --run N     check run N in two stages. First, does it reproduce: its\n"
	"              stored config, record, ledger lines and totals against their\n"
	"              hashes, and a recomputation from the run's own snapshots (the\n"
	"              transactions, memberships, capital and costs it read) against\n"
	"              its record. Then, did its inputs change: the snapshots against\n"
	"              today's sources, naming every transaction, membership,\n"
	"              capital movement, cost and settle run that differs\n"
	"  --chain     check every run record's hash and its link to the record\n"
	"              before it, each run's config hash and status, and that each\n"
	"              run's ledger lines sum to zero and number its line_count\n"
	"  --json      print the findings as one JSON object instead of the report\n"
	"              (\"verifies\", \"kind\": does_not_reproduce or inputs_changed,\n"
	"              and every check with its details)\n"
	"\n"
	"  --db CONNINFO   as before the command (coopsettle --help)\n"
	"  -h, --help      this help\n"
	"\n"
	"Prints one line per check on stdout. docs/auditing.md explains each.\n"
	"\n"
	"exit codes: 0 everything verifies; 1 a failure a retry can cure (server down,\n"
	"connection lost); 2 usage, no such run, connection settings, permission or\n"
	"schema version; 5 the run does not reproduce, or its inputs changed since\n"
	"(stderr says which and names the first finding, stdout has the details)\n";

static const char explain_help[] =
	"usage: coopsettle [--db CONNINFO] explain --run N --member ID\n"
	"\n"
	"Explains member ID's figures in run N, step by step, for an accountant.\n"
	"\n"
	"  settle run      each of the member's transactions in the window (as\n"
	"                  producer or consumer): the rule that matched and why the\n"
	"                  rules before it did not, the exact fee before rounding\n"
	"                  (fraction and decimal), the rounding, the split between\n"
	"                  the sides by largest remainder, and the stored ledger lines\n"
	"  distribute run  each waterfall step: the member's exact quota and its\n"
	"                  floor, whether the largest-remainder pass gave the member\n"
	"                  an extra unit, and the member's rank\n"
	"\n"
	"  --run N         the run\n"
	"  --member ID     the member (or party) id\n"
	"  --db CONNINFO   as before the command (coopsettle --help)\n"
	"  -h, --help      this help\n"
	"\n"
	"exit codes: 0 done; 1 a failure a retry can cure (server down, connection\n"
	"lost); 2 usage, no such run or member, connection settings or permission\n";

static const char export_help[] =
	"usage: coopsettle [--db CONNINFO] export --run N\n"
	"                  --format hledger|beancount|csv [--output FILE]\n"
	"\n"
	"Writes run N's ledger lines (posted and reversal) as a journal: one journal\n"
	"transaction per ledger journal (settle: per transaction; distribute: per\n"
	"currency), with the run id, rule or step id and the run's hashes as tags\n"
	"or metadata, amounts exact at each currency's exponent. Party ids become\n"
	"sub-accounts (assets:clearing:10). hledger and beancount files declare\n"
	"their accounts and commodities (hledger check -s, bean-check pass).\n"
	"Before writing anything it re-derives the run's output hash from the\n"
	"stored rows it exports, and writes nothing when it differs.\n"
	"\n"
	"  --run N         the run\n"
	"  --format F      hledger, beancount or csv\n"
	"  --output FILE   write to FILE (complete or not at all) instead of stdout\n"
	"  --db CONNINFO   as before the command (coopsettle --help)\n"
	"  -h, --help      this help\n"
	"\n"
	"exit codes: 0 done; 1 a failure a retry can cure (server down, connection\n"
	"lost, disk full); 2 usage, no such run, an account name the format cannot\n"
	"express, a file that cannot be created, connection settings or permission;\n"
	"5 the stored lines do not hash to the run's output_sha256 or do not balance\n"
	"(nothing written)\n";

static const char statements_help[] =
	"usage: coopsettle [--db CONNINFO] statements --run N --out DIR\n"
	"                  [--group-readable]\n"
	"\n"
	"Writes one statement per member of distribute run N into DIR (created if\n"
	"missing), as member-ID.txt and member-ID.html: the cooperative, the\n"
	"period, the member's patronage basis, the refund split into cash and\n"
	"retained parts, the capital interest, the run id and its record hash.\n"
	"The files are readable by their owner only (0600; a new DIR 0700).\n"
	"\n"
	"  --run N            the distribute run\n"
	"  --out DIR          the folder to write into\n"
	"  --group-readable   files 0640 (a new DIR 0750), for a group that sends\n"
	"                     the statements\n"
	"  --db CONNINFO      as before the command (coopsettle --help)\n"
	"  -h, --help         this help\n"
	"\n"
	"exit codes: 0 done; 1 a failure a retry can cure (server down, connection\n"
	"lost, disk full); 2 usage, no such run, not a distribute run, a folder that\n"
	"cannot be made, connection settings or permission\n";

static const char status_help[] =
	"usage: coopsettle [--db CONNINFO] status [--config FILE]\n"
	"                  [--period P | --from X --to Y] [--json]\n"
	"\n"
	"Reports, for a window (default: the last closed day), the committed runs\n"
	"of each kind, the local days up to the last closed day that no committed\n"
	"settle run covers, and the stale runs: distribute runs built on settle runs\n"
	"that are no longer committed, and runs whose inputs changed since (each\n"
	"committed run of the window is recomputed, as verify --run does: a long\n"
	"window takes as long as settling it). Run it after the nightly settle.\n"
	"\n"
	"  --config FILE   take the time zone and close_after from FILE (default:\n"
	"                  from the config of the latest committed run)\n"
	"  --period P      YYYY-MM-DD, YYYY-MM, YYYY-Qn, YYYY, yesterday, last-month,\n"
	"                  last-quarter or last-year (default: the last closed day)\n"
	"  --from X        start (inclusive): local date or ISO 8601 with offset\n"
	"  --to Y          end (exclusive), same forms\n"
	"  --json          the report as one JSON object on stdout\n"
	"  --db CONNINFO   as before the command (coopsettle --help)\n"
	"  -h, --help      this help\n"
	"\n"
	"exit codes: 0 nothing missing or stale; 1 a failure a retry can cure (server\n"
	"down, connection lost); 2 usage, config, connection settings, permission or\n"
	"schema version; 5 days without a committed settle run, or stale runs\n";

/* Parses a run id or member id: a decimal integer, > 0 for runs. */
static int parse_id(const char *cmd, const char *opt, const char *text, int positive,
		    int64_t *out)
{
	if (cs_parse_i64(text, out) < 0 || (positive && *out <= 0)) {
		fprintf(stderr, "coopsettle: %s '%s' is not a%s integer\n", opt, text,
			positive ? " positive" : "n");
		fprintf(stderr, "usage: coopsettle %s --help\n", cmd);
		return -1;
	}
	return 0;
}

static int finish(int rc, const cs_error *err)
{
	if (rc < 0) {
		cs_error_print(err);
		return err->exit_code ? err->exit_code : CS_EXIT_RUNTIME;
	}
	if (fflush(stdout) != 0) {
		fprintf(stderr, "coopsettle: cannot write to stdout\n");
		return CS_EXIT_RUNTIME;
	}
	return CS_EXIT_OK;
}

enum { OPT_RUN = 1, OPT_CHAIN, OPT_MEMBER, OPT_FORMAT, OPT_OUTPUT, OPT_OUT, OPT_GROUP_READABLE,
       OPT_CONFIG, OPT_PERIOD, OPT_FROM, OPT_TO, OPT_JSON, OPT_DB, OPT_VERSION, OPT_HELP };

static const struct option opts[] = {
	{"run", required_argument, NULL, OPT_RUN},
	{"chain", no_argument, NULL, OPT_CHAIN},
	{"member", required_argument, NULL, OPT_MEMBER},
	{"format", required_argument, NULL, OPT_FORMAT},
	{"output", required_argument, NULL, OPT_OUTPUT},
	{"out", required_argument, NULL, OPT_OUT},
	{"group-readable", no_argument, NULL, OPT_GROUP_READABLE},
	{"config", required_argument, NULL, OPT_CONFIG},
	{"period", required_argument, NULL, OPT_PERIOD},
	{"from", required_argument, NULL, OPT_FROM},
	{"to", required_argument, NULL, OPT_TO},
	{"json", no_argument, NULL, OPT_JSON},
	{"db", required_argument, NULL, OPT_DB},
	{"version", no_argument, NULL, OPT_VERSION},
	{"help", no_argument, NULL, OPT_HELP},
	{NULL, 0, NULL, 0},
};

/* which options each command takes (every one takes --db, --version and
 * --help) */
static const struct {
	const char *cmd;
	const char *help;
	int allowed[OPT_HELP + 1];
} cmds[] = {
	{"verify", verify_help, {[OPT_RUN] = 1, [OPT_CHAIN] = 1, [OPT_JSON] = 1}},
	{"explain", explain_help, {[OPT_RUN] = 1, [OPT_MEMBER] = 1}},
	{"export", export_help, {[OPT_RUN] = 1, [OPT_FORMAT] = 1, [OPT_OUTPUT] = 1}},
	{"statements", statements_help, {[OPT_RUN] = 1, [OPT_OUT] = 1, [OPT_GROUP_READABLE] = 1}},
	{"status", status_help,
	 {[OPT_CONFIG] = 1, [OPT_PERIOD] = 1, [OPT_FROM] = 1, [OPT_TO] = 1, [OPT_JSON] = 1}},
};

/* The options a command was given. */
typedef struct tool_args {
	const char *run_text, *member_text, *format, *output, *out_dir; /* NULL: not given */
	const char *config, *period, *from, *to;
	const char *conninfo; /* --db before or after the command */
	int chain, group_readable, json;
	int64_t run, member; /* parsed from run_text, member_text */
} tool_args;

/* Stores option c's value (optarg) in a. */
static void tool_arg_set(tool_args *a, int c)
{
	switch (c) {
	case OPT_RUN:
		a->run_text = optarg;
		break;
	case OPT_CHAIN:
		a->chain = 1;
		break;
	case OPT_MEMBER:
		a->member_text = optarg;
		break;
	case OPT_FORMAT:
		a->format = optarg;
		break;
	case OPT_OUTPUT:
		a->output = optarg;
		break;
	case OPT_OUT:
		a->out_dir = optarg;
		break;
	case OPT_GROUP_READABLE:
		a->group_readable = 1;
		break;
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
	case OPT_JSON:
		a->json = 1;
		break;
	case OPT_DB:
		a->conninfo = optarg;
		break;
	default:
		break;
	}
}

/* Parses the options of command cmds[which] into a (a->conninfo starts as
 * the --db given before the command). Returns -1 to go on, or the exit
 * code to return: after --help, or on a usage error. */
static int parse_args(const char *cmd, size_t which, int argc, char **argv, tool_args *a)
{
	const char *before = a->conninfo;
	unsigned seen = 0;
	int c, index;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", opts, &index)) != -1) {
		if (c == 'h' || c == OPT_HELP) {
			fputs(cmds[which].help, stdout);
			return CS_EXIT_OK;
		}
		if (c == ':')
			return cs_usage_error(cmd, "option '%s' needs a value", argv[optind - 1]);
		if (c == OPT_VERSION) {
			printf("coopsettle %s\n", CS_VERSION);
			return CS_EXIT_OK;
		}
		if (c <= 0 || c >= OPT_HELP || (c != OPT_DB && !cmds[which].allowed[c]))
			return cs_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
		if ((seen & (1u << c)) || (c == OPT_DB && before))
			return cs_usage_error(cmd, "option '--%s' is given twice", opts[index].name);
		seen |= 1u << c;
		tool_arg_set(a, c);
	}
	if (optind < argc)
		return cs_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
	if (a->run_text && parse_id(cmd, "--run", a->run_text, 1, &a->run) < 0)
		return CS_EXIT_USAGE;
	if (a->member_text && parse_id(cmd, "--member", a->member_text, 0, &a->member) < 0)
		return CS_EXIT_USAGE;
	return -1;
}

/* The global option --schema (NULL: not given). */
static const char *schema_flag;

void cs_cli_schema_flag(const char *name)
{
	schema_flag = name;
}

int cs_cli_config_schema(const char *cmd, const char *schema)
{
	cs_error err;

	if (schema_flag && strcmp(schema_flag, schema) != 0) {
		fprintf(stderr,
			"coopsettle %s: --schema '%s' differs from the config's schema '%s'\n"
			"hint: drop --schema: the config names the schema of its runs.\n",
			cmd, cs_text_shown(schema_flag), cs_text_shown(schema));
		return CS_EXIT_USAGE;
	}
	cs_error_clear(&err);
	if (cs_db_use_schema(schema, &err) < 0) { /* the loader checked it: not reached */
		cs_error_print(&err);
		return CS_EXIT_USAGE;
	}
	return -1;
}

/* status: the report on stdout, its verdict as the exit code. */
static int run_status(const tool_args *a)
{
	cs_status_opts so;
	cs_config_diag diag;
	cs_config *cfg = NULL;
	cs_error err;
	cs_buf report;
	int rc;

	if ((a->period && (a->from || a->to)) || (!a->from != !a->to))
		return cs_usage_error("status", "%s takes --period P, or both --from X and --to Y",
				      "status");
	if (a->config && cs_config_load_file(&cfg, a->config, &diag) < 0) {
		cs_config_diag_print(stderr, &diag, a->config, NULL, 0);
		return CS_EXIT_USAGE;
	}
	if (cfg && (rc = cs_cli_config_schema("status", cfg->schema)) >= 0) {
		cs_config_free(cfg);
		return rc;
	}
	memset(&so, 0, sizeof(so));
	so.conninfo = a->conninfo;
	so.cfg = cfg;
	so.period = a->period;
	so.from = a->from;
	so.to = a->to;
	so.json = a->json;
	cs_error_clear(&err);
	cs_buf_init(&report);
	rc = cs_status(&so, &report, &err);
	if (report.len)
		cs_text_clean(report.data, report.len, 1);
	fputs(report.data ? report.data : "", stdout);
	cs_buf_free(&report);
	cs_config_free(cfg);
	return finish(rc, &err);
}

/* Checks that command cmd has the options it needs, runs it and returns its
 * exit code. */
static int run_tool(const char *cmd, const tool_args *a)
{
	const char *conninfo = a->conninfo;
	cs_error err;
	cs_buf report;
	int rc = 0;

	if (strcmp(cmd, "status") == 0)
		return run_status(a);
	cs_error_clear(&err);
	cs_buf_init(&report);
	if (strcmp(cmd, "verify") == 0) {
		if (a->chain == (a->run_text != NULL))
			return cs_usage_error(cmd, "%s needs exactly one of --run N and --chain",
					      cmd);
		rc = a->chain ? cs_verify_chain(conninfo, a->json, &report, &err)
			      : cs_verify_run(conninfo, a->run, a->json, &report, &err);
		if (report.len) /* the report quotes stored text: no control bytes */
			cs_text_clean(report.data, report.len, 1);
		fputs(report.data ? report.data : "", stdout);
	} else if (!a->run_text) {
		cs_buf_free(&report);
		return cs_usage_error(cmd, "%s needs --run N", cmd);
	} else if (strcmp(cmd, "explain") == 0) {
		if (!a->member_text)
			return cs_usage_error(cmd, "%s needs --member ID", cmd);
		rc = cs_audit_explain(conninfo, a->run, a->member, stdout, &err);
	} else if (strcmp(cmd, "export") == 0) {
		cs_export_format fmt;

		if (!a->format)
			return cs_usage_error(cmd, "%s needs --format hledger|beancount|csv", cmd);
		if (cs_export_format_parse(a->format, &fmt) < 0)
			return cs_usage_error(cmd, "unknown format '%s' (hledger, beancount or csv)",
					      a->format);
		rc = cs_audit_export(conninfo, a->run, fmt, a->output, &err);
	} else {
		if (!a->out_dir)
			return cs_usage_error(cmd, "%s needs --out DIR", cmd);
		rc = cs_audit_statements(conninfo, a->run, a->out_dir, a->group_readable, &report,
					 &err);
		if (report.len)
			cs_text_clean(report.data, report.len, 1);
		fputs(report.data ? report.data : "", stdout); /* a summary, as settle's */
	}
	cs_buf_free(&report);
	return finish(rc, &err);
}

int cs_tool_main(const char *conninfo, const char *cmd, int argc, char **argv)
{
	tool_args a;
	size_t which;
	int k;

	for (which = 0; which < sizeof(cmds) / sizeof(cmds[0]); which++)
		if (strcmp(cmds[which].cmd, cmd) == 0)
			break;
	CS_ASSERT(which < sizeof(cmds) / sizeof(cmds[0])); /* main.c routes only these */
	memset(&a, 0, sizeof(a));
	a.conninfo = conninfo;
	k = parse_args(cmd, which, argc, argv, &a);
	if (k >= 0)
		return k;
	return run_tool(cmd, &a);
}
