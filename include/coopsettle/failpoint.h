/*
 * failpoint.h -- named fail points for crash tests, compiled only into test
 * builds (cmake -DCS_FAILPOINTS=ON; scripts/test.sh builds one as BUILD-fp).
 *
 * CS_FAILPOINT("name") marks a point of a run. Two environment variables
 * act on it (see docs/reliability.md for the list of points):
 *
 *   CS_FAILPOINT=name[:N]         SIGKILL the process at the Nth time the
 *                                 point is reached (default the first);
 *   CS_FAILPOINT_SLEEP=name[:MS]  the first time the point is reached, print
 *                                 "coopsettle: failpoint 'name' paused (pid P)"
 *                                 on stderr and sleep MS milliseconds (default
 *                                 60000), or until SIGUSR1 arrives, then go on.
 *
 * The pause lets a test act at an exact point (terminate a backend, stop
 * the server) and then wake the engine with SIGUSR1. In a normal build the
 * macro expands to nothing and the variables are ignored.
 */
#ifndef COOPSETTLE_FAILPOINT_H
#define COOPSETTLE_FAILPOINT_H

#ifdef CS_FAILPOINTS
/* Acts on the point name as the environment says; usually does nothing. */
void cs_failpoint(const char *name);
#define CS_FAILPOINT(name) cs_failpoint(name)
#else
#define CS_FAILPOINT(name) ((void)0)
#endif

#endif
