/*
 * failpoint.c -- named fail points for crash tests (see failpoint.h).
 */
#include "coopsettle/failpoint.h"

#ifdef CS_FAILPOINTS
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void cs_failpoint(const char *name)
{
	const char *want = getenv("CS_FAILPOINT");

	if (want && strcmp(want, name) == 0)
		kill(getpid(), SIGKILL);
}
#else
/* ISO C forbids an empty translation unit. */
typedef int cs_failpoint_unused;
#endif
