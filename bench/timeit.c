/* SPDX-License-Identifier: MIT */
/*
 * timeit: run a program repeatedly and print how long each run took.
 *
 *     timeit [-n RUNS] [-w WARMUP] [-i INPUT] [-p] [-x] PROGRAM [ARG...]
 *
 * PROGRAM runs WARMUP times unmeasured (default 0), then RUNS times
 * (default 1), one after the other, with stdin from INPUT (default
 * /dev/null) and stdout to /dev/null, or with -p to a pipe that a child
 * process reads and throws away, like `| cat >/dev/null`.  stderr is
 * inherited.  For each measured run it prints one line:
 *
 *     SECONDS MAXRSS_KIB CPU_SECONDS
 *
 * the wall-clock time from the spawn to the exit (and, with -p, to the
 * reader's end), and from wait4() the program's peak resident set size and
 * the processor time it used (user + system; not the reader's).  With
 * -x, a run that exits with a nonzero status counts too (a refusal is a
 * result worth timing), and each line ends with that status:
 *
 *     SECONDS MAXRSS_KIB CPU_SECONDS EXIT_STATUS
 *
 * Exit status: 0, or 1 when a run failed (with a message on stderr).
 */

#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* Returns the monotonic clock in seconds. */
static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Returns the pid of a child that reads fd until its end, then exits;
 * it closes wfd, the pipe's other end.
 */
static pid_t
drainer(int fd, int wfd)
{
	static char sink[128 * 1024];
	pid_t pid;

	if ((pid = fork()) != 0)
		return pid;
	close(wfd);
	for (;;) {
		ssize_t n = read(fd, sink, sizeof(sink));

		if (n == 0 || (n < 0 && errno != EINTR))
			_exit(n == 0 ? 0 : 1);
	}
}

/*
 * Returns 0 after one run of argv, its wall time in *secs, its peak RSS
 * in *rss, its processor time in *cpu and its exit status (128+N for a
 * signal) in *status; -1 when it could not start, or did not exit with 0
 * unless any_status.
 */
static int
run(char **argv, const char *input, int piped, int any_status, double *secs,
    long *rss, double *cpu, int *status)
{
	posix_spawn_file_actions_t fa;
	struct rusage ru;
	pid_t pid, dpid = -1;
	int st, pfd[2] = { -1, -1 }, r;
	double t0;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, input, O_RDONLY, 0);
	if (piped) {
		if (pipe(pfd) < 0) {
			perror("timeit: pipe");
			return -1;
		}
		posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
		posix_spawn_file_actions_addclose(&fa, pfd[0]);
		posix_spawn_file_actions_addclose(&fa, pfd[1]);
	} else
		posix_spawn_file_actions_addopen(&fa, 1, "/dev/null",
		    O_WRONLY, 0);

	t0 = now();
	if (piped) {
		dpid = drainer(pfd[0], pfd[1]);
		if (dpid < 0) {
			perror("timeit: fork");
			return -1;
		}
	}
	r = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (piped) {
		close(pfd[0]);
		close(pfd[1]);
	}
	if (r != 0) {
		fprintf(stderr, "timeit: %s: %s\n", argv[0], strerror(r));
		if (dpid > 0)
			(void)waitpid(dpid, NULL, 0);
		return -1;
	}
	while (wait4(pid, &st, 0, &ru) < 0)
		if (errno != EINTR) {
			perror("timeit: wait4");
			return -1;
		}
	if (dpid > 0)
		while (waitpid(dpid, NULL, 0) < 0 && errno == EINTR)
			;
	*secs = now() - t0;
	*rss = ru.ru_maxrss;
	*cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
	*status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	if (!any_status && *status != 0) {
		fprintf(stderr, "timeit: %s: exit status %d\n", argv[0],
		    WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	const char *input = "/dev/null";
	long runs = 1, warmup = 0, i, rss;
	int piped = 0, any_status = 0, status, ch;
	double secs, cpu;

	while ((ch = getopt(argc, argv, "+n:w:i:px")) != -1) {
		switch (ch) {
		case 'n':
			runs = strtol(optarg, NULL, 10);
			break;
		case 'w':
			warmup = strtol(optarg, NULL, 10);
			break;
		case 'i':
			input = optarg;
			break;
		case 'p':
			piped = 1;
			break;
		case 'x':
			any_status = 1;
			break;
		default:
			goto usage;
		}
	}
	if (optind >= argc || runs < 1 || warmup < 0) {
usage:
		fprintf(stderr, "usage: timeit [-n RUNS] [-w WARMUP] "
		    "[-i INPUT] [-p] [-x] PROGRAM [ARG...]\n");
		return 1;
	}
	for (i = 0; i < warmup + runs; i++) {
		if (run(argv + optind, input, piped, any_status, &secs, &rss,
		    &cpu, &status) < 0)
			return 1;
		if (i >= warmup && any_status)
			printf("%.6f %ld %.6f %d\n", secs, rss, cpu, status);
		else if (i >= warmup)
			printf("%.6f %ld %.6f\n", secs, rss, cpu);
	}
	return fflush(stdout) != 0;
}
