/*
 * tools.h -- the commands that only read: status, verify, explain, export,
 * statements.
 */
#ifndef COOPSETTLE_TOOLS_H
#define COOPSETTLE_TOOLS_H

/* Runs audit command cmd with its arguments (argv[0] is cmd) and returns the
 * exit code. */
int cs_tool_main(const char *conninfo, const char *cmd, int argc, char **argv);

#endif
