#include "autoconfig.h"

#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>

#include "mem.h"
#include "metrics.h"

static const int status_codes[] = {200, 201, 202, 204, 304, 400, 401, 403, 404,
				   405, 409, 412, 413, 415, 422, 429, 500, 503};
#define NSTATUS (sizeof status_codes / sizeof status_codes[0] + 1) /* + other */

static const double bucket_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
				       0.1,    0.25,  0.5,    1,     2.5,  5,     10};
#define NBUCKETS (sizeof bucket_bounds / sizeof bucket_bounds[0] + 1) /* + Inf */

struct counter_decl {
	const char *name;
	const char *labels;
	const char *help;
	int gauge;
};

static struct counter_decl counters[METRICS_MAX_COUNTERS];
static int ncounters;

static const char *const *routes;
static size_t nroutes; /* + 1 row for unmatched requests */
static size_t nslots;
static size_t slot_words;
static int64_t *region;
static int64_t *mine;
static int builtin_inflight = -1, builtin_restarts = -1;

/* Slot layout, in int64 words:
 *   counters[METRICS_MAX_COUNTERS]
 *   requests[(nroutes + 1) * NSTATUS]
 *   buckets[(nroutes + 1) * NBUCKETS]   (not cumulative; summed at render)
 *   sum_us[nroutes + 1]                 */
#define OFF_REQUESTS METRICS_MAX_COUNTERS
#define OFF_BUCKETS (OFF_REQUESTS + (nroutes + 1) * NSTATUS)
#define OFF_SUM (OFF_BUCKETS + (nroutes + 1) * NBUCKETS)

int
metrics_counter(const char *name, const char *labels, const char *help, int gauge)
{
	if (ncounters == METRICS_MAX_COUNTERS || region != NULL)
		return -1;
	counters[ncounters] = (struct counter_decl){name, labels ? labels : "", help, gauge};
	return ncounters++;
}

int
metrics_init(size_t slots, const char *const *route_labels, size_t n)
{
	routes = route_labels;
	nroutes = n;
	nslots = slots ? slots : 1;
	if (builtin_inflight < 0) {
		builtin_inflight = metrics_counter("cairn_http_requests_in_flight", "",
						   "Requests being handled now.", 1);
		builtin_restarts = metrics_counter("cairn_worker_restarts_total", "",
						   "Pool workers re-forked after they died.", 0);
	}
	slot_words = OFF_SUM + nroutes + 1;
	size_t bytes = nslots * slot_words * sizeof(int64_t);

	region = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (region == MAP_FAILED) {
		region = NULL;
		return -1;
	}
	mine = region;
	return 0;
}

void
metrics_use_slot(size_t slot)
{
	if (region == NULL || slot >= nslots)
		return;
	mine = region + slot * slot_words;
	if (builtin_inflight >= 0)
		__atomic_store_n(&mine[builtin_inflight], 0, __ATOMIC_RELAXED);
}

void
metrics_add(int id, int64_t delta)
{
	if (mine == NULL || id < 0 || id >= ncounters)
		return;
	__atomic_fetch_add(&mine[id], delta, __ATOMIC_RELAXED);
}

static int64_t sum(size_t word);

int64_t
metrics_value(int id)
{
	if (region == NULL || id < 0 || id >= ncounters)
		return 0;
	return sum((size_t)id);
}

bool
metrics_shared(void)
{
	return region != NULL;
}

void
metrics_inflight(int delta)
{
	metrics_add(builtin_inflight, delta);
}

void
metrics_worker_restart(void)
{
	metrics_add(builtin_restarts, 1);
}

void
metrics_request(size_t route, int status, uint64_t usec)
{
	size_t s = NSTATUS - 1, b = NBUCKETS - 1;

	if (mine == NULL)
		return;
	if (route > nroutes)
		route = nroutes;
	for (size_t i = 0; i < NSTATUS - 1; i++)
		if (status_codes[i] == status) {
			s = i;
			break;
		}
	for (size_t i = 0; i < NBUCKETS - 1; i++)
		if ((double)usec <= bucket_bounds[i] * 1e6) {
			b = i;
			break;
		}
	__atomic_fetch_add(&mine[OFF_REQUESTS + route * NSTATUS + s], 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&mine[OFF_BUCKETS + route * NBUCKETS + b], 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&mine[OFF_SUM + route], (int64_t)usec, __ATOMIC_RELAXED);
}

static int64_t
sum(size_t word)
{
	int64_t total = 0;

	for (size_t i = 0; i < nslots; i++)
		total += __atomic_load_n(&region[i * slot_words + word], __ATOMIC_RELAXED);
	return total;
}

/* "GET /keys/:key" -> method="GET",route="/keys/:key" */
static int
route_labels(struct buf *out, size_t r)
{
	if (r >= nroutes)
		return buf_puts(out, "method=\"\",route=\"unmatched\"");
	const char *label = routes[r];
	const char *sp = strchr(label, ' ');

	if (sp == NULL)
		return buf_printf(out, "method=\"\",route=\"%s\"", label);
	return buf_printf(out, "method=\"%.*s\",route=\"%s\"", (int)(sp - label), label, sp + 1);
}

int
metrics_render(struct buf *out)
{
	int rc = 0;

	if (region == NULL)
		return 0;
	/* one block per name (the text format wants a metric's samples
	 * together), in the order the names were first registered */
	for (int i = 0; i < ncounters; i++) {
		bool first = true;

		for (int j = 0; j < i && first; j++)
			first = strcmp(counters[j].name, counters[i].name) != 0;
		if (!first)
			continue;
		rc |= buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", counters[i].name,
				 counters[i].help, counters[i].name,
				 counters[i].gauge ? "gauge" : "counter");
		for (int j = i; j < ncounters; j++) {
			if (strcmp(counters[j].name, counters[i].name) != 0)
				continue;
			if (counters[j].labels[0])
				rc |= buf_printf(out, "%s{%s} %lld\n", counters[j].name,
						 counters[j].labels, (long long)sum((size_t)j));
			else
				rc |= buf_printf(out, "%s %lld\n", counters[j].name,
						 (long long)sum((size_t)j));
		}
	}
	rc |= buf_puts(
		out,
		"# HELP cairn_http_requests_total Requests answered, by route, method and status.\n"
		"# TYPE cairn_http_requests_total counter\n");
	for (size_t r = 0; r <= nroutes; r++)
		for (size_t s = 0; s < NSTATUS; s++) {
			int64_t n = sum(OFF_REQUESTS + r * NSTATUS + s);

			if (n == 0)
				continue;
			rc |= buf_puts(out, "cairn_http_requests_total{");
			rc |= route_labels(out, r);
			if (s < NSTATUS - 1)
				rc |= buf_printf(out, ",status=\"%d\"} %lld\n", status_codes[s],
						 (long long)n);
			else
				rc |= buf_printf(out, ",status=\"other\"} %lld\n", (long long)n);
		}
	rc |= buf_puts(
		out,
		"# HELP cairn_http_request_duration_seconds Time from accept to the response written.\n"
		"# TYPE cairn_http_request_duration_seconds histogram\n");
	for (size_t r = 0; r <= nroutes; r++) {
		int64_t counts[NBUCKETS];
		int64_t cumulative = 0;
		int64_t total = 0;

		/* each bucket read once: the buckets, +Inf and _count all come
		 * from this one reading while other workers go on counting */
		for (size_t b = 0; b < NBUCKETS; b++) {
			counts[b] = sum(OFF_BUCKETS + r * NBUCKETS + b);
			total += counts[b];
		}
		if (total == 0)
			continue;
		for (size_t b = 0; b < NBUCKETS; b++) {
			cumulative += counts[b];
			rc |= buf_puts(out, "cairn_http_request_duration_seconds_bucket{");
			rc |= route_labels(out, r);
			if (b < NBUCKETS - 1)
				rc |= buf_printf(out, ",le=\"%g\"} %lld\n", bucket_bounds[b],
						 (long long)cumulative);
			else
				rc |= buf_printf(out, ",le=\"+Inf\"} %lld\n",
						 (long long)cumulative);
		}
		rc |= buf_puts(out, "cairn_http_request_duration_seconds_sum{");
		rc |= route_labels(out, r);
		rc |= buf_printf(out, "} %.6f\n", (double)sum(OFF_SUM + r) / 1e6);
		rc |= buf_puts(out, "cairn_http_request_duration_seconds_count{");
		rc |= route_labels(out, r);
		rc |= buf_printf(out, "} %lld\n", (long long)total);
	}
	return rc ? -1 : 0;
}
