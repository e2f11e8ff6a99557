/*
 * bench_once: nanoseconds per call of libonce.so, in-memory store, from 1 and from 4 threads:
 *   check-hit    once_check of a stored 40-byte response
 *   check-miss   once_check of a key with no record
 *   lookup-hit   once_lookup of the same response (extended API: status, headers, body)
 *   lock+unlock  once_lock then once_unlock of a key of the thread's own (per pair)
 *   new-thread   a thread that makes one once_check and exits: pthread_create, attach to the
 *                JVM, the call, detach at exit, pthread_join (per thread, threads one at a time);
 *                "(no call)" is the same loop with threads that do not call, the baseline
 * Each thread first runs WARMUP calls (so the JIT has compiled the Java side), then CALLS timed
 * calls. "ns/call (wall)" is the mean time a thread waits for one call (elapsed * threads /
 * calls), which includes waiting for a core when the machine is busy or has fewer cores than
 * threads; "ns/call (cpu)" is the calling threads' CPU time per call (CLOCK_THREAD_CPUTIME_ID),
 * which does not, and leaves out the JVM's own threads (JIT, GC); "calls/s" is the aggregate rate.
 *
 *   make -C once-native bench           (after make c-shared)
 *   target/c/bench_once [CALLS [NAME]]  (CALLS per thread and round, default 1000000; NAME
 *                                        one of the five, default all)
 * Every path is first run 1000000 times from the main thread, then each line is the best of
 * three rounds.
 */
#define _GNU_SOURCE
#include "once.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { CHECK_HIT, CHECK_MISS, LOOKUP_HIT, LOCK_UNLOCK };
static const char *const NAMES[] = {"check-hit", "check-miss", "lookup-hit", "lock+unlock"};

enum { ROUNDS = 3 };
static long calls = 1000000;
static long warmup = 100000;
static pthread_barrier_t start_line;

typedef struct worker {
  int kind;
  int index;
  long failures;
  double seconds;
  double cpu_seconds;
} worker;

static double clock_seconds(clockid_t clock) {
  struct timespec t;
  clock_gettime(clock, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static long run(int kind, const char *key, long n) {
  char buf[256];
  unsigned char body[256];
  char headers[256];
  long failures = 0;
  for (long i = 0; i < n; i++) {
    switch (kind) {
      case CHECK_HIT:
        failures += once_check("bench-hit", buf, sizeof buf) != 201;
        break;
      case CHECK_MISS:
        failures += once_check("bench-miss", buf, sizeof buf) != 0;
        break;
      case LOOKUP_HIT: {
        once_response r = {body, sizeof body, headers, sizeof headers, 0, 0, 0, 0, 0};
        failures += once_lookup("bench-hit", &r) != ONCE_COMPLETED;
        break;
      }
      default: {
        int lock = once_lock((char *)key);
        failures += lock <= 0;
        once_unlock(lock);
      }
    }
  }
  return failures;
}

static void *work(void *arg) {
  worker *w = arg;
  char key[32];
  snprintf(key, sizeof key, "bench-lock-%d", w->index);
  w->failures = run(w->kind, key, warmup);
  pthread_barrier_wait(&start_line);
  double start = clock_seconds(CLOCK_MONOTONIC);
  double cpu_start = clock_seconds(CLOCK_THREAD_CPUTIME_ID);
  w->failures += run(w->kind, key, calls);
  w->cpu_seconds = clock_seconds(CLOCK_THREAD_CPUTIME_ID) - cpu_start;
  w->seconds = clock_seconds(CLOCK_MONOTONIC) - start;
  return NULL;
}

typedef struct result {
  double wall_ns;
  double cpu_ns;
  double rate;
  long failures;
} result;

static result measure_once(int kind, int threads) {
  pthread_t ids[8];
  worker workers[8];
  pthread_barrier_init(&start_line, NULL, (unsigned)threads);
  for (int i = 0; i < threads; i++) {
    workers[i] = (worker){kind, i, 0, 0, 0};
    pthread_create(&ids[i], NULL, work, &workers[i]);
  }
  double longest = 0;
  double cpu = 0;
  long failures = 0;
  for (int i = 0; i < threads; i++) {
    pthread_join(ids[i], NULL);
    failures += workers[i].failures;
    cpu += workers[i].cpu_seconds;
    if (workers[i].seconds > longest) {
      longest = workers[i].seconds;
    }
  }
  pthread_barrier_destroy(&start_line);
  double total = (double)calls * threads;
  return (result){longest * 1e9 * threads / total, cpu * 1e9 / total, total / longest, failures};
}

/* The best of ROUNDS runs (the least disturbed by the rest of the machine). */
static int measure(int kind, int threads) {
  result best = {0, 0, 0, 0};
  for (int round = 0; round < ROUNDS; round++) {
    result r = measure_once(kind, threads);
    best.failures += r.failures;
    if (round == 0 || r.wall_ns < best.wall_ns) {
      best.wall_ns = r.wall_ns;
      best.rate = r.rate;
    }
    if (round == 0 || r.cpu_ns < best.cpu_ns) {
      best.cpu_ns = r.cpu_ns;
    }
  }
  printf("%-12s threads=%d  %8.1f ns/call (wall)  %8.1f ns/call (cpu)  %10.0f calls/s%s\n",
         NAMES[kind], threads, best.wall_ns, best.cpu_ns, best.rate,
         best.failures ? "  (FAILED CALLS)" : "");
  fflush(stdout);
  return best.failures == 0;
}

static void *one_call(void *arg) {
  char buf[8];
  *(int *)arg = once_check("bench-miss", buf, sizeof buf) == 0;
  return NULL;
}

static void *no_call(void *arg) {
  *(int *)arg = 1;
  return NULL;
}

/* Threads started one after the other, each making one call (or, for the baseline, none): the
 * difference is the cost of attaching and detaching a thread. */
static int measure_new_threads(const char *name, void *(*body)(void *)) {
  enum { THREADS = 2000 };
  int ok = 1;
  double best = 0;
  for (int round = 0; round < ROUNDS; round++) {
    double start = clock_seconds(CLOCK_MONOTONIC);
    for (int i = 0; i < THREADS; i++) {
      pthread_t thread;
      int called = 0;
      pthread_create(&thread, NULL, body, &called);
      pthread_join(thread, NULL);
      ok &= called;
    }
    double us = (clock_seconds(CLOCK_MONOTONIC) - start) * 1e6 / THREADS;
    if (round == 0 || us < best) {
      best = us;
    }
  }
  printf("%-12s threads=1  %8.1f us/thread (wall)%s\n", name, best,
         ok ? "" : "  (FAILED CALLS)");
  fflush(stdout);
  return ok;
}

int main(int argc, char **argv) {
  if (argc > 1) {
    calls = atol(argv[1]);
    warmup = calls / 4 < warmup ? calls / 4 : warmup;
  }
  char error[1024];
  if (once_open(NULL, error, sizeof error) != 0) {
    fprintf(stderr, "once_open: %s\n", error);
    return 1;
  }
  const char *stored = "{\"status\":\"created\",\"charge\":1,\"n\":42}";
  if (once_store("bench-hit", 201, (char *)stored, (int)strlen(stored), 3600) != 0) {
    fprintf(stderr, "could not store the response to replay\n");
    return 1;
  }
  const char *only = argc > 2 ? argv[2] : NULL;
  /* every path compiled by the JIT before anything is timed */
  for (int kind = CHECK_HIT; kind <= LOCK_UNLOCK; kind++) {
    run(kind, "bench-warmup", 1000000);
  }
  int ok = 1;
  int thread_counts[] = {1, 4};
  for (int kind = CHECK_HIT; kind <= LOCK_UNLOCK; kind++) {
    for (int t = 0; t < 2; t++) {
      if (only == NULL || strcmp(only, NAMES[kind]) == 0) {
        ok &= measure(kind, thread_counts[t]);
      }
    }
  }
  if (only == NULL || strcmp(only, "new-thread") == 0) {
    ok &= measure_new_threads("new-thread", one_call);
    ok &= measure_new_threads("(no call)", no_call);
  }
  return ok ? 0 : 1;
}
