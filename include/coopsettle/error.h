/*
 * error.h -- exit codes (spec section 8) and the error record every
 * fallible library function fills in.
 */
#ifndef COOPSETTLE_ERROR_H
#define COOPSETTLE_ERROR_H

#include <stddef.h>

enum cs_exit {
	CS_EXIT_OK = 0,       /* done */
	CS_EXIT_RUNTIME = 1,  /* a failure a retry can cure: server down, connection lost, disk full */
	CS_EXIT_USAGE = 2,    /* usage, config, connection settings, permission, schema version */
	CS_EXIT_DATA = 3,     /* invalid input data */
	CS_EXIT_CONFLICT = 4, /* conflict with committed runs */
	CS_EXIT_VERIFY = 5,   /* verification mismatch */
};

#define CS_ERROR_MSG_BYTES 4096

/* An operating error: what went wrong (message), optional detail and hint
 * lines, and the exit code the CLI should use. Plain storage, no ownership. */
typedef struct cs_error {
	int exit_code;
	char message[CS_ERROR_MSG_BYTES];
	char detail[CS_ERROR_MSG_BYTES];
	char hint[CS_ERROR_MSG_BYTES];
} cs_error;

/* Clears err. */
void cs_error_clear(cs_error *err);

/* Sets err's exit code and message (printf format); returns -1 so callers can
 * write `return cs_error_set(err, ...)`. detail and hint are left empty. */
int cs_error_set(cs_error *err, int exit_code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Sets the detail line of err (printf format). */
void cs_error_detail(cs_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Sets the hint line of err (printf format). */
void cs_error_hint(cs_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Assertion that is always compiled in: a broken invariant is a bug, and
 * coopsettle stops before it can write wrong money. */
#define CS_ASSERT(cond)                                                        \
	do {                                                                   \
		if (!(cond))                                                   \
			cs_assert_fail(#cond, __FILE__, __LINE__);             \
	} while (0)

/* Prints the failed assertion and aborts. Never returns. */
/* Prints err on stderr as the command line shows every error:
 * "coopsettle: MESSAGE", then "detail: ..." and "hint: ..." when set. */
void cs_error_print(const cs_error *err);

/* The exit code of a failed file operation with errno errnum: 1 when a
 * retry can cure it (a full disk or quota, an I/O error, no memory), 2 when
 * a person must fix something (a missing directory, permission denied, a
 * read-only file system). spec section 10.4. */
int cs_exit_for_errno(int errnum);

/* Prints "coopsettle: " fmt (with what) and a usage line pointing at
 * "coopsettle CMD --help" (cmd NULL: at "coopsettle --help") on stderr;
 * returns CS_EXIT_USAGE. */
int cs_usage_error(const char *cmd, const char *fmt, const char *what);

void cs_assert_fail(const char *what, const char *file, int line)
	__attribute__((noreturn));

#endif
