/*
 * tools.c -- the command line of the commands that only read (see tools.h):
 * status, verify, explain, export, statements and report. It parses each command's
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
#include "coopsettle/report.h"
#include "coopsettle/statements_run.h"
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
	"usage: coopsettle [--db CONNINFO] export (--run N | --period P | --from X --to Y)\n"
	"                  --format hledger|beancount|csv|datev [--config FILE]\n"
	"                  [--accounts MAP.yaml] [--group day] [--output FILE]\n"
	"\n"
	"Writes ledger lines as a journal: those of run N, or of every run whose\n"
	"window lies in the period, in run order, reversals included, each account\n"
	"declared once. One journal transaction per ledger journal (settle: per\n"
	"transaction; distribute: per currency), dated by the lines' posting date,\n"
	"with the run id, rule or step id as tags or metadata and the runs' hashes\n"
	"in the header; amounts exact at each currency's exponent. Party ids\n"
	"become sub-accounts (assets:clearing:10). hledger and beancount files\n"
	"declare their accounts and commodities (hledger check -s and bean-check\n"
	"pass). datev writes a DATEV EXTF Buchungsstapel (Windows-1252, ';', CRLF)\n"
	"of the lines posted in the period, which must lie in one fiscal year.\n"
	"Before writing anything it re-derives each run's output hash from the\n"
	"stored rows it exports, and writes nothing when one differs.\n"
	"\n"
	"  --run N           one run\n"
	"  --period P        YYYY-MM-DD, YYYY-MM, YYYY-Qn, YYYY, yesterday, last-month,\n"
	"                    last-quarter or last-year\n"
	"  --from X --to Y   the period from X (inclusive) to Y (exclusive): local\n"
	"                    dates or ISO 8601 with offset\n"
	"  --config FILE     take the period's time zone from FILE (default: from the\n"
	"                    config of the latest committed run)\n"
	"  --format F        hledger, beancount, csv or datev\n"
	"  --accounts MAP    rename engine accounts ('accounts: {ENGINE: TARGET}');\n"
	"                    datev needs it, with account numbers and a 'datev'\n"
	"                    section (config/accounts-skr03.yaml, -skr04.yaml)\n"
	"  --group day       sum the lines per posting date, currency, account and\n"
	"                    party: one journal transaction per day and currency\n"
	"  --output FILE     write to FILE (complete or not at all) instead of stdout\n"
	"  --db CONNINFO     as before the command (coopsettle --help)\n"
	"  -h, --help        this help\n"
	"\n"
	"exit codes: 0 done; 1 a failure a retry can cure (server down, connection\n"
	"lost, disk full); 2 usage, no such run, a bad account map, a DATEV period\n"
	"across fiscal years, a file that cannot be created, connection settings or\n"
	"permission; 5 the stored lines do not hash to a run's output_sha256 or do\n"
	"not balance (nothing written)\n";

static const char statements_help[] =
	"usage: coopsettle [--db CONNINFO] statements --run N --out DIR\n"
	"                  [--format html|pdf] [--config FILE] [--group-readable]\n"
	"\n"
	"Writes one statement per member of distribute run N into DIR (created if\n"
	"missing), as member-ID.txt and member-ID.html, and statements.html with\n"
	"every member, one per A4 page: a letter in the config's\n"
	"statements.language (en or de) with the member's name and address\n"
	"(source.member_details), the resolution and payout date, the interest on\n"
	"capital (capital, rate, days; gross, withheld, net), the patronage refund\n"
	"(member business, uniform rate, cash and credited to capital), the total\n"
	"paid, and the run's hashes in a footnote (docs/statements.md).\n"
	"The files are readable by their owner only (0600; a new DIR 0700).\n"
	"\n"
	"  --run N            the distribute run\n"
	"  --out DIR          the folder to write into\n"
	"  --format html|pdf  html (default): the files above; pdf: also\n"
	"                     member-ID.pdf and statements.pdf, printed by headless\n"
	"                     Chromium (chromium in PATH, or $CS_CHROMIUM)\n"
	"  --config FILE      take the statements keys, the cooperative's name and\n"
	"                     source.member_details from FILE (default: from the\n"
	"                     run's own config); the figures are always the run's\n"
	"  --group-readable   files 0640 (a new DIR 0750), for a group that sends\n"
	"                     the statements\n"
	"  --db CONNINFO      as before the command (coopsettle --help)\n"
	"  -h, --help         this help\n"
	"\n"
	"exit codes: 0 done; 1 a failure a retry can cure (server down, connection\n"
	"lost, disk full), or Chromium failed or timed out; 2 usage, config, no such\n"
	"run, not a distribute run, a folder that cannot be made, a missing\n"
	"source.member_details the config names, --format pdf without Chromium\n"
	"(nothing written), connection settings or permission\n";

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

static const char report_help[] =
	"usage: coopsettle [--db CONNINFO] report (--period P | --from X --to Y)\n"
	"                  --out FILE.html [--config FILE]\n"
	"\n"
	"Writes one self-contained HTML page for the board and the auditor (inline\n"
	"SVG, no script, no reference outside the page; prints in black and white):\n"
	"the fee income per month and currency, the surplus waterfall of each\n"
	"distribute run, the patronage refunds per class, their distribution among\n"
	"members (Lorenz curve and Gini coefficient), and every run of the period\n"
	"with its hashes and what verify --run says of it. The figures are those of\n"
	"the committed runs whose windows lie in the period; superseded runs are\n"
	"listed and verified, not counted. Every run is recomputed, as verify --run\n"
	"does: a long period takes as long as settling it. docs/report.md explains\n"
	"each figure.\n"
	"\n"
	"  --period P      YYYY-MM-DD, YYYY-MM, YYYY-Qn, YYYY, yesterday, last-month,\n"
	"                  last-quarter or last-year, in the config's time zone\n"
	"  --from X        start (inclusive): local date or ISO 8601 with offset\n"
	"  --to Y          end (exclusive), same forms\n"
	"  --out FILE      the page; written under a temporary name and renamed\n"
	"                  into place when complete\n"
	"  --config FILE   take the time zone and the cooperative's name from FILE\n"
	"                  (default: from the config of the latest committed run)\n"
	"  --db CONNINFO   as before the command (coopsettle --help)\n"
	"  -h, --help      this help\n"
	"\n"
	"A period without runs gives a valid page that says so (exit 0).\n"
	"\n"
	"exit codes: 0 written, every run verifies; 1 a failure a retry can cure\n"
	"(server down, connection lost, disk full); 2 usage, config, a file that\n"
	"cannot be created, connection settings, permission or schema version;\n"
	"5 written, but a committed run of the period does not verify, or a\n"
	"superseded one does not reproduce (stderr names them)\n";

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
       OPT_CONFIG, OPT_PERIOD, OPT_FROM, OPT_TO, OPT_JSON, OPT_ACCOUNTS, OPT_GROUP, OPT_DB,
       OPT_VERSION, OPT_HELP };

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
	{"accounts", required_argument, NULL, OPT_ACCOUNTS},
	{"group", required_argument, NULL, OPT_GROUP},
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
	{"export", export_help,
	 {[OPT_RUN] = 1, [OPT_FORMAT] = 1, [OPT_OUTPUT] = 1, [OPT_CONFIG] = 1, [OPT_PERIOD] = 1,
	  [OPT_FROM] = 1, [OPT_TO] = 1, [OPT_ACCOUNTS] = 1, [OPT_GROUP] = 1}},
	{"statements", statements_help,
	 {[OPT_RUN] = 1, [OPT_OUT] = 1, [OPT_GROUP_READABLE] = 1, [OPT_FORMAT] = 1,
	  [OPT_CONFIG] = 1}},
	{"status", status_help,
	 {[OPT_CONFIG] = 1, [OPT_PERIOD] = 1, [OPT_FROM] = 1, [OPT_TO] = 1, [OPT_JSON] = 1}},
	{"report", report_help,
	 {[OPT_CONFIG] = 1, [OPT_PERIOD] = 1, [OPT_FROM] = 1, [OPT_TO] = 1, [OPT_OUT] = 1}},
};

/* The options a command was given. */
typedef struct tool_args {
	const char *run_text, *member_text, *format, *output, *out_dir; /* NULL: not given */
	const char *config, *period, *from, *to;
	const char *accounts, *group; /* export --accounts, --group */
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
	case OPT_ACCOUNTS:
		a->accounts = optarg;
		break;
	case OPT_GROUP:
		a->group = optarg;
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

/* Loads --config, when given, into *cfg and makes the schema it names the
 * one the engine's SQL uses, as every command that reads a config does.
 * Returns -1 to go on, or the exit code to return (*cfg NULL then). */
static int tool_config(const char *cmd, const tool_args *a, cs_config **cfg)
{
	cs_config_diag diag;
	int rc;

	*cfg = NULL;
	if (!a->config)
		return -1;
	if (cs_config_load_file(cfg, a->config, &diag) < 0) {
		cs_config_diag_print(stderr, &diag, a->config, NULL, 0);
		return CS_EXIT_USAGE;
	}
	if ((rc = cs_cli_config_schema(cmd, (*cfg)->schema)) >= 0) {
		cs_config_free(*cfg);
		*cfg = NULL;
	}
	return rc;
}

/* status: the report on stdout, its verdict as the exit code. */
static int run_status(const tool_args *a)
{
	cs_status_opts so;
	cs_config *cfg = NULL;
	cs_error err;
	cs_buf report;
	int rc;

	if ((a->period && (a->from || a->to)) || (!a->from != !a->to))
		return cs_usage_error("status", "%s takes --period P, or both --from X and --to Y",
				      "status");
	if ((rc = tool_config("status", a, &cfg)) >= 0)
		return rc;
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

/* export: a run or a period, in a format, through an account map. */
static int run_export(const tool_args *a)
{
	cs_export_request q;
	cs_accounts_map *map = NULL;
	cs_config_diag diag;
	cs_config *cfg = NULL;
	cs_error err;
	int rc;

	if (!a->run_text == !(a->period || a->from || a->to) || (a->period && (a->from || a->to)) ||
	    !a->from != !a->to)
		return cs_usage_error("export", "%s takes --run N, --period P, or both --from X and "
						"--to Y", "export");
	if (a->run_text && a->config)
		return cs_usage_error("export", "%s is for a period: a run keeps its own", "--config");
	memset(&q, 0, sizeof(q));
	if (!a->format)
		return cs_usage_error("export", "%s needs --format hledger|beancount|csv|datev",
				      "export");
	if (cs_export_format_parse(a->format, &q.fmt) < 0)
		return cs_usage_error("export",
				      "unknown format '%s' (hledger, beancount, csv or datev)",
				      a->format);
	if (a->group && strcmp(a->group, "day") != 0)
		return cs_usage_error("export", "unknown --group '%s' (day)", a->group);
	if ((rc = tool_config("export", a, &cfg)) >= 0)
		return rc;
	if (a->accounts && cs_accounts_map_load(&map, a->accounts, &diag) < 0) {
		cs_config_diag_print(stderr, &diag, a->accounts, NULL, 0);
		cs_config_free(cfg);
		return CS_EXIT_USAGE;
	}
	q.conninfo = a->conninfo;
	q.run = a->run_text ? a->run : 0;
	q.period = a->period;
	q.from = a->from;
	q.to = a->to;
	q.cfg = cfg;
	q.map = map;
	q.group_day = a->group != NULL;
	q.output = a->output;
	cs_error_clear(&err);
	rc = cs_audit_export(&q, &err);
	cs_accounts_map_free(map);
	cs_config_free(cfg);
	return finish(rc, &err);
}

/* report: the page into --out, a summary on stdout, its verdict as the
 * exit code. */
static int run_report(const tool_args *a)
{
	cs_report_opts ro;
	cs_config *cfg = NULL;
	cs_error err;
	cs_buf summary;
	int rc;

	if ((a->period != NULL) == (a->from != NULL || a->to != NULL) ||
	    (!a->period && (!a->from || !a->to)))
		return cs_usage_error("report", "%s needs either --period P or both --from X and --to Y",
				      "report");
	if (!a->out_dir)
		return cs_usage_error("report", "%s needs --out FILE.html", "report");
	if ((rc = tool_config("report", a, &cfg)) >= 0)
		return rc;
	memset(&ro, 0, sizeof(ro));
	ro.conninfo = a->conninfo;
	ro.cfg = cfg;
	ro.period = a->period;
	ro.from = a->from;
	ro.to = a->to;
	ro.out_path = a->out_dir;
	cs_error_clear(&err);
	cs_buf_init(&summary);
	rc = cs_report(&ro, &summary, &err);
	if (summary.len)
		cs_text_clean(summary.data, summary.len, 1);
	fputs(summary.data ? summary.data : "", stdout);
	cs_buf_free(&summary);
	cs_config_free(cfg);
	return finish(rc, &err);
}

/* statements: the files, and a one-line summary on stdout. */
static int run_statements(const tool_args *a)
{
	cs_statements_opts so;
	cs_config *cfg = NULL;
	cs_error err;
	cs_buf report;
	int rc;

	if (a->format && strcmp(a->format, "html") != 0 && strcmp(a->format, "pdf") != 0)
		return cs_usage_error("statements", "unknown format '%s' (html or pdf)", a->format);
	if ((rc = tool_config("statements", a, &cfg)) >= 0)
		return rc;
	memset(&so, 0, sizeof(so));
	so.conninfo = a->conninfo;
	so.run_id = a->run;
	so.dir = a->out_dir;
	so.group_readable = a->group_readable;
	so.pdf = a->format && strcmp(a->format, "pdf") == 0;
	so.presentation = cfg;
	cs_error_clear(&err);
	cs_buf_init(&report);
	rc = cs_statements_write(&so, &report, &err);
	if (report.len)
		cs_text_clean(report.data, report.len, 1);
	fputs(report.data ? report.data : "", stdout); /* a summary, as settle's */
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
	if (strcmp(cmd, "export") == 0)
		return run_export(a);
	if (strcmp(cmd, "report") == 0)
		return run_report(a);
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
	} else {
		if (!a->out_dir)
			return cs_usage_error(cmd, "%s needs --out DIR", cmd);
		return run_statements(a);
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
