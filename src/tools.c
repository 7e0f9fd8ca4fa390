/*
 * tools.c -- the audit commands (see tools.h). Not yet implemented: each
 * says so and exits 1, so scripts can tell it apart from a mismatch.
 */
#include "coopsettle/tools.h"

#include <stdio.h>

#include "coopsettle/error.h"

int cs_tool_main(const char *conninfo, const char *cmd, int argc, char **argv)
{
	(void)conninfo;
	(void)argc;
	(void)argv;
	fprintf(stderr, "coopsettle: '%s' is not implemented in this version\n", cmd);
	return CS_EXIT_RUNTIME;
}
