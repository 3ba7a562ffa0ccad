/* job_table: cairn's periodic jobs, one table for cairn-worker, which runs
 * them when due, and `cairnctl job`, which lists them and runs one now. */
#ifndef CAIRN_JOB_TABLE_H
#define CAIRN_JOB_TABLE_H

#include <stddef.h>

#include "jobs.h"

extern const struct job job_table[];
extern const size_t job_table_count;

/* The job called name, or NULL. */
const struct job *job_table_find(const char *name);

#endif
