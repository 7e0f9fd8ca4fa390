/*
 * failpoint.h -- named fail points for crash tests, compiled only into test
 * builds (cmake -DCS_FAILPOINTS=ON).
 *
 * CS_FAILPOINT("name") kills the process with SIGKILL when the environment
 * variable CS_FAILPOINT equals name, so tests can stop the engine at an
 * exact point of a run (see tests/integration and docs/reliability.md).
 * In a normal build the macro expands to nothing.
 */
#ifndef COOPSETTLE_FAILPOINT_H
#define COOPSETTLE_FAILPOINT_H

#ifdef CS_FAILPOINTS
/* Kills the process if CS_FAILPOINT names this point. */
void cs_failpoint(const char *name);
#define CS_FAILPOINT(name) cs_failpoint(name)
#else
#define CS_FAILPOINT(name) ((void)0)
#endif

#endif
