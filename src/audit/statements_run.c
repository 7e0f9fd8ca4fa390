/*
 * statements_run.c -- the database and file edge of `coopsettle
 * statements` (see statements_run.h, docs/statements.md): a distribute
 * run's stored figures in, one letter per member out, as text, HTML and,
 * through headless Chromium, PDF.
 */
#include "coopsettle/statements_run.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <gmp.h>

#include "coopsettle/amount.h"
#include "coopsettle/members.h"
#include "coopsettle/source.h"
#include "coopsettle/statements.h"
#include "coopsettle/stored.h"
#include "coopsettle/surplus.h"
#include "coopsettle/util.h"
#include "coopsettle/window.h"
#include "audit_int.h"

/* How long one Chromium print may take before it is stopped. */
#define CHROMIUM_TIMEOUT_S 120

/* ---- the run, opened ---- */

typedef struct stmt_run {
	cs_db *db;
	cs_stored_run run;
	int loaded;
	cs_config *cfg;       /* the run's own config: the figures' */
	const cs_config *pres; /* statements.* and source.member_details */
	cs_window w;
	int64_t first_day, last_day;
	char notice_due[16];
	cs_stored_dist sd;
	int have_sd;
	/* the superseded run's allocations, by member and currency */
	struct old_row {
		int64_t member;
		int cur;
		cs_statement_figures f;
	} *old;
	size_t n_old;
	/* source.member_details, by id */
	struct detail {
		int64_t id;
		char *name, *address;
	} *details;
	size_t n_details;
	/* per class group (index of class_key) and currency: the refunds and
	 * member business of the members that received a refund; per currency
	 * every refund */
	cs_i128 group_refunds[4][CS_CURRENCIES_MAX], group_basis[4][CS_CURRENCIES_MAX];
	cs_i128 pool[CS_CURRENCIES_MAX];
	/* the VAT on each member's fees as a member, by member and currency,
	 * in the settle runs the run was built on (config with VAT only) */
	struct vat_row {
		int64_t member;
		int cur;
		cs_i128 vat;
	} *vat;
	size_t n_vat;
} stmt_run;

static void run_close(stmt_run *a)
{
	size_t i;

	if (a->have_sd)
		cs_stored_dist_free(&a->sd);
	if (a->loaded)
		cs_stored_run_free(&a->run);
	cs_config_free(a->cfg);
	cs_db_close(a->db);
	free(a->old);
	free(a->vat);
	for (i = 0; i < a->n_details; i++) {
		free(a->details[i].name);
		free(a->details[i].address);
	}
	free(a->details);
	memset(a, 0, sizeof(*a));
}

/* ---- files ---- */

typedef struct out_dir {
	const char *path;
	mode_t mode; /* 0600, or 0640 with --group-readable */
} out_dir;

/* Writes doc to DIR/name under a mkstemp name, renamed into place. */
static int write_file(const out_dir *dir, const char *name, const cs_buf *doc, cs_error *err)
{
	cs_buf path, tmp;
	int rc = -1;
	FILE *f;

	cs_buf_init(&path);
	cs_buf_init(&tmp);
	cs_buf_printf(&path, "%s/%s", dir->path, name);
	f = audit_open_temp(path.data, &tmp, dir->mode, err);
	if (f) {
		int ok = !doc->len || fwrite(doc->data, 1, doc->len, f) == doc->len;

		if (!ok)
			cs_error_set(err, cs_exit_for_errno(errno), "cannot write '%s': %s",
				     path.data, strerror(errno));
		rc = audit_close_temp(f, tmp.data, path.data, ok, err);
	}
	cs_buf_free(&path);
	cs_buf_free(&tmp);
	return rc;
}

static int make_dir(const out_dir *dir, cs_error *err)
{
	if (mkdir(dir->path, dir->mode & 0040 ? 0750 : 0700) != 0 && errno != EEXIST)
		return cs_error_set(err, cs_exit_for_errno(errno), "cannot create directory '%s': %s",
				    dir->path, strerror(errno));
	return 0;
}

/* ---- Chromium ---- */

/* The Chromium to print with: $CS_CHROMIUM, or chromium, chromium-browser
 * or google-chrome in PATH, into path. Returns 0, or -1 with err filled
 * (exit 2: a missing program is for a person to install). */
static int chromium_find(cs_buf *path, cs_error *err)
{
	static const char *const names[] = {"chromium", "chromium-browser", "google-chrome"};
	const char *env = getenv("CS_CHROMIUM"), *p = getenv("PATH");
	size_t i;

	if (env && *env) {
		if (access(env, X_OK) == 0) {
			cs_buf_reset(path);
			cs_buf_puts(path, env);
			return 0;
		}
		cs_error_set(err, CS_EXIT_USAGE,
			     "--format pdf: CS_CHROMIUM names '%s', which is not an executable "
			     "program; nothing was written",
			     env);
		return -1;
	}
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *s = p ? p : "/usr/bin:/bin";

		while (*s) {
			const char *e = strchr(s, ':');
			size_t n = e ? (size_t)(e - s) : strlen(s);

			cs_buf_reset(path);
			cs_buf_printf(path, "%.*s/%s", (int)n, n ? s : ".", names[i]);
			if (access(path->data, X_OK) == 0)
				return 0;
			s += n + (e != NULL);
		}
	}
	cs_error_set(err, CS_EXIT_USAGE,
		     "--format pdf needs headless Chromium to print the statements, and none was "
		     "found (chromium, chromium-browser or google-chrome in PATH); nothing was "
		     "written");
	cs_error_hint(err, "Install it (Debian: apt-get install chromium), or name the program "
			   "in the environment variable CS_CHROMIUM.");
	return -1;
}

/* Prints html (an absolute path) to pdf (an absolute path) with Chromium
 * at chrome; profile is a private folder for its user data. Chromium's own
 * output goes to log. Returns 0, or -1 with err filled (exit 1). */
static int chromium_print(const char *chrome, const char *html, const char *pdf,
			  const char *profile, const char *log, cs_error *err)
{
	cs_buf url, out, data;
	pid_t pid;
	int status = 0, waited = 0, rc = -1;
	struct timespec tick = {0, 50 * 1000 * 1000};
	struct stat st;

	cs_buf_init(&url);
	cs_buf_init(&out);
	cs_buf_init(&data);
	cs_buf_printf(&url, "file://%s", html);
	cs_buf_printf(&out, "--print-to-pdf=%s", pdf);
	cs_buf_printf(&data, "--user-data-dir=%s", profile);
	unlink(pdf);
	pid = fork();
	if (pid < 0) {
		cs_error_set(err, CS_EXIT_RUNTIME, "cannot start Chromium: %s", strerror(errno));
		goto cleanup;
	}
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		int null = open("/dev/null", O_RDONLY);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		if (null >= 0)
			dup2(null, 0);
		setpgid(0, 0); /* its helpers in a group of their own, to stop together */
		execl(chrome, chrome, "--headless", "--no-sandbox", "--disable-gpu",
		      "--disable-dev-shm-usage", "--no-first-run", "--disable-extensions",
		      "--no-pdf-header-footer",
		      data.data, out.data, url.data, (char *)NULL);
		_exit(127);
	}
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			break;
		if (r < 0 && errno != EINTR) {
			cs_error_set(err, CS_EXIT_RUNTIME, "cannot wait for Chromium: %s",
				     strerror(errno));
			goto cleanup;
		}
		if (++waited > CHROMIUM_TIMEOUT_S * 20) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			cs_error_set(err, CS_EXIT_RUNTIME,
				     "Chromium did not print '%s' within %d seconds; nothing more "
				     "was written",
				     html, CHROMIUM_TIMEOUT_S);
			goto cleanup;
		}
		nanosleep(&tick, NULL);
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || stat(pdf, &st) != 0 ||
	    st.st_size < 5) {
		cs_error_set(err, CS_EXIT_RUNTIME,
			     "Chromium (%s) could not print '%s' (%s %d); its messages are in "
			     "'%s'",
			     chrome, html, WIFEXITED(status) ? "exit status" : "signal",
			     WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), log);
		goto cleanup;
	}
	rc = 0;
cleanup:
	cs_buf_free(&url);
	cs_buf_free(&out);
	cs_buf_free(&data);
	return rc;
}

/* Removes folder path and everything in it (Chromium's profile is a
 * tree): rm -rf, run without a shell. */
static void remove_tree(const char *path)
{
	pid_t pid = fork();

	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		if (null >= 0) {
			dup2(null, 1);
			dup2(null, 2);
		}
		execl("/bin/rm", "rm", "-rf", "--", path, (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

/* Prints DIR/name.html to DIR/name.pdf: Chromium writes a temporary name,
 * renamed into place once it is complete. */
static int print_pdf(const char *chrome, const char *absdir, const out_dir *dir,
		     const char *name, const char *work, cs_error *err)
{
	cs_buf html, pdf, tmp, log, profile;
	int rc = -1;

	cs_buf_init(&html);
	cs_buf_init(&pdf);
	cs_buf_init(&tmp);
	cs_buf_init(&log);
	cs_buf_init(&profile);
	cs_buf_printf(&html, "%s/%s.html", absdir, name);
	cs_buf_printf(&pdf, "%s/%s.pdf", dir->path, name);
	cs_buf_printf(&tmp, "%s/%s.pdf", work, name);
	cs_buf_printf(&log, "%s/chromium.log", work);
	cs_buf_printf(&profile, "%s/profile", work);
	if (chromium_print(chrome, html.data, tmp.data, profile.data, log.data, err) < 0)
		goto cleanup;
	if (chmod(tmp.data, dir->mode) != 0 || rename(tmp.data, pdf.data) != 0) {
		cs_error_set(err, cs_exit_for_errno(errno), "cannot write '%s': %s", pdf.data,
			     strerror(errno));
		goto cleanup;
	}
	rc = 0;
cleanup:
	cs_buf_free(&html);
	cs_buf_free(&pdf);
	cs_buf_free(&tmp);
	cs_buf_free(&log);
	cs_buf_free(&profile);
	return rc;
}

/* ---- what the statements read ---- */

static int old_cmp(const void *x, const void *y)
{
	const struct old_row *a = x, *b = y;

	if (a->member != b->member)
		return a->member < b->member ? -1 : 1;
	return (a->cur > b->cur) - (a->cur < b->cur);
}

/* Reads the figures of an allocation row (columns from col) into f. */
static int read_figures(const stmt_run *a, const cs_cursor *c, size_t col, cs_statement_figures *f,
			cs_error *err)
{
	int64_t id = a->run.id;

	memset(f, 0, sizeof(*f));
	if (audit_stored_amount(cs_cursor_cell(c, col), &f->basis_minor, id, err) < 0 ||
	    audit_stored_amount(cs_cursor_cell(c, col + 1), &f->patronage_minor, id, err) < 0 ||
	    audit_stored_amount(cs_cursor_cell(c, col + 2), &f->cash_minor, id, err) < 0 ||
	    audit_stored_amount(cs_cursor_cell(c, col + 3), &f->retained_minor, id, err) < 0 ||
	    audit_stored_amount(cs_cursor_cell(c, col + 4), &f->interest_minor, id, err) < 0)
		return -1;
	if (cs_cursor_cell(c, col + 5) &&
	    audit_stored_amount(cs_cursor_cell(c, col + 5), &f->withheld_minor, id, err) < 0)
		return -1;
	return 0;
}

static const char allocation_sql[] =
	"SELECT member_id, currency, patronage_basis_minor::text,"
	" patronage_minor::text, cash_minor::text, retained_minor::text,"
	" capital_interest_minor::text, withheld_minor::text"
	" FROM coopsettle.member_allocations"
	" WHERE run_id = $1::bigint ORDER BY member_id, currency COLLATE \"C\"";

/* The same for a superseding run: its allocations, and a row of zeros for
 * each (member, currency) only the superseded run ($2) had, so that a
 * member the correction leaves out still gets a letter showing old -> 0. */
static const char allocation_with_dropped_sql[] =
	"SELECT * FROM (SELECT member_id, currency, patronage_basis_minor::text,"
	" patronage_minor::text, cash_minor::text, retained_minor::text,"
	" capital_interest_minor::text, withheld_minor::text"
	" FROM coopsettle.member_allocations WHERE run_id = $1::bigint"
	" UNION ALL SELECT o.member_id, o.currency, '0', '0', '0', '0', '0', NULL"
	" FROM coopsettle.member_allocations o WHERE o.run_id = $2::bigint"
	" AND NOT EXISTS (SELECT 1 FROM coopsettle.member_allocations n"
	" WHERE n.run_id = $1::bigint AND n.member_id = o.member_id"
	" AND n.currency = o.currency)) a"
	" ORDER BY member_id, currency COLLATE \"C\"";

/* The row's member and currency index; a row the engine cannot have
 * written is exit 5. */
static int row_key(const stmt_run *a, const cs_cursor *c, int64_t *id, int *cur, cs_error *err)
{
	const char *code = cs_cursor_cell(c, 1);

	*cur = code ? cs_config_currency_index(a->cfg, code, strlen(code)) : -1;
	if (cs_parse_i64(cs_cursor_cell(c, 0), id) < 0 || *cur < 0)
		return cs_error_set(err, CS_EXIT_VERIFY,
				    "run %lld has a stored allocation the engine cannot have "
				    "written",
				    (long long)a->run.id);
	return 0;
}

/* The allocations of the run this one superseded, for old -> new. */
static int load_old(stmt_run *a, cs_error *err)
{
	char run_text[24];
	const char *params[1] = {run_text};
	cs_cursor c;
	size_t cap = 0;
	int step, rc = -1;

	if (!a->run.supersedes)
		return 0;
	snprintf(run_text, sizeof(run_text), "%lld", (long long)a->run.supersedes);
	if (cs_cursor_open(&c, a->db, "cs_statements_old", allocation_sql, 1, params, err) < 0)
		return -1;
	while ((step = cs_cursor_next(&c, err)) == 1) {
		struct old_row *r;

		if (a->n_old == cap) {
			cap = cap ? cap * 2 : 64;
			a->old = realloc(a->old, cap * sizeof(*a->old));
			CS_ASSERT(a->old != NULL);
		}
		r = &a->old[a->n_old];
		if (row_key(a, &c, &r->member, &r->cur, err) < 0 ||
		    read_figures(a, &c, 2, &r->f, err) < 0)
			goto cleanup;
		a->n_old++;
	}
	if (step < 0)
		goto cleanup;
	qsort(a->old, a->n_old, sizeof(*a->old), old_cmp);
	rc = 0;
cleanup:
	cs_cursor_close(&c);
	return rc;
}

static const struct old_row *find_old(const stmt_run *a, int64_t member, int cur)
{
	struct old_row key;

	key.member = member;
	key.cur = cur;
	return a->n_old ? bsearch(&key, a->old, a->n_old, sizeof(*a->old), old_cmp) : NULL;
}

static int detail_cmp(const void *x, const void *y)
{
	const struct detail *a = x, *b = y;

	return (a->id > b->id) - (a->id < b->id);
}

/* source.member_details (id, name, address): absent and not named in the
 * config, the statements show the member id only. */
static int load_details(stmt_run *a, cs_error *err)
{
	const cs_relation *rel = &a->pres->source_member_details;
	char *q = cs_source_relation_sql(a->db, rel, err);
	const char *params[1];
	cs_db_rows rows;
	cs_buf sql;
	size_t i;
	int rc = -1;

	if (!q)
		return -1;
	params[0] = q;
	cs_buf_init(&sql);
	if (cs_db_query(a->db, "SELECT to_regclass($1) IS NOT NULL", 1, params, &rows, err) < 0)
		goto cleanup;
	if (strcmp(cs_db_cell(&rows, 0, 0), "t") != 0) {
		cs_db_rows_free(&rows);
		if (!a->pres->member_details_given) {
			rc = 0;
			goto cleanup;
		}
		cs_error_set(err, CS_EXIT_USAGE,
			     "source.member_details names '%s.%s', which does not exist; nothing "
			     "was written",
			     rel->schema, rel->table);
		cs_error_hint(err, "Create it with columns id, name and address, or leave "
				   "source.member_details out to show the member ids only.");
		goto cleanup;
	}
	cs_db_rows_free(&rows);
	cs_buf_printf(&sql,
		      "SELECT id::bigint::text, name::text, address::text FROM %s"
		      " WHERE id IS NOT NULL ORDER BY id",
		      q);
	if (cs_db_query(a->db, sql.data, 0, NULL, &rows, err) < 0)
		goto cleanup;
	a->details = calloc(rows.n_rows ? rows.n_rows : 1, sizeof(*a->details));
	CS_ASSERT(a->details != NULL);
	for (i = 0; i < rows.n_rows; i++) {
		struct detail *d = &a->details[a->n_details];
		const char *name = cs_db_cell(&rows, i, 1), *addr = cs_db_cell(&rows, i, 2);

		if (cs_parse_i64(cs_db_cell(&rows, i, 0), &d->id) < 0)
			continue;
		if (a->n_details && a->details[a->n_details - 1].id == d->id)
			continue; /* a repeated id: the first row */
		d->name = name && *name ? strdup(name) : NULL;
		d->address = addr && *addr ? strdup(addr) : NULL;
		a->n_details++;
	}
	cs_db_rows_free(&rows);
	rc = 0;
cleanup:
	free(q);
	cs_buf_free(&sql);
	return rc;
}

static const struct detail *find_detail(const stmt_run *a, int64_t id)
{
	struct detail key;

	key.id = id;
	return a->n_details ? bsearch(&key, a->details, a->n_details, sizeof(*a->details),
				      detail_cmp)
			    : NULL;
}

/* The member of the run's input with id, or -1. */
static long member_index(const stmt_run *a, int64_t id)
{
	size_t lo = 0, hi = a->sd.in.n_members;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (a->sd.in.members[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < a->sd.in.n_members && a->sd.in.members[lo].id == id ? (long)lo : -1;
}

/* The classes a member holds: 0 producer, 1 consumer, 2 both, 3 unknown. */
static int class_key(const stmt_run *a, int64_t id)
{
	long m = member_index(a, id);
	const cs_member *x;

	if (m < 0)
		return 3;
	x = &a->sd.in.members[m];
	if (a->cfg->version < 2)
		return x->cls == CS_CLASS_PRODUCER ? 0 : 1;
	if (x->period_count[CS_CLASS_PRODUCER] && x->period_count[CS_CLASS_CONSUMER])
		return 2;
	return x->period_count[CS_CLASS_PRODUCER] ? 0 : 1;
}

static const char *const class_names[4] = {"producer", "consumer", "producer and consumer",
					   NULL};

/* Pass 1: the uniform rates -- per class group and currency, the refunds
 * and member business of the members that received a refund -- and every
 * refund per currency. */
static int load_rates(stmt_run *a, cs_error *err)
{
	char run_text[24];
	const char *params[1] = {run_text};
	cs_cursor c;
	int step, rc = -1;

	snprintf(run_text, sizeof(run_text), "%lld", (long long)a->run.id);
	if (cs_cursor_open(&c, a->db, "cs_statements_rates", allocation_sql, 1, params, err) < 0)
		return -1;
	while ((step = cs_cursor_next(&c, err)) == 1) {
		cs_statement_figures f;
		int64_t id;
		int cur, g;

		if (row_key(a, &c, &id, &cur, err) < 0 || read_figures(a, &c, 2, &f, err) < 0)
			goto cleanup;
		a->pool[cur] += f.patronage_minor;
		if (f.patronage_minor <= 0)
			continue;
		g = class_key(a, id);
		a->group_refunds[g][cur] += f.patronage_minor;
		a->group_basis[g][cur] += f.basis_minor;
	}
	rc = step < 0 ? -1 : 0;
cleanup:
	cs_cursor_close(&c);
	return rc;
}

/* The VAT each member bore on its fees as a member in the settle runs the
 * run was built on (its depends_on; spec 10.8.7: their stored per-party
 * sums of per-transaction roundings), read when the config has VAT. */
static int load_vat(stmt_run *a, cs_error *err)
{
	cs_buf ids;
	const char *params[1];
	cs_cursor c;
	size_t i;
	int step, rc = -1;

	if (!a->cfg->has_vat || !a->run.has_depends_on || a->run.n_depends_on == 0)
		return 0;
	cs_buf_init(&ids);
	for (i = 0; i < a->run.n_depends_on; i++)
		cs_buf_printf(&ids, "%s%lld", i ? "," : "{", (long long)a->run.depends_on[i]);
	cs_buf_putc(&ids, '}');
	params[0] = ids.data;
	if (cs_cursor_open(&c, a->db, "cs_statements_vat",
			   "SELECT party_id, currency, sum(vat_minor)::text"
			   " FROM coopsettle.party_totals WHERE run_id = ANY($1::bigint[])"
			   " AND member AND vat_minor IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2",
			   1, params, err) < 0)
		goto cleanup;
	while ((step = cs_cursor_next(&c, err)) == 1) {
		const char *code = cs_cursor_cell(&c, 1);
		int cur = code ? cs_config_currency_index(a->cfg, code, strlen(code)) : -1;
		struct vat_row *v;

		if (cur < 0)
			continue; /* a currency the distribute config does not list */
		a->vat = realloc(a->vat, (a->n_vat + 1) * sizeof(*a->vat));
		CS_ASSERT(a->vat != NULL);
		v = &a->vat[a->n_vat];
		if (cs_parse_i64(cs_cursor_cell(&c, 0), &v->member) < 0 ||
		    audit_stored_amount(cs_cursor_cell(&c, 2), &v->vat, a->run.id, err) < 0)
			goto cleanup;
		v->cur = cur;
		a->n_vat++;
	}
	rc = step < 0 ? -1 : 0;
cleanup:
	cs_cursor_close(&c);
	cs_buf_free(&ids);
	return rc;
}

/* The VAT row of (member, cur), or NULL (rows are ordered by member). */
static const struct vat_row *find_vat(const stmt_run *a, int64_t member, int cur)
{
	size_t lo = 0, hi = a->n_vat;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (a->vat[mid].member < member)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < a->n_vat && a->vat[lo].member == member; lo++)
		if (a->vat[lo].cur == cur)
			return &a->vat[lo];
	return NULL;
}

/* ---- one member's statement ---- */

/* The parts of every statement of run a. */
static void doc_init(cs_statement_doc *doc, stmt_run *a)
{
	const cs_config *cfg = a->cfg, *pres = a->pres;
	size_t s;

	memset(doc, 0, sizeof(*doc));
	doc->lang = pres->stmt_language_de ? CS_LANG_DE : CS_LANG_EN;
	doc->cooperative = pres->cooperative;
	doc->first_day = a->first_day;
	doc->last_day = a->last_day;
	doc->from_text = a->w.from_text;
	doc->to_text = a->w.to_text;
	doc->timezone = cfg->timezone;
	doc->run_id = a->run.id;
	doc->status = a->run.status;
	doc->superseded_by = a->run.superseded_by;
	doc->supersedes = a->run.supersedes;
	doc->record_sha256 = a->run.record_sha256;
	doc->output_sha256 = a->run.output_sha256;
	if (pres->has_stmt_resolution) {
		doc->resolution_body = pres->stmt_resolution_body;
		doc->resolution_day = pres->stmt_resolution_day;
	}
	doc->has_payout = pres->has_stmt_payout;
	doc->payout_day = pres->stmt_payout_day;
	doc->net_of_vat = cfg->has_vat;
	for (s = 0; s < cfg->n_steps; s++) {
		const cs_step *st = &cfg->steps[s];

		if (st->type == CS_STEP_CAPITAL_INTEREST && !doc->has_interest) {
			doc->has_interest = 1;
			doc->interest_rate = st->rate;
			doc->withholding = st->has_withholding ? st->withholding : NULL;
			doc->interest_opening = st->interest_basis == CS_INTEREST_OPENING_BALANCE;
			doc->interest_blocked =
				st->blocked_by_loss &&
				cs_surplus_balance(&a->sd.in, cfg->accounts[CS_ACCOUNT_LOSS_CARRIED],
						   cfg->base_currency) > 0;
		}
		if (st->type == CS_STEP_PATRONAGE && !doc->basis) {
			doc->basis = st->basis == CS_BASIS_VOLUME ? "volume" : "fees";
			if (st->notice_qualified) {
				cs_day_text(a->notice_due, sizeof(a->notice_due),
					    cs_day_add(a->last_day, st->due_months, st->due_days));
				doc->notice_due = a->notice_due;
			}
		}
	}
}

/* The member's capital basis and days for the first interest step. */
static void member_interest(const stmt_run *a, cs_statement_doc *doc, int64_t id)
{
	const cs_surplus_input *in = &a->sd.in;
	const cs_step *st = NULL;
	long m = member_index(a, id);
	size_t s;
	mpz_t w, q, r;

	doc->capital_minor = 0;
	doc->capital_rounded = 0;
	doc->interest_days = 0;
	doc->year_days = 365;
	doc->capital_day = a->first_day - 1;
	for (s = 0; s < a->cfg->n_steps && !st; s++)
		if (a->cfg->steps[s].type == CS_STEP_CAPITAL_INTEREST)
			st = &a->cfg->steps[s];
	if (!st || m < 0)
		return;
	if (doc->interest_opening) {
		doc->capital_minor = in->capital_open_minor ? in->capital_open_minor[m] : 0;
		doc->interest_days = in->window_days;
		doc->year_days = in->year_days;
		return;
	}
	doc->interest_days = cs_membership_days(in, &in->members[m]);
	if (doc->interest_days <= 0)
		return;
	mpz_inits(w, q, r, NULL);
	cs_surplus_interest_weight(in, st, (size_t)m, w); /* capital x days */
	/* the average, rounded half up */
	mpz_fdiv_qr_ui(q, r, w, (unsigned long)doc->interest_days);
	doc->capital_rounded = mpz_sgn(r) != 0;
	mpz_mul_ui(r, r, 2);
	if (mpz_cmp_ui(r, (unsigned long)doc->interest_days) >= 0)
		mpz_add_ui(q, q, 1);
	doc->capital_minor = cs_i128_from_mpz(q);
	mpz_clears(w, q, r, NULL);
}

/* Fills the member's parts of doc. */
static void member_doc(const stmt_run *a, cs_statement_doc *doc, int64_t id)
{
	const struct detail *det = find_detail(a, id);

	doc->member_id = id;
	doc->member_class = class_names[class_key(a, id)];
	doc->member_name = det ? det->name : NULL;
	doc->member_address = det && det->name ? det->address : NULL;
	doc->n_amounts = 0;
	member_interest(a, doc, id);
}

/* Adds the member's row of currency cur to amounts. */
static void member_amounts(const stmt_run *a, cs_statement_amounts *x, int64_t id, int cur,
			   const cs_statement_figures *f)
{
	const struct old_row *o = find_old(a, id, cur);
	int g = class_key(a, id);

	memset(x, 0, sizeof(*x));
	x->currency = a->cfg->currencies[cur].code;
	x->exponent = a->cfg->currencies[cur].exponent;
	x->base = (size_t)cur == a->cfg->base_currency;
	x->now = *f;
	if (a->run.supersedes) {
		x->has_old = 1; /* a member the old run did not have: its figures were 0 */
		if (o)
			x->old = o->f;
	}
	x->class_refunds_minor = a->group_refunds[g][cur];
	x->class_basis_minor = a->group_basis[g][cur];
	x->pool_minor = a->pool[cur];
	if (a->cfg->has_vat && a->run.has_depends_on) {
		const struct vat_row *v = find_vat(a, id, cur);

		x->has_vat = 1;
		x->vat_minor = v ? v->vat : 0;
	}
}

typedef struct writer {
	const out_dir *dir;
	cs_buf one, all, name;
	int64_t n_members;
	int64_t *ids;
	size_t cap;
} writer;

static int write_member(writer *wr, const cs_statement_doc *doc, cs_error *err)
{
	if (wr->n_members == 0)
		cs_statement_html_begin(&wr->all, doc);
	cs_statement_html_page(&wr->all, doc);
	cs_buf_reset(&wr->one);
	cs_statement_text(&wr->one, doc);
	cs_buf_reset(&wr->name);
	cs_buf_printf(&wr->name, "member-%lld.txt", (long long)doc->member_id);
	if (write_file(wr->dir, wr->name.data, &wr->one, err) < 0)
		return -1;
	cs_buf_reset(&wr->one);
	cs_statement_html(&wr->one, doc);
	cs_buf_reset(&wr->name);
	cs_buf_printf(&wr->name, "member-%lld.html", (long long)doc->member_id);
	if (write_file(wr->dir, wr->name.data, &wr->one, err) < 0)
		return -1;
	if ((size_t)wr->n_members == wr->cap) {
		wr->cap = wr->cap ? wr->cap * 2 : 64;
		wr->ids = realloc(wr->ids, wr->cap * sizeof(*wr->ids));
		CS_ASSERT(wr->ids != NULL);
	}
	wr->ids[wr->n_members++] = doc->member_id;
	return 0;
}

/* Pass 2: one statement per member with a stored allocation. */
static int write_all(stmt_run *a, writer *wr, cs_error *err)
{
	char run_text[24], old_text[24];
	const char *params[2] = {run_text, old_text};
	cs_statement_amounts amounts[CS_CURRENCIES_MAX];
	cs_statement_doc doc;
	int64_t current = 0;
	int have = 0, step, rc = -1;
	cs_cursor c;

	doc_init(&doc, a);
	doc.amounts = amounts;
	snprintf(run_text, sizeof(run_text), "%lld", (long long)a->run.id);
	snprintf(old_text, sizeof(old_text), "%lld", (long long)a->run.supersedes);
	if (cs_cursor_open(&c, a->db, "cs_statements",
			   a->run.supersedes ? allocation_with_dropped_sql : allocation_sql,
			   a->run.supersedes ? 2 : 1, params, err) < 0)
		return -1;
	while ((step = cs_cursor_next(&c, err)) == 1) {
		cs_statement_figures f;
		int64_t id;
		int cur;

		if (row_key(a, &c, &id, &cur, err) < 0 || read_figures(a, &c, 2, &f, err) < 0)
			goto cleanup;
		if (have && id != current && write_member(wr, &doc, err) < 0)
			goto cleanup;
		if (!have || id != current) {
			have = 1;
			current = id;
			member_doc(a, &doc, id);
		}
		if (doc.n_amounts == CS_CURRENCIES_MAX)
			continue; /* (member, currency) is the key: cannot happen untampered */
		member_amounts(a, &amounts[doc.n_amounts++], id, cur, &f);
	}
	if (step < 0 || (have && write_member(wr, &doc, err) < 0))
		goto cleanup;
	if (have) {
		cs_statement_html_end(&wr->all);
		if (write_file(wr->dir, "statements.html", &wr->all, err) < 0)
			goto cleanup;
	}
	rc = 0;
cleanup:
	cs_cursor_close(&c);
	return rc;
}

/* Prints statements.html and every member's HTML to PDF. */
static int print_all(const char *chrome, writer *wr, cs_error *err)
{
	char absdir[4096], work[] = "/tmp/coopsettle-pdf-XXXXXX";
	const char *tmpdir = getenv("TMPDIR");
	cs_buf workdir, name;
	int64_t i;
	int rc = -1;

	if (!realpath(wr->dir->path, absdir))
		return cs_error_set(err, cs_exit_for_errno(errno), "cannot resolve '%s': %s",
				    wr->dir->path, strerror(errno));
	cs_buf_init(&workdir);
	cs_buf_init(&name);
	if (tmpdir && *tmpdir && strlen(tmpdir) < 3000)
		cs_buf_printf(&workdir, "%s/coopsettle-pdf-XXXXXX", tmpdir);
	else
		cs_buf_puts(&workdir, work);
	if (!mkdtemp(workdir.data)) {
		cs_error_set(err, cs_exit_for_errno(errno), "cannot create a folder for Chromium: %s",
			     strerror(errno));
		goto cleanup;
	}
	if (wr->n_members && print_pdf(chrome, absdir, wr->dir, "statements", workdir.data, err) < 0)
		goto remove;
	for (i = 0; i < wr->n_members; i++) {
		cs_buf_reset(&name);
		cs_buf_printf(&name, "member-%lld", (long long)wr->ids[i]);
		if (print_pdf(chrome, absdir, wr->dir, name.data, workdir.data, err) < 0)
			goto remove;
	}
	rc = 0;
remove:
	if (rc == 0) /* on failure the log stays: the message names it */
		remove_tree(workdir.data);
cleanup:
	cs_buf_free(&workdir);
	cs_buf_free(&name);
	return rc;
}

int cs_statements_write(const cs_statements_opts *o, cs_buf *report, cs_error *err)
{
	out_dir d = {o->dir, o->group_readable ? 0640 : 0600};
	stmt_run a;
	writer wr;
	cs_buf chrome;
	int64_t first, end;
	int rc = -1;

	memset(&a, 0, sizeof(a));
	memset(&wr, 0, sizeof(wr));
	cs_buf_init(&chrome);
	cs_buf_init(&wr.one);
	cs_buf_init(&wr.all);
	cs_buf_init(&wr.name);
	wr.dir = &d;
	if (o->pdf && chromium_find(&chrome, err) < 0)
		goto cleanup;
	a.db = cs_stored_connect(o->conninfo, err);
	if (!a.db || cs_stored_run_load(a.db, o->run_id, &a.run, err) < 0)
		goto cleanup;
	a.loaded = 1;
	if (strcmp(a.run.kind, "distribute") != 0) {
		cs_error_set(err, CS_EXIT_USAGE,
			     "run %lld is a %s run; statements are made of distribute runs",
			     (long long)a.run.id, a.run.kind);
		cs_error_hint(err, "Explain a party's fees with 'coopsettle explain --run %lld "
				   "--member ID'.",
			      (long long)a.run.id);
		goto cleanup;
	}
	if (cs_stored_run_config(&a.run, &a.cfg, &a.w, err) < 0 ||
	    cs_stored_begin(a.db, a.cfg, err) < 0)
		goto cleanup;
	a.pres = o->presentation ? o->presentation : a.cfg;
	cs_window_local_days(&a.w, &first, &end);
	a.first_day = first;
	a.last_day = end > first ? end - 1 : first;
	if (cs_stored_dist_load(a.db, a.cfg, &a.run, &a.w, &a.sd, err) < 0)
		goto cleanup;
	a.have_sd = 1;
	if (load_old(&a, err) < 0 || load_details(&a, err) < 0 || load_rates(&a, err) < 0 ||
	    load_vat(&a, err) < 0 ||
	    make_dir(&d, err) < 0 || write_all(&a, &wr, err) < 0)
		goto cleanup;
	if (o->pdf && print_all(chrome.data, &wr, err) < 0)
		goto cleanup;
	cs_buf_printf(report,
		      "coopsettle: wrote statements of %lld member%s of run %lld to %s "
		      "(member-ID.txt, member-ID.html%s, statements.html%s)\n",
		      (long long)wr.n_members, wr.n_members == 1 ? "" : "s", (long long)o->run_id,
		      o->dir, o->pdf ? ", member-ID.pdf" : "", o->pdf ? ", statements.pdf" : "");
	rc = 0;
cleanup:
	run_close(&a);
	cs_buf_free(&chrome);
	cs_buf_free(&wr.one);
	cs_buf_free(&wr.all);
	cs_buf_free(&wr.name);
	free(wr.ids);
	return rc;
}
