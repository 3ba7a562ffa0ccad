/* arena: the per-request memory pool.
 *
 * Everything a request allocates comes from its arena and is released at
 * once by arena_reset() after the response is written, so handlers never
 * free and error paths leak nothing.  Cleanups registered with
 * arena_on_reset() run (last registered first) at reset, for resources that
 * are not plain memory (json-c trees, for example). */
#ifndef CAIRN_ARENA_H
#define CAIRN_ARENA_H

#include <stdarg.h>
#include <stddef.h>

struct arena;

/* A new arena whose chunks are at least chunk_size bytes. Never NULL. */
struct arena *arena_new(size_t chunk_size);
/* Runs the cleanups and frees everything. NULL is fine. */
void arena_free(struct arena *a);
/* Runs the cleanups and forgets every allocation; keeps the first chunk. */
void arena_reset(struct arena *a);

/* Memory owned by the arena, aligned for any type; never NULL. */
void *arena_alloc(struct arena *a, size_t n);
void *arena_calloc(struct arena *a, size_t count, size_t size);
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_strdup(struct arena *a, const char *s);
char *arena_printf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* fn(data) runs at the next reset or free. */
void arena_on_reset(struct arena *a, void (*fn)(void *), void *data);

/* Bytes handed out since the last reset (for tests and metrics). */
size_t arena_used(const struct arena *a);

#endif
