/*
 * copy_floor.c -- the floor of scripts/bench.sh: the least a settle run
 * must do against the database, done by a minimal libpq client.
 *
 *   copy_floor out SQL        run SQL (a COPY ... TO STDOUT), read every
 *                             row and discard it
 *   copy_floor in SQL FILE    run SQL (a COPY ... FROM STDIN), send FILE's
 *                             bytes in 1 MiB chunks, as coopsettle's sink does
 *
 * Connection parameters come from the environment (PGHOST, PGDATABASE, ...)
 * like any libpq client. Prints "rows N" or "bytes N" on stdout; the bench
 * times the process from outside, as it times coopsettle. Exit 0, or 1 with
 * the server's message on stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#define CHUNK_BYTES (1024 * 1024)

static int fail(PGconn *c, const char *what)
{
	fprintf(stderr, "copy_floor: %s: %s", what, PQerrorMessage(c));
	PQfinish(c);
	return 1;
}

/* Collects the results after a COPY; 0 if all succeeded. */
static int finish(PGconn *c)
{
	PGresult *res;
	int rc = 0;

	while ((res = PQgetResult(c)) != NULL) {
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			fprintf(stderr, "copy_floor: %s", PQresultErrorMessage(res));
			rc = 1;
		}
		PQclear(res);
	}
	return rc;
}

static int copy_out(PGconn *c, const char *sql)
{
	PGresult *res = PQexec(c, sql);
	long long rows = 0;
	char *buf;
	int n;

	if (PQresultStatus(res) != PGRES_COPY_OUT) {
		PQclear(res);
		return fail(c, "COPY TO did not start");
	}
	PQclear(res);
	while ((n = PQgetCopyData(c, &buf, 0)) > 0) {
		rows++;
		PQfreemem(buf);
	}
	if (n == -2 || finish(c))
		return fail(c, "COPY TO failed");
	/* binary: the header comes with the first row, the trailer alone */
	printf("rows %lld\n", rows - 1);
	PQfinish(c);
	return 0;
}

static int copy_in(PGconn *c, const char *sql, const char *path)
{
	PGresult *res;
	FILE *f = fopen(path, "rb");
	char *buf = malloc(CHUNK_BYTES);
	long long bytes = 0;
	size_t n;

	if (!f || !buf) {
		fprintf(stderr, "copy_floor: cannot read %s\n", path);
		free(buf);
		PQfinish(c);
		return 1;
	}
	res = PQexec(c, sql);
	if (PQresultStatus(res) != PGRES_COPY_IN) {
		PQclear(res);
		fclose(f);
		free(buf);
		return fail(c, "COPY FROM did not start");
	}
	PQclear(res);
	while ((n = fread(buf, 1, CHUNK_BYTES, f)) > 0) {
		if (PQputCopyData(c, buf, (int)n) != 1)
			break;
		bytes += (long long)n;
	}
	fclose(f);
	free(buf);
	if (PQputCopyEnd(c, NULL) != 1 || finish(c))
		return fail(c, "COPY FROM failed");
	printf("bytes %lld\n", bytes);
	PQfinish(c);
	return 0;
}

int main(int argc, char **argv)
{
	PGconn *c;

	if (argc < 3 || (strcmp(argv[1], "out") != 0 && strcmp(argv[1], "in") != 0) ||
	    (strcmp(argv[1], "in") == 0 && argc != 4)) {
		fputs("usage: copy_floor out SQL | copy_floor in SQL FILE\n", stderr);
		return 2;
	}
	c = PQconnectdb("");
	if (PQstatus(c) != CONNECTION_OK)
		return fail(c, "cannot connect");
	if (strcmp(argv[1], "out") == 0)
		return copy_out(c, argv[2]);
	return copy_in(c, argv[2], argv[3]);
}
