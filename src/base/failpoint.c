/*
 * failpoint.c -- named fail points for crash tests (see failpoint.h).
 *
 * The environment is read once, at the first point reached; points can sit
 * in per-row loops, so the common case is one string compare.
 */
#include "coopsettle/failpoint.h"

#ifdef CS_FAILPOINTS
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "coopsettle/util.h"

/* Longest point name we accept from the environment. */
#define FAILPOINT_NAME_BYTES 64
/* Default pause: long enough for a test to act, short enough to end. */
#define FAILPOINT_SLEEP_MS_DEFAULT 60000

typedef struct failpoint_spec {
	char name[FAILPOINT_NAME_BYTES];
	int64_t arg;  /* kill: hit number; sleep: milliseconds */
	int64_t hits; /* times the point was reached */
	int active;
} failpoint_spec;

static int parsed;
static failpoint_spec kill_spec, sleep_spec;

/* Parses "name[:N]" from variable var into spec; arg defaults to dflt. A
 * malformed value is reported once and ignored. */
static void spec_parse(failpoint_spec *spec, const char *var, int64_t dflt)
{
	const char *v = getenv(var);
	const char *colon;
	size_t len;

	memset(spec, 0, sizeof(*spec));
	if (!v || !v[0])
		return;
	colon = strchr(v, ':');
	len = colon ? (size_t)(colon - v) : strlen(v);
	spec->arg = dflt;
	if (len == 0 || len >= sizeof(spec->name) ||
	    (colon && (cs_parse_i64(colon + 1, &spec->arg) < 0 || spec->arg < 1))) {
		fprintf(stderr, "coopsettle: ignoring malformed %s '%s'\n", var, v);
		return;
	}
	memcpy(spec->name, v, len);
	spec->name[len] = '\0';
	spec->active = 1;
}

static void on_sigusr1(int sig)
{
	(void)sig; /* only interrupts nanosleep */
}

static void pause_ms(const char *name, int64_t ms)
{
	struct sigaction sa;
	struct timespec left;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigusr1; /* no SA_RESTART: nanosleep returns EINTR */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	fprintf(stderr, "coopsettle: failpoint '%s' paused (pid %ld)\n", name, (long)getpid());
	fflush(stderr);
	left.tv_sec = (time_t)(ms / 1000);
	left.tv_nsec = (long)(ms % 1000) * 1000000L;
	if (nanosleep(&left, &left) < 0 && errno == EINTR)
		fprintf(stderr, "coopsettle: failpoint '%s' woken\n", name);
	fflush(stderr);
}

void cs_failpoint(const char *name)
{
	if (!parsed) {
		parsed = 1;
		spec_parse(&kill_spec, "CS_FAILPOINT", 1);
		spec_parse(&sleep_spec, "CS_FAILPOINT_SLEEP", FAILPOINT_SLEEP_MS_DEFAULT);
	}
	if (kill_spec.active && strcmp(kill_spec.name, name) == 0 &&
	    ++kill_spec.hits == kill_spec.arg)
		kill(getpid(), SIGKILL);
	if (sleep_spec.active && strcmp(sleep_spec.name, name) == 0 && ++sleep_spec.hits == 1)
		pause_ms(name, sleep_spec.arg);
}
#else
/* ISO C forbids an empty translation unit. */
typedef int cs_failpoint_unused;
#endif
