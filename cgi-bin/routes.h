/* routes: the one route table, joining the capabilities to the core. */
#ifndef CAIRN_ROUTES_H
#define CAIRN_ROUTES_H

#include <stddef.h>

#include "router.h"

extern const struct route routes_table[];
extern const size_t routes_count;

/* "METHOD /pattern" for each route, for the metrics labels. */
const char *const *routes_labels(void);
/* Declares the capabilities' metrics and start-up state (before fork). */
void routes_init(void);

#endif
