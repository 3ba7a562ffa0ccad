#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"

static void
mem_die(size_t n)
{
	fprintf(stderr, "cairn: out of memory allocating %zu bytes\n", n);
	abort();
}

void *
mem_alloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		mem_die(n);
	return p;
}

void *
mem_calloc(size_t count, size_t size)
{
	void *p = calloc(count ? count : 1, size ? size : 1);

	if (p == NULL)
		mem_die(count * size);
	return p;
}

void *
mem_realloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (q == NULL)
		mem_die(n);
	return q;
}

char *
mem_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = mem_alloc(n);

	memcpy(p, s, n);
	return p;
}

void
mem_free(void *p)
{
	free(p);
}
