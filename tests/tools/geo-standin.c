/* geo-standin: a stand-in for the workivate/geoip-api geolocation service
 * (API.md §4), for the test stack and `scripts/cairn-dev up` (offline).
 *
 *   geo-standin [--port N] [--pidfile FILE] [--limit R] [--stall-pct P]
 *               [--stall-ms MS] [--seed S]
 *
 * A single-threaded HTTP/1.1 server on 127.0.0.1 (plain sockets and poll,
 * keep-alive, many connections at once: a stalled answer never delays
 * another request).
 *
 *   GET /info?ip=A    the provider: 200 {"city", "country": {"iso_code",
 *                     "name"}, "location": {"accuracy_radius", "latitude",
 *                     "longitude", "metro_code", "time_zone"}} derived from
 *                     the address bytes (any public address has data);
 *                     400 {"error"} for a malformed address; 404 {"error"}
 *                     for private/loopback addresses and for 7.0.0.0/8 (a
 *                     public block this table "does not know", for tests).
 *                     More than --limit (default 5) answers in the last
 *                     second -> 429 {"period_remaining": s} + Retry-After.
 *                     --stall-pct (default 10) percent of answers wait
 *                     --stall-ms (default 5000) first; which ones is decided
 *                     by a PRNG seeded with --seed (default 1), one draw per
 *                     /info request, so a run is repeatable.
 *   GET /lookup?ip=A  the same data, not counted, never limited or stalled
 *                     (tests use it to know what to expect).
 *   GET /stats        {"count", "max_in_any_second", "per_ip": {addr: n},
 *                     "too_many", "stalled", "failed", "served", "in_flight",
 *                     "mode", "limit", "stall_pct", "stall_ms", "first_s",
 *                     "last_s"}: what /info
 *                     received since the start or the last /reset
 *                     (max_in_any_second: the most /info requests that
 *                     arrived within any window of one second; first_s and
 *                     last_s: when the first and the last of them arrived,
 *                     in seconds since the stand-in started).
 *   GET /reset        clears the statistics.
 *   GET /control?mode=ok|fail|down[&for=S]&limit=R&stall_pct=P&stall_ms=MS&seed=S
 *                     fail: /info answers 500; down: the answer to this
 *                     request is sent, then the listener and every other
 *                     connection are closed (connections are refused) until
 *                     `for` seconds have passed or SIGUSR1 arrives.
 *   GET /health       200 {"status":"ok"}.
 *
 * SIGTERM/SIGINT stop it; SIGUSR1 brings it back up in mode ok. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 2048
#define IN_MAX 16384

enum mode { MODE_OK, MODE_FAIL, MODE_DOWN };

struct conn {
	int fd;
	char in[IN_MAX];
	size_t inlen;
	char *out;
	size_t outlen, outpos, outcap;
	uint64_t release_at;   /* a stalled answer goes out at this time */
	bool stalled;
	bool close_after;
	bool down_after;       /* /control?mode=down: go down once written */
};

struct counter {
	char *key;
	uint64_t n;
};

static struct {
	int port;
	int listen_fd;
	uint64_t started;
	enum mode mode;
	uint64_t down_until;    /* 0: until SIGUSR1 */
	long limit, stall_pct, stall_ms;
	uint64_t seed, rng;
	struct conn *conns[MAX_CONNS];
	/* statistics */
	uint64_t *arrivals;     /* /info arrival times, in order */
	size_t narrivals, arrivals_cap;
	uint64_t served[4096];  /* ring of recent non-429 answer times */
	size_t served_head, served_n;
	uint64_t too_many, stalled, failed, nserved;
	struct counter *per_ip;
	size_t per_ip_cap, per_ip_n;
} S;

static volatile sig_atomic_t stopping, wake_up;

static void
on_stop(int sig)
{
	(void)sig;
	stopping = 1;
}

static void
on_usr1(int sig)
{
	(void)sig;
	wake_up = 1;
}

static uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void *
xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (q == NULL) {
		fprintf(stderr, "geo-standin: out of memory\n");
		exit(1);
	}
	return q;
}

static uint64_t
rng_next(void)
{
	S.rng ^= S.rng >> 12;
	S.rng ^= S.rng << 25;
	S.rng ^= S.rng >> 27;
	return S.rng * 2685821657736338717ull;
}

/* ------------------------------------------------------------ output */

struct sb {
	char *p;
	size_t len, cap;
};

static void
sb_printf(struct sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
sb_printf(struct sb *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if (b->p != NULL && b->len + (size_t)n < b->cap) {
			b->len += (size_t)n;
			return;
		}
		b->cap = (b->cap + (size_t)n + 1) * 2;
		b->p = xrealloc(b->p, b->cap);
	}
}

/* Queues a whole response on c. */
static void
respond(struct conn *c, int status, const char *extra_headers, const char *body)
{
	const char *reason = status == 200 ? "OK" : status == 400 ? "Bad Request"
			   : status == 404 ? "Not Found" : status == 429 ? "Too Many Requests"
			   : status == 500 ? "Internal Server Error" : "Error";
	struct sb b = {0};
	size_t blen = strlen(body);

	sb_printf(&b, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
		      "Content-Length: %zu\r\n%s%s\r\n%s",
		  status, reason, blen, extra_headers ? extra_headers : "",
		  c->close_after ? "Connection: close\r\n" : "", body);
	free(c->out);
	c->out = b.p;
	c->outlen = b.len;
	c->outpos = 0;
}

/* ---------------------------------------------------------- addresses */

struct place {
	const char *code, *name, *tz;
	double lat, lon;
	const char *cities[4];
};

static const struct place places[] = {
	{"US", "United States", "America/Chicago", 38.0, -97.0, {"Chicago", "Denver", "Seattle", "Boston"}},
	{"FR", "France", "Europe/Paris", 46.2, 2.2, {"Paris", "Lyon", "Marseille", "Toulouse"}},
	{"DE", "Germany", "Europe/Berlin", 51.1, 10.4, {"Berlin", "Hamburg", "München", "Köln"}},
	{"GB", "United Kingdom", "Europe/London", 54.0, -2.0, {"London", "Manchester", "Leeds", "Glasgow"}},
	{"JP", "Japan", "Asia/Tokyo", 36.2, 138.2, {"Tokyo", "Osaka", "Nagoya", "Sapporo"}},
	{"BR", "Brazil", "America/Sao_Paulo", -14.2, -51.9, {"São Paulo", "Rio de Janeiro", "Brasília", "Salvador"}},
	{"IN", "India", "Asia/Kolkata", 20.6, 79.0, {"Mumbai", "Delhi", "Bengaluru", "Chennai"}},
	{"AU", "Australia", "Australia/Sydney", -25.3, 133.8, {"Sydney", "Melbourne", "Brisbane", "Perth"}},
	{"CA", "Canada", "America/Toronto", 56.1, -106.3, {"Toronto", "Montréal", "Vancouver", "Calgary"}},
	{"ZA", "South Africa", "Africa/Johannesburg", -30.6, 22.9, {"Johannesburg", "Cape Town", "Durban", "Pretoria"}},
	{"NL", "Netherlands", "Europe/Amsterdam", 52.1, 5.3, {"Amsterdam", "Rotterdam", "Utrecht", "Eindhoven"}},
	{"SE", "Sweden", "Europe/Stockholm", 60.1, 18.6, {"Stockholm", "Göteborg", "Malmö", "Uppsala"}},
	{"MX", "Mexico", "America/Mexico_City", 23.6, -102.6, {"Ciudad de México", "Guadalajara", "Monterrey", "Puebla"}},
	{"NG", "Nigeria", "Africa/Lagos", 9.1, 8.7, {"Lagos", "Abuja", "Kano", "Ibadan"}},
	{"KR", "South Korea", "Asia/Seoul", 35.9, 127.8, {"Seoul", "Busan", "Incheon", "Daegu"}},
	{"AR", "Argentina", "America/Argentina/Buenos_Aires", -38.4, -63.6, {"Buenos Aires", "Córdoba", "Rosario", "Mendoza"}},
};

struct addr {
	unsigned char b[16];
	int family;
	char text[INET6_ADDRSTRLEN];
};

static bool
parse_addr(const char *s, struct addr *a)
{
	memset(a, 0, sizeof *a);
	if (inet_pton(AF_INET, s, a->b) == 1)
		a->family = AF_INET;
	else if (inet_pton(AF_INET6, s, a->b) == 1)
		a->family = AF_INET6;
	else
		return false;
	inet_ntop(a->family, a->b, a->text, sizeof a->text);
	return true;
}

/* Addresses this table has no data for. */
static bool
unknown_addr(const struct addr *a)
{
	const unsigned char *b = a->b;

	if (a->family == AF_INET)
		return b[0] == 7 || b[0] == 10 || b[0] == 127 || b[0] == 0 ||
		       (b[0] == 192 && b[1] == 168) || (b[0] == 172 && (b[1] & 0xF0) == 16) ||
		       (b[0] == 169 && b[1] == 254) || b[0] >= 224;
	static const unsigned char loop[16] = {[15] = 1};

	return memcmp(b, loop, 16) == 0 || (b[0] & 0xFE) == 0xFC || b[0] == 0xFE || b[0] == 0xFF;
}

static void
place_json(const struct addr *a, struct sb *out)
{
	uint64_t h = 1469598103934665603ull;
	size_t n = a->family == AF_INET ? 4 : 16;

	for (size_t i = 0; i < n; i++) {
		h ^= a->b[i];
		h *= 1099511628211ull;
	}
	const struct place *p = &places[h % (sizeof places / sizeof places[0])];
	const char *city = p->cities[(h >> 8) % 4];
	double lat = p->lat + (double)((h >> 16) % 2001) / 1000.0 - 1.0;
	double lon = p->lon + (double)((h >> 28) % 2001) / 1000.0 - 1.0;
	long radius = 5 + (long)((h >> 40) % 500);
	long metro = strcmp(p->code, "US") == 0 ? 500 + (long)((h >> 50) % 300) : 0;

	sb_printf(out,
		  "{\"city\":\"%s\",\"country\":{\"iso_code\":\"%s\",\"name\":\"%s\"},"
		  "\"location\":{\"accuracy_radius\":%ld,\"latitude\":%.4f,\"longitude\":%.4f,"
		  "\"metro_code\":%ld,\"time_zone\":\"%s\"}}",
		  city, p->code, p->name, radius, lat, lon, metro, p->tz);
}

/* ---------------------------------------------------------- statistics */

static void
count_ip(const char *key)
{
	if (S.per_ip_n * 2 >= S.per_ip_cap) {
		size_t cap = S.per_ip_cap ? S.per_ip_cap * 2 : 256;
		struct counter *t = calloc(cap, sizeof *t);

		if (t == NULL)
			exit(1);
		for (size_t i = 0; i < S.per_ip_cap; i++) {
			if (S.per_ip[i].key == NULL)
				continue;
			uint64_t h = 1469598103934665603ull;

			for (const char *p = S.per_ip[i].key; *p; p++)
				h = (h ^ (unsigned char)*p) * 1099511628211ull;
			size_t j = h % cap;

			while (t[j].key != NULL)
				j = (j + 1) % cap;
			t[j] = S.per_ip[i];
		}
		free(S.per_ip);
		S.per_ip = t;
		S.per_ip_cap = cap;
	}
	uint64_t h = 1469598103934665603ull;

	for (const char *p = key; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	size_t j = h % S.per_ip_cap;

	while (S.per_ip[j].key != NULL && strcmp(S.per_ip[j].key, key) != 0)
		j = (j + 1) % S.per_ip_cap;
	if (S.per_ip[j].key == NULL) {
		S.per_ip[j].key = strdup(key);
		S.per_ip_n++;
	}
	S.per_ip[j].n++;
}

static void
reset_stats(void)
{
	for (size_t i = 0; i < S.per_ip_cap; i++)
		free(S.per_ip[i].key);
	free(S.per_ip);
	S.per_ip = NULL;
	S.per_ip_cap = S.per_ip_n = 0;
	S.narrivals = 0;
	S.served_n = S.served_head = 0;
	S.too_many = S.stalled = S.failed = S.nserved = 0;
}

static size_t
max_in_any_second(void)
{
	size_t best = 0, i = 0;

	for (size_t j = 0; j < S.narrivals; j++) {
		while (S.arrivals[j] - S.arrivals[i] >= 1000000u)
			i++;
		if (j - i + 1 > best)
			best = j - i + 1;
	}
	return best;
}

/* Answers given in the last second (not counting 429s); *oldest gets the
 * time of the oldest of them. */
static size_t
served_in_window(uint64_t now, uint64_t *oldest)
{
	size_t cap = sizeof S.served / sizeof S.served[0];

	while (S.served_n > 0) {
		size_t tail = (S.served_head + cap - S.served_n) % cap;

		if (now - S.served[tail] < 1000000u) {
			*oldest = S.served[tail];
			break;
		}
		S.served_n--;
	}
	return S.served_n;
}

static void
note_served(uint64_t now)
{
	size_t cap = sizeof S.served / sizeof S.served[0];

	S.served[S.served_head] = now;
	S.served_head = (S.served_head + 1) % cap;
	if (S.served_n < cap)
		S.served_n++;
	S.nserved++;
}

/* ------------------------------------------------------------ requests */

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The decoded value of query parameter name, in out; false if absent. */
static bool
query_param(const char *q, const char *name, char *out, size_t cap)
{
	size_t nl = strlen(name);

	while (q != NULL && *q) {
		const char *amp = strchr(q, '&');
		size_t len = amp ? (size_t)(amp - q) : strlen(q);

		if (len > nl && strncmp(q, name, nl) == 0 && q[nl] == '=') {
			size_t o = 0;

			for (size_t i = nl + 1; i < len && o + 1 < cap; i++) {
				if (q[i] == '%' && i + 2 < len && hexval(q[i + 1]) >= 0 &&
				    hexval(q[i + 2]) >= 0) {
					out[o++] = (char)(hexval(q[i + 1]) << 4 | hexval(q[i + 2]));
					i += 2;
				} else {
					out[o++] = q[i] == '+' ? ' ' : q[i];
				}
			}
			out[o] = '\0';
			return true;
		}
		q = amp ? amp + 1 : NULL;
	}
	return false;
}

static void
info(struct conn *c, const char *query, bool counted)
{
	char ip[128];
	struct addr a;
	struct sb body = {0};
	uint64_t now = now_us(), oldest = now;
	int status = 200;
	char headers[64] = "";

	if (counted) {
		if (S.narrivals == S.arrivals_cap) {
			S.arrivals_cap = S.arrivals_cap ? S.arrivals_cap * 2 : 1024;
			S.arrivals = xrealloc(S.arrivals, S.arrivals_cap * sizeof *S.arrivals);
		}
		S.arrivals[S.narrivals++] = now;
	}
	if (!query_param(query, "ip", ip, sizeof ip) || !parse_addr(ip, &a)) {
		if (counted)
			count_ip(query_param(query, "ip", ip, sizeof ip) ? ip : "(none)");
		status = 400;
		sb_printf(&body, "{\"error\":\"bad address\"}");
		goto answer;
	}
	if (counted)
		count_ip(a.text);
	if (counted && S.mode == MODE_FAIL) {
		S.failed++;
		respond(c, 500, NULL, "{\"error\":\"internal error (stand-in told to fail)\"}");
		return;
	}
	if (counted && (long)served_in_window(now, &oldest) >= S.limit) {
		double remaining = (double)(oldest + 1000000u - now) / 1e6;

		S.too_many++;
		snprintf(headers, sizeof headers, "Retry-After: %ld\r\n", (long)remaining + 1);
		sb_printf(&body, "{\"period_remaining\":%.3f}", remaining);
		respond(c, 429, headers, body.p);
		free(body.p);
		return;
	}
	if (unknown_addr(&a)) {
		status = 404;
		sb_printf(&body, "{\"error\":\"not found\"}");
	} else {
		place_json(&a, &body);
	}
answer:
	respond(c, status, NULL, body.p);
	free(body.p);
	if (!counted)
		return;
	note_served(now);
	if ((long)(rng_next() % 100) < S.stall_pct) {
		S.stalled++;
		c->stalled = true;
		c->release_at = now + (uint64_t)S.stall_ms * 1000u;
	}
}

static void
stats(struct conn *c)
{
	struct sb b = {0};
	size_t in_flight = 0;
	bool first = true;

	for (int i = 0; i < MAX_CONNS; i++)
		if (S.conns[i] != NULL && S.conns[i]->stalled)
			in_flight++;
	sb_printf(&b, "{\"count\":%zu,\"max_in_any_second\":%zu,\"too_many\":%llu,"
		      "\"stalled\":%llu,\"failed\":%llu,\"served\":%llu,\"in_flight\":%zu,"
		      "\"mode\":\"%s\",\"limit\":%ld,\"stall_pct\":%ld,\"stall_ms\":%ld,\"per_ip\":{",
		  S.narrivals, max_in_any_second(), (unsigned long long)S.too_many,
		  (unsigned long long)S.stalled, (unsigned long long)S.failed,
		  (unsigned long long)S.nserved, in_flight,
		  S.mode == MODE_OK ? "ok" : S.mode == MODE_FAIL ? "fail" : "down", S.limit,
		  S.stall_pct, S.stall_ms);
	for (size_t i = 0; i < S.per_ip_cap; i++) {
		if (S.per_ip[i].key == NULL)
			continue;
		/* keys are canonical addresses or short bad input: escape " and \ */
		sb_printf(&b, "%s\"", first ? "" : ",");
		for (const char *p = S.per_ip[i].key; *p; p++) {
			if (*p == '"' || *p == '\\')
				sb_printf(&b, "\\%c", *p);
			else if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7F)
				sb_printf(&b, "\\u%04x", (unsigned char)*p);
			else
				sb_printf(&b, "%c", *p);
		}
		sb_printf(&b, "\":%llu", (unsigned long long)S.per_ip[i].n);
		first = false;
	}
	sb_printf(&b, "},\"first_s\":%.6f,\"last_s\":%.6f}",
		  S.narrivals ? (double)(S.arrivals[0] - S.started) / 1e6 : 0.0,
		  S.narrivals ? (double)(S.arrivals[S.narrivals - 1] - S.started) / 1e6 : 0.0);
	respond(c, 200, NULL, b.p);
	free(b.p);
}

/* A decimal integer from min to max: the whole of v, nothing else. */
static bool
number_parse(const char *v, long min, long max, long *out)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (end == v || *end != '\0' || errno != 0 || n < min || n > max)
		return false;
	*out = n;
	return true;
}

static bool
number_param(const char *q, const char *name, long min, long max, long *out)
{
	char v[32];

	if (!query_param(q, name, v, sizeof v))
		return true;
	return number_parse(v, min, max, out);
}

static void
control(struct conn *c, const char *q)
{
	char mode[16];
	long seed = -1, down_for = 0;
	struct sb b = {0};

	if (!number_param(q, "limit", 1, 1000000, &S.limit) ||
	    !number_param(q, "stall_pct", 0, 100, &S.stall_pct) ||
	    !number_param(q, "stall_ms", 0, 600000, &S.stall_ms) ||
	    !number_param(q, "seed", 0, 1L << 30, &seed) ||
	    !number_param(q, "for", 0, 86400, &down_for)) {
		respond(c, 400, NULL, "{\"error\":\"bad parameter\"}");
		return;
	}
	if (seed >= 0)
		S.rng = (uint64_t)seed * 2654435761u + 88172645463325252ull;
	if (query_param(q, "mode", mode, sizeof mode)) {
		if (strcmp(mode, "ok") == 0) {
			S.mode = MODE_OK;
		} else if (strcmp(mode, "fail") == 0) {
			S.mode = MODE_FAIL;
		} else if (strcmp(mode, "down") == 0) {
			c->down_after = true;
			c->close_after = true;
			S.down_until = down_for > 0 ? now_us() + (uint64_t)down_for * 1000000u : 0;
		} else {
			respond(c, 400, NULL, "{\"error\":\"mode must be ok, fail or down\"}");
			return;
		}
	}
	sb_printf(&b, "{\"mode\":\"%s\",\"limit\":%ld,\"stall_pct\":%ld,\"stall_ms\":%ld}",
		  c->down_after ? "down" : S.mode == MODE_FAIL ? "fail" : "ok", S.limit,
		  S.stall_pct, S.stall_ms);
	respond(c, 200, NULL, b.p);
	free(b.p);
}

/* Handles the request at the head of c->in, if complete. */
static void
handle(struct conn *c)
{
	char *end = memmem(c->in, c->inlen, "\r\n\r\n", 4);
	char method[16], target[8192], version[16];
	size_t head, body = 0;

	if (end == NULL) {
		if (c->inlen == IN_MAX) {
			c->close_after = true;
			respond(c, 400, NULL, "{\"error\":\"request head too large\"}");
		}
		return;
	}
	head = (size_t)(end - c->in) + 4;
	*end = '\0';
	/* Content-Length and Connection */
	for (char *h = strstr(c->in, "\r\n"); h != NULL; h = strstr(h + 2, "\r\n")) {
		if (strncasecmp(h + 2, "Content-Length:", 15) == 0)
			body = (size_t)strtoul(h + 17, NULL, 10);
		else if (strncasecmp(h + 2, "Connection:", 11) == 0 && strcasestr(h + 13, "close") != NULL)
			c->close_after = true;
	}
	if (body > IN_MAX || head + body > IN_MAX) {
		c->close_after = true;
		respond(c, 400, NULL, "{\"error\":\"body too large\"}");
		return;
	}
	if (c->inlen < head + body) {
		*end = '\r';
		return;
	}
	if (sscanf(c->in, "%15s %8191s %15s", method, target, version) != 3) {
		c->close_after = true;
		respond(c, 400, NULL, "{\"error\":\"bad request line\"}");
	} else {
		char *q = strchr(target, '?');

		if (q != NULL)
			*q++ = '\0';
		if (strcmp(version, "HTTP/1.0") == 0)
			c->close_after = true;
		if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
			respond(c, 404, NULL, "{\"error\":\"no such route\"}");
		else if (strcmp(target, "/info") == 0)
			info(c, q, true);
		else if (strcmp(target, "/lookup") == 0)
			info(c, q, false);
		else if (strcmp(target, "/stats") == 0)
			stats(c);
		else if (strcmp(target, "/reset") == 0) {
			reset_stats();
			respond(c, 200, NULL, "{\"reset\":true}");
		} else if (strcmp(target, "/control") == 0)
			control(c, q);
		else if (strcmp(target, "/health") == 0)
			respond(c, 200, NULL, "{\"status\":\"ok\"}");
		else
			respond(c, 404, NULL, "{\"error\":\"no such route\"}");
	}
	memmove(c->in, c->in + head + body, c->inlen - head - body);
	c->inlen -= head + body;
}

/* ------------------------------------------------------------- sockets */

static int
open_listener(void)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)S.port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 512) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void
conn_close(int i)
{
	struct conn *c = S.conns[i];

	close(c->fd);
	free(c->out);
	free(c);
	S.conns[i] = NULL;
}

static void
go_down(int keep)
{
	if (S.listen_fd >= 0)
		close(S.listen_fd);
	S.listen_fd = -1;
	S.mode = MODE_DOWN;
	for (int i = 0; i < MAX_CONNS; i++)
		if (S.conns[i] != NULL && i != keep)
			conn_close(i);
	fprintf(stderr, "geo-standin: down\n");
}

static void
come_up(void)
{
	for (int tries = 0; tries < 50 && S.listen_fd < 0; tries++) {
		S.listen_fd = open_listener();
		if (S.listen_fd < 0)
			usleep(100000);
	}
	if (S.listen_fd < 0) {
		fprintf(stderr, "geo-standin: cannot listen on port %d again: %s\n", S.port,
			strerror(errno));
		exit(1);
	}
	S.mode = MODE_OK;
	S.down_until = 0;
	fprintf(stderr, "geo-standin: up\n");
}

static void
accept_all(void)
{
	for (;;) {
		int fd = accept4(S.listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), one = 1, i;

		if (fd < 0)
			return;
		for (i = 0; i < MAX_CONNS && S.conns[i] != NULL; i++)
			;
		if (i == MAX_CONNS) {
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		S.conns[i] = calloc(1, sizeof(struct conn));
		if (S.conns[i] == NULL)
			exit(1);
		S.conns[i]->fd = fd;
	}
}

/* Reads, handles and writes what c allows now.  false: close it. */
static bool
service(struct conn *c, short revents, uint64_t now)
{
	if (c->stalled && now >= c->release_at)
		c->stalled = false;
	if ((revents & POLLIN) && c->out == NULL && c->inlen < IN_MAX) {
		ssize_t n = read(c->fd, c->in + c->inlen, IN_MAX - c->inlen);

		if (n == 0)
			return false;
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return false;
		if (n > 0)
			c->inlen += (size_t)n;
	}
	if (revents & (POLLERR | POLLHUP | POLLNVAL))
		return false;
	if (c->out == NULL && c->inlen > 0)
		handle(c);
	while (c->out != NULL && !c->stalled && c->outpos < c->outlen) {
		ssize_t n = write(c->fd, c->out + c->outpos, c->outlen - c->outpos);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			return false;
		}
		c->outpos += (size_t)n;
	}
	if (c->out != NULL && c->outpos == c->outlen) {
		free(c->out);
		c->out = NULL;
		if (c->close_after)
			return false;
		if (c->inlen > 0)
			return service(c, 0, now);
	}
	return true;
}

int
main(int argc, char **argv)
{
	const char *pidfile = NULL;
	struct sigaction sa;

	S.port = 8081;
	S.limit = 5;
	S.stall_pct = 10;
	S.stall_ms = 5000;
	S.seed = 1;
	for (int i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		long port = 0, seed = 0;
		bool ok = v != NULL;

		if (ok && strcmp(argv[i], "--port") == 0) {
			ok = number_parse(v, 1, 65535, &port);
			S.port = (int)port;
		} else if (ok && strcmp(argv[i], "--pidfile") == 0) {
			pidfile = v;
		} else if (ok && strcmp(argv[i], "--limit") == 0) {
			ok = number_parse(v, 1, 1000000, &S.limit);
		} else if (ok && strcmp(argv[i], "--stall-pct") == 0) {
			ok = number_parse(v, 0, 100, &S.stall_pct);
		} else if (ok && strcmp(argv[i], "--stall-ms") == 0) {
			ok = number_parse(v, 0, 600000, &S.stall_ms);
		} else if (ok && strcmp(argv[i], "--seed") == 0) {
			ok = number_parse(v, 0, 1L << 30, &seed);
			S.seed = (uint64_t)seed;
		} else {
			ok = false;
		}
		if (!ok) {
			fprintf(stderr, "usage: geo-standin [--port N] [--pidfile FILE] [--limit R] "
					"[--stall-pct P] [--stall-ms MS] [--seed S]\n");
			return 2;
		}
		i++;
	}
	S.rng = S.seed * 2654435761u + 88172645463325252ull;
	S.started = now_us();
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	S.listen_fd = open_listener();
	if (S.listen_fd < 0) {
		fprintf(stderr, "geo-standin: cannot listen on 127.0.0.1:%d: %s\n", S.port,
			strerror(errno));
		return 1;
	}
	if (pidfile != NULL) {
		FILE *f = fopen(pidfile, "w");

		if (f == NULL) {
			fprintf(stderr, "geo-standin: cannot write %s\n", pidfile);
			return 1;
		}
		fprintf(f, "%ld\n", (long)getpid());
		fclose(f);
	}
	fprintf(stderr, "geo-standin: listening on 127.0.0.1:%d (limit %ld/s, %ld%% stalled %ld ms)\n",
		S.port, S.limit, S.stall_pct, S.stall_ms);
	while (!stopping) {
		struct pollfd pfd[MAX_CONNS + 1];
		int idx[MAX_CONNS + 1], n = 0, timeout = 1000;
		uint64_t now = now_us();

		if (wake_up || (S.mode == MODE_DOWN && S.down_until != 0 && now >= S.down_until)) {
			wake_up = 0;
			if (S.listen_fd < 0)
				come_up();
			S.mode = MODE_OK;
		}
		if (S.listen_fd >= 0) {
			pfd[n].fd = S.listen_fd;
			pfd[n].events = POLLIN;
			idx[n++] = -1;
		}
		for (int i = 0; i < MAX_CONNS; i++) {
			struct conn *c = S.conns[i];

			if (c == NULL)
				continue;
			pfd[n].fd = c->fd;
			pfd[n].events = (short)((c->out == NULL ? POLLIN : 0) |
						(c->out != NULL && !c->stalled ? POLLOUT : 0));
			idx[n++] = i;
			if (c->stalled) {
				int64_t ms = ((int64_t)c->release_at - (int64_t)now + 999) / 1000;

				if (ms < timeout)
					timeout = ms < 0 ? 0 : (int)ms;
			}
		}
		if (S.mode == MODE_DOWN && S.down_until != 0) {
			int64_t ms = ((int64_t)S.down_until - (int64_t)now + 999) / 1000;

			if (ms < timeout)
				timeout = ms < 0 ? 0 : (int)ms;
		}
		if (poll(pfd, (nfds_t)n, timeout) < 0 && errno != EINTR)
			break;
		now = now_us();
		for (int k = 0; k < n; k++) {
			if (idx[k] < 0) {
				if (pfd[k].revents & POLLIN)
					accept_all();
				continue;
			}
			struct conn *c = S.conns[idx[k]];

			if (c == NULL)
				continue;
			if (!service(c, pfd[k].revents, now)) {
				bool down = c->down_after;

				conn_close(idx[k]);
				if (down)
					go_down(-1);
			}
		}
		/* stalled answers whose time has come (no poll event for them) */
		for (int i = 0; i < MAX_CONNS; i++) {
			struct conn *c = S.conns[i];

			if (c != NULL && c->stalled && now >= c->release_at && !service(c, 0, now))
				conn_close(i);
		}
	}
	if (pidfile != NULL)
		unlink(pidfile);
	return 0;
}
