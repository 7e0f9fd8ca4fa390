/*
 * replay.c -- a main() for a fuzz target without libFuzzer: feeds it every
 * file named on the command line, and every regular file in every
 * directory named (sorted by name), so ctest replays the seeds and the kept
 * regression inputs in every build, with any compiler.
 *
 * usage: fuzz_replay_TARGET PATH...   exit 0, or 1 when a path cannot be
 * read or no input was found (a bug in the inputs aborts instead).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

/* Feeds the file at path to the target. Returns 0, or -1 if unreadable. */
static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	unsigned char *data = NULL;
	struct stat st;
	size_t size, got;

	if (f == NULL || fstat(fileno(f), &st) != 0) {
		fprintf(stderr, "replay: cannot read %s\n", path);
		if (f)
			fclose(f);
		return -1;
	}
	size = (size_t)st.st_size;
	/* exactly size bytes (at least 1 for malloc): ASan sees any overread */
	data = malloc(size ? size : 1);
	if (data == NULL) {
		fclose(f);
		return -1;
	}
	got = fread(data, 1, size, f);
	fclose(f);
	if (got != size) {
		fprintf(stderr, "replay: short read of %s\n", path);
		free(data);
		return -1;
	}
	LLVMFuzzerTestOneInput(data, size);
	free(data);
	return 0;
}

static int skip_entry(const struct dirent *d)
{
	return d->d_name[0] != '.'; /* not ".", "..", ".gitkeep" */
}

int main(int argc, char **argv)
{
	size_t inputs = 0;
	int i, failed = 0;

	for (i = 1; i < argc; i++) {
		struct stat st;

		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "replay: cannot read %s\n", argv[i]);
			failed = 1;
		} else if (S_ISDIR(st.st_mode)) {
			struct dirent **names = NULL;
			int n = scandir(argv[i], &names, skip_entry, alphasort), k;

			if (n < 0) {
				fprintf(stderr, "replay: cannot list %s\n", argv[i]);
				failed = 1;
				continue;
			}
			for (k = 0; k < n; k++) {
				size_t len = strlen(argv[i]) + strlen(names[k]->d_name) + 2;
				char *path = malloc(len);
				struct stat fst;

				if (path == NULL)
					return 1;
				snprintf(path, len, "%s/%s", argv[i], names[k]->d_name);
				if (stat(path, &fst) == 0 && S_ISREG(fst.st_mode)) {
					if (replay_file(path) == 0)
						inputs++;
					else
						failed = 1;
				}
				free(path);
				free(names[k]);
			}
			free(names);
		} else if (replay_file(argv[i]) == 0) {
			inputs++;
		} else {
			failed = 1;
		}
	}
	printf("replayed %zu inputs\n", inputs);
	if (inputs == 0) {
		fprintf(stderr, "replay: no inputs found\n");
		return 1;
	}
	return failed;
}
