/*
 * tools.h -- the commands that only read: status, verify, explain, export,
 * statements.
 */
#ifndef COOPSETTLE_TOOLS_H
#define COOPSETTLE_TOOLS_H

/* Runs audit command cmd with its arguments (argv[0] is cmd) and returns the
 * exit code. */
int cs_tool_main(const char *conninfo, const char *cmd, int argc, char **argv);

/* Records the global option --schema NAME (before the command), which
 * cs_db_use_schema has already applied. */
void cs_cli_schema_flag(const char *name);

/* Applies the schema a command's config names (key `schema`). Returns -1
 * when it is applied, or the exit code of the usage error printed when
 * --schema names another one. */
int cs_cli_config_schema(const char *cmd, const char *schema);

#endif
