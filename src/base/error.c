/*
 * error.c -- filling cs_error records and failing assertions loudly.
 */
#include "coopsettle/error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coopsettle/util.h"

void cs_error_clear(cs_error *err)
{
	err->exit_code = 0;
	err->message[0] = '\0';
	err->detail[0] = '\0';
	err->hint[0] = '\0';
}

int cs_error_set(cs_error *err, int exit_code, const char *fmt, ...)
{
	va_list ap;

	cs_error_clear(err);
	err->exit_code = exit_code;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return -1;
}

void cs_error_detail(cs_error *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
	va_end(ap);
}

void cs_error_hint(cs_error *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err->hint, sizeof(err->hint), fmt, ap);
	va_end(ap);
}

void cs_error_print(const cs_error *err)
{
	cs_error clean = *err;

	/* messages quote stored text and the server's words: no control bytes
	 * reach the terminal (a detail may hold several lines) */
	cs_text_clean(clean.message, strlen(clean.message), 0);
	cs_text_clean(clean.detail, strlen(clean.detail), 1);
	cs_text_clean(clean.hint, strlen(clean.hint), 0);
	fprintf(stderr, "coopsettle: %s\n", clean.message);
	if (clean.detail[0])
		fprintf(stderr, "detail: %s\n", clean.detail);
	if (clean.hint[0])
		fprintf(stderr, "hint: %s\n", clean.hint);
}

int cs_exit_for_errno(int errnum)
{
	switch (errnum) {
	case ENOSPC:
	case EDQUOT:
	case EIO:
	case ENOMEM:
	case EAGAIN:
	case EINTR:
	case EMFILE:
	case ENFILE:
		return CS_EXIT_RUNTIME;
	default:
		return CS_EXIT_USAGE;
	}
}

int cs_usage_error(const char *cmd, const char *fmt, const char *what)
{
	fputs("coopsettle: ", stderr);
	fprintf(stderr, fmt, what);
	fputc('\n', stderr);
	if (cmd)
		fprintf(stderr, "usage: coopsettle %s --help\n", cmd);
	else
		fputs("usage: coopsettle [--db CONNINFO] COMMAND [OPTIONS]\n", stderr);
	return CS_EXIT_USAGE;
}

void cs_assert_fail(const char *what, const char *file, int line)
{
	fprintf(stderr, "coopsettle: internal error: assertion '%s' failed at %s:%d\n",
		what, file, line);
	fprintf(stderr, "detail: nothing was committed; this is a bug, please report it.\n");
	fflush(stderr);
	abort();
}
