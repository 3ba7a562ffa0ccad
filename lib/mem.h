/* mem: the one allocation wrapper.  Allocation failure is not recoverable
 * in a worker; these abort with a log line instead of returning NULL. */
#ifndef CAIRN_MEM_H
#define CAIRN_MEM_H

#include <stddef.h>

void *mem_alloc(size_t n);
void *mem_calloc(size_t count, size_t size);
void *mem_realloc(void *p, size_t n);
char *mem_strdup(const char *s);
void mem_free(void *p);

#endif
