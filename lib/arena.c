#include "autoconfig.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "mem.h"

#define ARENA_ALIGN 16

struct arena_chunk {
	struct arena_chunk *next;
	size_t size;
	size_t used;
	_Alignas(ARENA_ALIGN) unsigned char data[];
};

struct arena_cleanup {
	struct arena_cleanup *next;
	void (*fn)(void *);
	void *data;
};

struct arena {
	struct arena_chunk *head; /* current chunk; the first one is kept */
	struct arena_chunk *first;
	struct arena_cleanup *cleanups;
	size_t chunk_size;
	size_t used;
};

static struct arena_chunk *
arena_chunk_new(size_t size)
{
	if (size > SIZE_MAX - sizeof(struct arena_chunk)) {
		fprintf(stderr, "cairn: arena allocation of %zu bytes overflows\n", size);
		abort();
	}
	struct arena_chunk *c = mem_alloc(sizeof *c + size);

	c->next = NULL;
	c->size = size;
	c->used = 0;
	return c;
}

struct arena *
arena_new(size_t chunk_size)
{
	struct arena *a = mem_calloc(1, sizeof *a);

	a->chunk_size = chunk_size < 1024 ? 1024 : chunk_size;
	a->first = a->head = arena_chunk_new(a->chunk_size);
	return a;
}

static void
arena_run_cleanups(struct arena *a)
{
	while (a->cleanups != NULL) {
		struct arena_cleanup *c = a->cleanups;

		a->cleanups = c->next;
		c->fn(c->data);
	}
}

void
arena_reset(struct arena *a)
{
	struct arena_chunk *c, *next;

	arena_run_cleanups(a);
	for (c = a->head; c != a->first; c = next) {
		next = c->next;
		mem_free(c);
	}
	a->head = a->first;
	a->first->used = 0;
	a->used = 0;
}

void
arena_free(struct arena *a)
{
	if (a == NULL)
		return;
	arena_reset(a);
	mem_free(a->first);
	mem_free(a);
}

void *
arena_alloc(struct arena *a, size_t n)
{
	struct arena_chunk *c = a->head;
	size_t need = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);

	if (need < n)
		need = n; /* overflow: let the chunk allocation fail loudly */
	if (c->size - c->used < need) {
		size_t size = need > a->chunk_size ? need : a->chunk_size;

		c = arena_chunk_new(size);
		c->next = a->head;
		a->head = c;
	}
	void *p = c->data + c->used;

	c->used += need;
	a->used += need;
	return p;
}

void *
arena_calloc(struct arena *a, size_t count, size_t size)
{
	if (size != 0 && count > SIZE_MAX / size)
		return arena_alloc(a, SIZE_MAX);
	void *p = arena_alloc(a, count * size);

	memset(p, 0, count * size);
	return p;
}

char *
arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p = arena_alloc(a, n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
arena_strdup(struct arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

char *
arena_printf(struct arena *a, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return arena_strdup(a, "");
	char *p = arena_alloc(a, (size_t)n + 1);

	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

void
arena_on_reset(struct arena *a, void (*fn)(void *), void *data)
{
	struct arena_cleanup *c = arena_alloc(a, sizeof *c);

	c->fn = fn;
	c->data = data;
	c->next = a->cleanups;
	a->cleanups = c;
}

size_t
arena_used(const struct arena *a)
{
	return a->used;
}
