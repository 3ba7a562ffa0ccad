/* clockshift: an LD_PRELOAD library for tests.  CLOCK_MONOTONIC (and its
 * _RAW and _COARSE variants) reads as many seconds behind the host's as
 * the file named by CLOCKSHIFT_FILE says (a decimal number, re-read at
 * every reading; no file, 0).  Every other clock is left alone.
 *
 * That is how a process sees a suspend of its host (a VM suspended and
 * resumed, a laptop's sleep): CLOCK_MONOTONIC stops while the host
 * sleeps, CLOCK_BOOTTIME and the wall clock, and the database's clock on
 * another host, go on.  A test stops a process (SIGSTOP), waits, writes
 * the seconds it waited into the file and lets it go on (SIGCONT).
 * libfaketime cannot do this: it moves every clock it fakes alike.
 *
 * Built by the test that uses it: cc -shared -fPIC -o clockshift.so
 * clockshift.c */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int64_t
lag_ns(void)
{
	const char *path = getenv("CLOCKSHIFT_FILE");
	char text[64];
	ssize_t n;
	int fd;

	if (path == NULL)
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, text, sizeof text - 1);
	close(fd);
	if (n <= 0)
		return 0;
	text[n] = '\0';
	return (int64_t)(strtod(text, NULL) * 1e9);
}

int
clock_gettime(clockid_t id, struct timespec *ts)
{
	int rc = (int)syscall(SYS_clock_gettime, id, ts);

	if (rc == 0 &&
	    (id == CLOCK_MONOTONIC || id == CLOCK_MONOTONIC_RAW || id == CLOCK_MONOTONIC_COARSE)) {
		int64_t t = (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec - lag_ns();

		ts->tv_sec = (time_t)(t / 1000000000);
		ts->tv_nsec = (long)(t % 1000000000);
	}
	return rc;
}
