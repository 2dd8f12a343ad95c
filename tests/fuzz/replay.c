/* replay: the normal build's driver for a fuzzing harness, without
 * libFuzzer: feeds every file of the given corpus directories (or files)
 * to LLVMFuzzerTestOneInput, in name order, so the seeds and every input
 * that once broke a harness run in CTest as regression tests. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
	FILE *fp = fopen(path, "rb");
	uint8_t *buf;
	long len;

	if (!fp || fseek(fp, 0, SEEK_END) != 0 || (len = ftell(fp)) < 0) {
		fprintf(stderr, "replay: cannot read %s\n", path);
		return -1;
	}
	rewind(fp);
	buf = malloc((size_t)len + 1);
	if (!buf || fread(buf, 1, (size_t)len, fp) != (size_t)len) {
		fprintf(stderr, "replay: cannot read %s\n", path);
		return -1;
	}
	fclose(fp);
	LLVMFuzzerTestOneInput(buf, (size_t)len);
	free(buf);
	return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int run_path(const char *path, unsigned *n)
{
	struct dirent **names;
	struct stat st;
	char file[4096];
	int k, rc = 0;

	if (stat(path, &st) != 0) {
		fprintf(stderr, "replay: no %s\n", path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		(*n)++;
		return run_file(path);
	}
	if ((k = scandir(path, &names, NULL, by_name)) < 0)
		return -1;
	for (int i = 0; i < k; i++) {
		if (names[i]->d_name[0] != '.') {
			snprintf(file, sizeof file, "%s/%s", path, names[i]->d_name);
			if (run_file(file) != 0)
				rc = -1;
			(*n)++;
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

int main(int argc, char **argv)
{
	unsigned n = 0;
	int rc = 0;

	for (int i = 1; i < argc; i++)
		if (run_path(argv[i], &n) != 0)
			rc = 1;
	printf("replayed %u inputs\n", n);
	return rc || n == 0;
}
