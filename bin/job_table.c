#include "autoconfig.h"

#include <string.h>

#include "idem.h"
#include "job_table.h"
/* capability headers for their jobs */
#include "geo_store.h"
#include "kv.h"
#include "logs_store.h"
#include "tags.h"

const struct job job_table[] = {
	{"idempotency-expiry", 60, idem_expire_step},
	/* logs */
	{"logs-retention", 60, logs_retention_step},
	/* tags */
	{"tags-rollup", 300, tags_rollup_step},
	{"tags-purge", 60, tags_purge_step},
	/* events */
	/* geo */
	{"geo-cache-expiry", 300, geo_store_cache_expire_step},
	/* kv */
	{"kv-expiry", 5, kv_sweep_step},
	{"kv-count", 15, kv_count_step},
};

const size_t job_table_count = sizeof job_table / sizeof job_table[0];

const struct job *
job_table_find(const char *name)
{
	for (size_t i = 0; i < job_table_count; i++)
		if (strcmp(job_table[i].name, name) == 0)
			return &job_table[i];
	return NULL;
}
