/*
 * The C tests of libonce.so: test_once CASE runs one case in this process (NativeLibraryIT runs
 * each in a process of its own, with the environment the case needs).
 */
#include "once.h"
#include "testing.h"

#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <unistd.h>

static const unsigned char NOT_UTF8[] = {'k', 0xC3, 0x28, 0};

static char *long_key(size_t n) {
  char *key = malloc(n + 1);
  memset(key, 'k', n);
  key[n] = '\0';
  return key;
}

/* Every function that returns a code returns ONCE_ERR_STATE (valid arguments or not). */
static void check_everything_is_state_error(void) {
  char buf[16];
  once_token token = {{0}};
  unsigned char fp[ONCE_FINGERPRINT_SIZE];
  CHECK_EQ(once_check("k", buf, sizeof buf), ONCE_ERR_STATE);
  CHECK_EQ(once_check(NULL, NULL, 0), ONCE_ERR_STATE);
  CHECK_EQ(once_store("k", 200, "b", 1, 60), ONCE_ERR_STATE);
  CHECK_EQ(once_lock("k"), ONCE_ERR_STATE);
  CHECK_EQ(once_lock(NULL), ONCE_ERR_STATE);
  once_unlock(1);
  CHECK_EQ(once_claim("k", NULL, 0, &token, NULL), ONCE_ERR_STATE);
  CHECK_EQ(once_lookup("k", NULL), ONCE_ERR_STATE);
  CHECK_EQ(once_complete("k", &token, 200, NULL, 0, NULL, 0, 1000), ONCE_ERR_STATE);
  CHECK_EQ(once_release("k", &token), ONCE_ERR_STATE);
  CHECK_EQ(once_renew("k", &token, 0), ONCE_ERR_STATE);
  CHECK_EQ(once_renew(NULL, NULL, -1), ONCE_ERR_STATE);
  CHECK_EQ(once_complete_unknown("k", &token, 1000), ONCE_ERR_STATE);
  CHECK_EQ(once_complete_unknown(NULL, NULL, 0), ONCE_ERR_STATE);
  CHECK_EQ(once_fingerprint("POST", "/", NULL, NULL, 0, fp), ONCE_ERR_STATE);
}

static void before_init(void) {
  check_everything_is_state_error();

  once_init();
  char buf[16];
  CHECK_EQ(once_check("k", buf, sizeof buf), 0);
}

/* The seed's flow: check, lock, store, unlock, then replays. */
static void seed(void) {
  once_init();
  once_init(); /* a second call does nothing */
  char buf[64];

  strcpy(buf, "garbage");
  CHECK_EQ(once_check("order-1", buf, sizeof buf), 0);
  CHECK_STR(buf, "");

  int lock = once_lock("order-1");
  CHECK(lock > 0);
  CHECK_EQ(once_lock("order-1"), 0);
  CHECK_EQ(once_check("order-1", buf, sizeof buf), 0); /* in flight */

  CHECK_EQ(once_store("order-1", 201, "{\"id\":1}", 8, 60), 0);
  once_unlock(lock);
  CHECK_EQ(once_check("order-1", buf, sizeof buf), 201);
  CHECK_STR(buf, "{\"id\":1}");
  CHECK_EQ(once_lock("order-1"), 0); /* a response is stored */
  once_unlock(lock);                  /* repeated: ignored */
  CHECK_EQ(once_check("order-1", buf, sizeof buf), 201);

  /* unlock without a store frees the key */
  int first = once_lock("order-2");
  CHECK(first > 0);
  once_unlock(first);
  int second = once_lock("order-2");
  CHECK(second > 0);
  CHECK(second != first);
  once_unlock(first); /* a stale id does not release the new owner */
  CHECK_EQ(once_lock("order-2"), 0);
  once_unlock(second);
  CHECK(once_lock("order-2") > 0);

  /* unknown ids are ignored */
  once_unlock(0);
  once_unlock(-5);
  once_unlock(INT_MAX);

  /* store without a lock claims and completes in one go */
  CHECK_EQ(once_store("order-3", 200, "ok", 2, 60), 0);
  CHECK_EQ(once_check("order-3", buf, sizeof buf), 200);
  CHECK_STR(buf, "ok");

  /* a key keeps its first response */
  CHECK_EQ(once_store("order-3", 500, "later", 5, 60), ONCE_ERR_CONFLICT);
  CHECK_EQ(once_check("order-3", buf, sizeof buf), 200);
  CHECK_STR(buf, "ok");
  int held = once_lock("order-4");
  CHECK(held > 0);
  once_unlock(held); /* and frees it; lock it again to hold it */
  held = once_lock("order-4");
  once_unlock(held + 1000); /* not ours */
  CHECK_EQ(once_lock("order-4"), 0);

  /* empty bodies, NULL with length 0 */
  CHECK_EQ(once_store("order-5", 204, NULL, 0, 60), 0);
  strcpy(buf, "garbage");
  CHECK_EQ(once_check("order-5", buf, sizeof buf), 204);
  CHECK_STR(buf, "");

  /* truncation: responseLen - 1 bytes and a NUL */
  CHECK_EQ(once_store("order-6", 200, "hello world", 11, 60), 0);
  memset(buf, 'x', sizeof buf);
  CHECK_EQ(once_check("order-6", buf, 6), 200);
  CHECK_STR(buf, "hello");
  CHECK_EQ(buf[6], 'x');
  CHECK_EQ(once_check("order-6", buf, 1), 200);
  CHECK_STR(buf, "");
  CHECK_EQ(once_check("order-6", buf, 12), 200);
  CHECK_STR(buf, "hello world");

  /* the longest key, and non-ASCII keys, which are distinct keys */
  char *longest = long_key(ONCE_MAX_KEY_SIZE);
  CHECK_EQ(once_store(longest, 200, "long", 4, 60), 0);
  CHECK_EQ(once_check(longest, buf, sizeof buf), 200);
  CHECK_STR(buf, "long");
  free(longest);
  CHECK_EQ(once_store("ключ-😀", 201, "a", 1, 60), 0);
  CHECK_EQ(once_store("ключ-😁", 202, "b", 1, 60), 0);
  CHECK_EQ(once_check("ключ-😀", buf, sizeof buf), 201);
  CHECK_EQ(once_check("ключ-😁", buf, sizeof buf), 202);

  /* a large body through the seed API grows the thread's buffer and shrinks it again */
  size_t big = (size_t)3 << 20;
  char *body = malloc(big);
  char *out = malloc(big + 1);
  for (size_t i = 0; i < big; i++) {
    body[i] = (char)('a' + i % 26);
  }
  CHECK_EQ(once_store("order-big", 200, body, (int)big, 60), 0);
  CHECK_EQ(once_check("order-big", out, (int)big + 1), 200);
  CHECK(memcmp(out, body, big) == 0);
  CHECK_EQ(out[big], '\0');
  free(body);
  free(out);
  CHECK_EQ(once_check("order-1", buf, sizeof buf), 201);
}

static void seed_errors(void) {
  once_init();
  char buf[16];
  char *too_long = long_key(ONCE_MAX_KEY_SIZE + 1);

  CHECK_EQ(once_check(NULL, buf, sizeof buf), ONCE_ERR_ARG);
  CHECK_EQ(once_check("", buf, sizeof buf), ONCE_ERR_ARG);
  CHECK_EQ(once_check(too_long, buf, sizeof buf), ONCE_ERR_ARG);
  CHECK_EQ(once_check((char *)NOT_UTF8, buf, sizeof buf), ONCE_ERR_ARG);
  CHECK_EQ(once_check("\xED\xA0\x80", buf, sizeof buf), ONCE_ERR_ARG); /* a surrogate */
  CHECK_EQ(once_check("\xC0\xAF", buf, sizeof buf), ONCE_ERR_ARG);     /* overlong */
  CHECK_EQ(once_check("k", NULL, 16), ONCE_ERR_ARG);
  CHECK_EQ(once_check("k", buf, 0), ONCE_ERR_ARG);
  CHECK_EQ(once_check("k", buf, -1), ONCE_ERR_ARG);

  CHECK_EQ(once_store(NULL, 200, "b", 1, 60), ONCE_ERR_ARG);
  CHECK_EQ(once_store("", 200, "b", 1, 60), ONCE_ERR_ARG);
  CHECK_EQ(once_store(too_long, 200, "b", 1, 60), ONCE_ERR_ARG);
  CHECK_EQ(once_store((char *)NOT_UTF8, 200, "b", 1, 60), ONCE_ERR_ARG);
  CHECK_EQ(once_store("k", 99, "b", 1, 60), ONCE_ERR_ARG);
  CHECK_EQ(once_store("k", 600, "b", 1, 60), ONCE_ERR_ARG);
  CHECK_EQ(once_store("k", 200, "b", -1, 60), ONCE_ERR_ARG);
  CHECK_EQ(once_store("k", 200, NULL, 5, 60), ONCE_ERR_ARG);
  CHECK_EQ(once_store("k", 200, "b", (int)ONCE_MAX_BODY_SIZE + 1, 60), ONCE_ERR_ARG);
  CHECK_EQ(once_store("k", 200, "b", 1, 0), ONCE_ERR_ARG);
  CHECK_EQ(once_store("k", 200, "b", 1, -1), ONCE_ERR_ARG);

  CHECK_EQ(once_lock(NULL), ONCE_ERR_ARG);
  CHECK_EQ(once_lock(""), ONCE_ERR_ARG);
  CHECK_EQ(once_lock(too_long), ONCE_ERR_ARG);
  CHECK_EQ(once_lock((char *)NOT_UTF8), ONCE_ERR_ARG);

  /* none of the refused calls touched the key */
  CHECK_EQ(once_check("k", buf, sizeof buf), 0);
  CHECK(once_lock("k") > 0);
  CHECK_EQ(once_store("k", 100, "b", 1, 1), 0);
  CHECK_EQ(once_store("k2", 599, "b", 1, 1), 0);

  for (int code = ONCE_ERR_CONFLICT; code <= ONCE_ERR_ARG; code++) {
    CHECK(once_strerror(code) != NULL && strncmp(once_strerror(code), "ONCE_ERR_", 9) == 0);
  }
  CHECK(strcmp(once_strerror(ONCE_ERR_ARG), once_strerror(ONCE_ERR_STORE)) != 0);
  CHECK(once_strerror(-99) != NULL);
  CHECK(once_strerror(0) != NULL);
  free(too_long);
}

/* Records expire: responses after their ttl, claims after their lease when nobody renews them;
 * a lock is renewed while it is held, so it outlives its lease (ONCE_LEASE=1s). (A lock
 * whose renewals stop, as a dead process's do, is SessionTest's, with a fake clock.) */
static void expiry(void) {
  once_init();
  char buf[16];
  once_token warm_token;
  /* each path once first, so loading classes on a slow machine does not eat the 1 s below */
  CHECK_EQ(once_store("warm", 200, "x", 1, 60), 0);
  CHECK_EQ(once_check("warm", buf, sizeof buf), 200);
  int warm = once_lock("warm-lock");
  CHECK(warm > 0);
  CHECK_EQ(once_lock("warm-lock"), 0);
  once_unlock(warm);
  CHECK_EQ(once_claim("warm-claim", NULL, 0, &warm_token, NULL), ONCE_ACQUIRED);
  CHECK_EQ(once_renew("warm-claim", &warm_token, 0), 1);
  CHECK_EQ(once_release("warm-claim", &warm_token), 1);

  CHECK_EQ(once_store("short", 200, "x", 1, 1), 0);
  int held = once_lock("leased");
  CHECK(held > 0);
  once_token claimed, taker;
  CHECK_EQ(once_claim("claimed", NULL, 0, &claimed, NULL), ONCE_ACQUIRED);
  CHECK_EQ(once_check("short", buf, sizeof buf), 200);
  CHECK_EQ(once_lock("leased"), 0);

  sleep_ms(1300);

  CHECK_EQ(once_check("short", buf, sizeof buf), 0);
  CHECK_EQ(once_lock("leased"), 0); /* renewed by the library: still held */
  CHECK_EQ(once_claim("leased", NULL, 0, &taker, NULL), ONCE_IN_PROGRESS);
  CHECK_EQ(once_claim("claimed", NULL, 0, &taker, NULL), ONCE_ACQUIRED); /* nobody renewed it */
  CHECK_EQ(once_renew("claimed", &claimed, 0), 0); /* the dead owner is fenced */
  CHECK_EQ(once_complete("claimed", &claimed, 200, NULL, 0, NULL, 0, 60000), 0);
  CHECK_EQ(once_complete("claimed", &taker, 200, NULL, 0, NULL, 0, 60000), 1);

  CHECK_EQ(once_store("leased", 201, "new", 3, 60), 0);
  once_unlock(held);
  CHECK_EQ(once_check("leased", buf, sizeof buf), 201);
  CHECK_STR(buf, "new");
  once_unlock(held); /* repeated: ignored */
  CHECK_EQ(once_lock("leased"), 0);
}

static void destroy(void) {
  once_init();
  CHECK_EQ(once_store("k", 200, "b", 1, 60), 0);
  int lock = once_lock("held"); /* renewed until the destroy */
  CHECK(lock > 0);
  once_token token;
  CHECK_EQ(once_claim("claimed", NULL, 0, &token, NULL), ONCE_ACQUIRED);
  CHECK_EQ(once_renew("claimed", &token, 0), 1);

  once_destroy();

  check_everything_is_state_error();
  CHECK_EQ(once_renew("claimed", &token, 0), ONCE_ERR_STATE);
  CHECK_EQ(once_complete_unknown("claimed", &token, 1000), ONCE_ERR_STATE);
  once_unlock(lock);
  once_init(); /* does nothing: the library stays destroyed */
  char error[256];
  CHECK_EQ(once_open(NULL, error, sizeof error), ONCE_ERR_STATE);
  CHECK(strstr(error, "destroyed") != NULL);
  once_destroy(); /* twice is harmless */
  check_everything_is_state_error();
}

typedef struct racer {
  pthread_barrier_t *barrier;
  const char *key;
  int result;
} racer;

static void *race_lock(void *arg) {
  racer *r = arg;
  pthread_barrier_wait(r->barrier);
  r->result = once_lock((char *)r->key);
  return NULL;
}

/* 16 threads race once_lock on one key, 50 times: exactly one id > 0 each time. */
static void race(void) {
  once_init();
  enum { THREADS = 16, ROUNDS = 50 };
  for (int round = 0; round < ROUNDS; round++) {
    char key[32];
    snprintf(key, sizeof key, "race-%d", round);
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, THREADS);
    pthread_t threads[THREADS];
    racer racers[THREADS];
    for (int i = 0; i < THREADS; i++) {
      racers[i] = (racer){&barrier, key, -100};
      pthread_create(&threads[i], NULL, race_lock, &racers[i]);
    }
    int winners = 0, losers = 0;
    for (int i = 0; i < THREADS; i++) {
      pthread_join(threads[i], NULL);
      if (racers[i].result > 0) {
        winners++;
      } else if (racers[i].result == 0) {
        losers++;
      }
    }
    pthread_barrier_destroy(&barrier);
    CHECK_EQ(winners, 1);
    CHECK_EQ(losers, THREADS - 1);
  }
}

static void *short_lived(void *arg) {
  long n = (long)arg;
  char key[32], buf[32];
  snprintf(key, sizeof key, "short-lived-%ld", n);
  int ok = once_check(key, buf, sizeof buf) == 0;
  int lock = once_lock(key);
  ok = ok && lock > 0;
  ok = ok && once_store(key, 200, key, (int)strlen(key), 60) == 0;
  once_unlock(lock);
  ok = ok && once_check(key, buf, sizeof buf) == 200 && strcmp(buf, key) == 0;
  once_response response = {0};
  ok = ok && once_lookup(key, &response) == ONCE_COMPLETED && response.body_len == strlen(key);
  return (void *)(intptr_t)ok;
}

/* 400 threads, 16 at a time, call in and exit: each is attached as a daemon named "libonce" and
 * detached at exit, so afterwards the JVM holds exactly the threads it held before. */
static void threads(void) {
  once_init();
  char buf[8];
  CHECK_EQ(once_check("warm", buf, sizeof buf), 0); /* the main thread is attached now */
  once_unlock(once_lock("warm")); /* and the thread that renews locks has started */
  int java_before = testing_java_threads_named("libonce");
  int process_before = testing_process_threads();
  CHECK_EQ(java_before, 1);

  enum { TOTAL = 400, WAVE = 16 };
  int ok = 0;
  for (long started = 0; started < TOTAL; started += WAVE) {
    pthread_t wave[WAVE];
    for (long i = 0; i < WAVE; i++) {
      pthread_create(&wave[i], NULL, short_lived, (void *)(started + i));
    }
    for (int i = 0; i < WAVE; i++) {
      void *result;
      pthread_join(wave[i], &result);
      ok += (int)(intptr_t)result;
    }
  }

  CHECK_EQ(ok, TOTAL);
  CHECK_EQ(testing_java_threads_named("libonce"), java_before);
  /* the JVM may start a compiler or GC thread meanwhile; attached threads would add hundreds */
  CHECK(testing_process_threads() <= process_before + 4);
  CHECK_EQ(once_check("short-lived-399", buf, sizeof buf), 200);
}

static const unsigned char *binary_body(size_t n) {
  unsigned char *body = malloc(n);
  for (size_t i = 0; i < n; i++) {
    body[i] = (unsigned char)(i % 7 == 0 ? 0 : i * 31);
  }
  return body;
}

/* claim, complete, release and lookup with fingerprints, headers and binary bodies */
static void extended(void) {
  char error[256];
  CHECK_EQ(once_open(NULL, NULL, 1), ONCE_ERR_ARG);
  CHECK_EQ(once_open("memory", error, sizeof error), 0);
  CHECK_EQ(once_open("memory", error, sizeof error), 0);
  CHECK_EQ(once_open(NULL, error, sizeof error), 0);
  CHECK_EQ(once_open("redis://elsewhere:6379", error, sizeof error), ONCE_ERR_STATE);
  CHECK(strstr(error, "already open") != NULL);

  unsigned char fp[ONCE_FINGERPRINT_SIZE], same[ONCE_FINGERPRINT_SIZE],
      other[ONCE_FINGERPRINT_SIZE], no_query[ONCE_FINGERPRINT_SIZE];
  const char *amount = "{\"amount\":100}";
  CHECK_EQ(once_fingerprint("POST", "/payments", NULL, amount, strlen(amount), fp), 0);
  CHECK_EQ(once_fingerprint("POST", "/payments", "", amount, strlen(amount), same), 0);
  CHECK_EQ(once_fingerprint("POST", "/payments", "a=1", amount, strlen(amount), other), 0);
  CHECK_EQ(once_fingerprint("POST", "/payments", NULL, "{\"amount\":200}", 14, no_query), 0);
  CHECK(memcmp(fp, same, sizeof fp) == 0);
  CHECK(memcmp(fp, other, sizeof fp) != 0);
  CHECK(memcmp(fp, no_query, sizeof fp) != 0);
  /* the Java OnceFilter's fingerprint of this request (FingerprintAgreementTest pins it too) */
  char hex[2 * ONCE_FINGERPRINT_SIZE + 1];
  for (int i = 0; i < ONCE_FINGERPRINT_SIZE; i++) {
    snprintf(hex + 2 * i, 3, "%02x", fp[i]);
  }
  CHECK_STR(hex, "2bb3673c838a92cce5106084c29aa2dd5f99b693e3a166d1e366c482142dfb96");

  once_token token, second;
  CHECK_EQ(once_claim("pay-1", fp, 0, &token, NULL), ONCE_ACQUIRED);
  CHECK_EQ(once_claim("pay-1", fp, 0, &second, NULL), ONCE_IN_PROGRESS);
  CHECK_EQ(once_claim("pay-1", other, 0, &second, NULL), ONCE_MISMATCH);
  CHECK_EQ(once_claim("pay-1", NULL, 0, &second, NULL), ONCE_IN_PROGRESS);
  CHECK_EQ(once_lookup("pay-1", NULL), ONCE_IN_PROGRESS);
  CHECK_EQ(once_lock("pay-1"), 0);

  size_t body_len = 1000;
  const unsigned char *body = binary_body(body_len);
  once_header headers[] = {
      {"Content-Type", "application/octet-stream"},
      {"Set-Cookie", "a=1"},
      {"Set-Cookie", "b=2"},
      {"X-Empty", ""},
  };
  CHECK_EQ(once_complete("pay-1", &token, 201, headers, 4, body, body_len, 60000), 1);
  CHECK_EQ(once_complete("pay-1", &token, 500, NULL, 0, NULL, 0, 60000), 0);
  CHECK_EQ(once_release("pay-1", &token), 0);

  unsigned char out[2000];
  char packed[256];
  once_response r = {out, sizeof out, packed, sizeof packed, 0, 0, 0, 0, 0};
  CHECK_EQ(once_lookup("pay-1", &r), ONCE_COMPLETED);
  CHECK_EQ(r.status, 201);
  CHECK_EQ(r.replayable, 1);
  CHECK_EQ(r.body_len, body_len);
  CHECK(memcmp(out, body, body_len) == 0);
  CHECK_EQ(r.header_count, 4);
  size_t pos = 0;
  const char *name, *value;
  for (int i = 0; i < 4; i++) {
    CHECK_EQ(once_header_next(packed, r.headers_len, &pos, &name, &value), 1);
    CHECK_STR(name, headers[i].name);
    CHECK_STR(value, headers[i].value);
  }
  CHECK_EQ(once_header_next(packed, r.headers_len, &pos, &name, &value), 0);
  CHECK_EQ(pos, r.headers_len);

  /* a claim with the same fingerprint gets the response; with another, MISMATCH */
  memset(out, 0, sizeof out);
  CHECK_EQ(once_claim("pay-1", fp, 0, &second, &r), ONCE_COMPLETED);
  CHECK_EQ(r.status, 201);
  CHECK(memcmp(out, body, body_len) == 0);
  CHECK_EQ(once_claim("pay-1", other, 0, &second, &r), ONCE_MISMATCH);
  /* the seed's check replays it too: up to the first NUL as a string, all bytes copied */
  char seed_buf[2000];
  CHECK_EQ(once_check("pay-1", seed_buf, sizeof seed_buf), 201);
  CHECK(memcmp(seed_buf, body, body_len) == 0);

  /* small buffers: the body is cut, the headers are not copied unless whole */
  unsigned char small[16];
  char few[8];
  memset(small, 0xEE, sizeof small);
  memset(few, 0x55, sizeof few);
  once_response cut = {small, 10, few, sizeof few, 0, 0, 0, 0, 0};
  CHECK_EQ(once_lookup("pay-1", &cut), ONCE_COMPLETED);
  CHECK_EQ(cut.body_len, body_len);
  CHECK(memcmp(small, body, 10) == 0);
  CHECK_EQ(small[10], 0xEE);
  CHECK_EQ(cut.headers_len, r.headers_len);
  CHECK(cut.headers_len > sizeof few);
  CHECK_EQ((unsigned char)few[0], 0x55);
  once_response none = {NULL, 0, NULL, 0, 0, 0, 0, 0, 0};
  CHECK_EQ(once_lookup("pay-1", &none), ONCE_COMPLETED);
  CHECK_EQ(none.body_len, body_len);
  CHECK_EQ(none.status, 201);

  /* release frees the key; a released token fences nothing */
  once_token gone, next;
  CHECK_EQ(once_claim("pay-2", NULL, 0, &gone, NULL), ONCE_ACQUIRED);
  CHECK_EQ(once_release("pay-2", &gone), 1);
  CHECK_EQ(once_release("pay-2", &gone), 0);
  CHECK_EQ(once_lookup("pay-2", NULL), ONCE_ABSENT);
  CHECK_EQ(once_claim("pay-2", NULL, 0, &next, NULL), ONCE_ACQUIRED);
  CHECK(memcmp(gone.bytes, next.bytes, ONCE_TOKEN_SIZE) != 0);
  CHECK_EQ(once_complete("pay-2", &gone, 200, NULL, 0, NULL, 0, 60000), 0);
  CHECK_EQ(once_complete("pay-2", &next, 200, NULL, 0, NULL, 0, 60000), 1);

  /* a lease in milliseconds: after it, a claim takes over and the old token is fenced */
  once_token dead, taker;
  CHECK_EQ(once_claim("pay-3", fp, 200, &dead, NULL), ONCE_ACQUIRED);
  sleep_ms(400);
  CHECK_EQ(once_claim("pay-3", other, 0, &taker, NULL), ONCE_ACQUIRED);
  CHECK_EQ(once_complete("pay-3", &dead, 200, NULL, 0, NULL, 0, 60000), 0);
  CHECK_EQ(once_complete("pay-3", &taker, 200, NULL, 0, NULL, 0, 60000), 1);

  /* a 3 MiB binary body round trip: the buffers grow for it and shrink again */
  size_t big = (size_t)3 << 20;
  const unsigned char *large = binary_body(big);
  unsigned char *back = malloc(big);
  once_token t4;
  CHECK_EQ(once_claim("pay-4", NULL, 0, &t4, NULL), ONCE_ACQUIRED);
  CHECK_EQ(once_complete("pay-4", &t4, 200, NULL, 0, large, big, 60000), 1);
  once_response whole = {back, big, NULL, 0, 0, 0, 0, 0, 0};
  CHECK_EQ(once_lookup("pay-4", &whole), ONCE_COMPLETED);
  CHECK_EQ(whole.body_len, big);
  CHECK(memcmp(back, large, big) == 0);
  CHECK_EQ(whole.headers_len, 0);
  CHECK_EQ(whole.header_count, 0);
  CHECK_EQ(once_lookup("pay-1", &r), ONCE_COMPLETED);
  free(back);
  free((void *)large);
  free((void *)body);

  /* the longest lease and ttl are accepted */
  once_token longest;
  CHECK_EQ(once_claim("pay-5", NULL, ONCE_MAX_DURATION_MS, &longest, NULL), ONCE_ACQUIRED);
  CHECK_EQ(once_complete("pay-5", &longest, 200, NULL, 0, NULL, 0, ONCE_MAX_DURATION_MS), 1);
  CHECK_EQ(once_lookup("pay-5", NULL), ONCE_COMPLETED);

  /* malformed packed headers end the walk */
  pos = 0;
  CHECK_EQ(once_header_next("name-without-nul", 16, &pos, &name, &value), 0);
  CHECK_EQ(once_header_next("name\0value-without-nul", 22, &pos, &name, &value), 0);
  CHECK_EQ(once_header_next(NULL, 4, &pos, &name, &value), 0);
}

static void extended_errors(void) {
  once_init();
  once_token token = {{0}};
  unsigned char fp[ONCE_FINGERPRINT_SIZE] = {0};
  char body[4] = "abc";
  char *too_long = long_key(ONCE_MAX_KEY_SIZE + 1);

  CHECK_EQ(once_fingerprint(NULL, "/", NULL, NULL, 0, fp), ONCE_ERR_ARG);
  CHECK_EQ(once_fingerprint("", "/", NULL, NULL, 0, fp), ONCE_ERR_ARG);
  CHECK_EQ(once_fingerprint("POST", NULL, NULL, NULL, 0, fp), ONCE_ERR_ARG);
  CHECK_EQ(once_fingerprint("POST", "/", NULL, NULL, 3, fp), ONCE_ERR_ARG);
  CHECK_EQ(once_fingerprint("POST", "/", NULL, body, 3, NULL), ONCE_ERR_ARG);
  CHECK_EQ(once_fingerprint("POST", (char *)NOT_UTF8, NULL, NULL, 0, fp), ONCE_ERR_ARG);
  CHECK_EQ(once_fingerprint("POST", "/", (char *)NOT_UTF8, NULL, 0, fp), ONCE_ERR_ARG);
  CHECK_EQ(once_fingerprint("POST", "/", NULL, body, (size_t)ONCE_MAX_BODY_SIZE + 1, fp),
           ONCE_ERR_ARG);
  CHECK_EQ(once_fingerprint("POST", "", NULL, NULL, 0, fp), 0);

  once_response bad_body = {NULL, 10, NULL, 0, 0, 0, 0, 0, 0};
  once_response bad_headers = {NULL, 0, NULL, 10, 0, 0, 0, 0, 0};
  CHECK_EQ(once_claim(NULL, NULL, 0, &token, NULL), ONCE_ERR_ARG);
  CHECK_EQ(once_claim("", NULL, 0, &token, NULL), ONCE_ERR_ARG);
  CHECK_EQ(once_claim(too_long, NULL, 0, &token, NULL), ONCE_ERR_ARG);
  CHECK_EQ(once_claim((char *)NOT_UTF8, NULL, 0, &token, NULL), ONCE_ERR_ARG);
  CHECK_EQ(once_claim("k", NULL, 0, NULL, NULL), ONCE_ERR_ARG);
  CHECK_EQ(once_claim("k", NULL, -1, &token, NULL), ONCE_ERR_ARG);
  CHECK_EQ(once_claim("k", NULL, LLONG_MIN, &token, NULL), ONCE_ERR_ARG);
  CHECK_EQ(once_claim("k", NULL, ONCE_MAX_DURATION_MS + 1, &token, NULL), ONCE_ERR_ARG);
  CHECK_EQ(once_claim("k", NULL, LLONG_MAX, &token, NULL), ONCE_ERR_ARG);
  CHECK_EQ(once_claim("k", NULL, 0, &token, &bad_body), ONCE_ERR_ARG);
  CHECK_EQ(once_claim("k", NULL, 0, &token, &bad_headers), ONCE_ERR_ARG);
  CHECK_EQ(once_lookup(NULL, NULL), ONCE_ERR_ARG);
  CHECK_EQ(once_lookup("k", &bad_body), ONCE_ERR_ARG);
  CHECK_EQ(once_lookup("k", &bad_headers), ONCE_ERR_ARG);

  once_header no_name[] = {{NULL, "v"}};
  once_header empty_name[] = {{"", "v"}};
  once_header no_value[] = {{"n", NULL}};
  once_header not_utf8[] = {{"n", (const char *)NOT_UTF8}};
  CHECK_EQ(once_complete(NULL, &token, 200, NULL, 0, NULL, 0, 1000), ONCE_ERR_ARG);
  CHECK_EQ(once_complete("k", NULL, 200, NULL, 0, NULL, 0, 1000), ONCE_ERR_ARG);
  CHECK_EQ(once_complete("k", &token, 99, NULL, 0, NULL, 0, 1000), ONCE_ERR_ARG);
  CHECK_EQ(once_complete("k", &token, 600, NULL, 0, NULL, 0, 1000), ONCE_ERR_ARG);
  CHECK_EQ(once_complete("k", &token, 200, NULL, 1, NULL, 0, 1000), ONCE_ERR_ARG);
  CHECK_EQ(once_complete("k", &token, 200, no_name, 1, NULL, 0, 1000), ONCE_ERR_ARG);
  CHECK_EQ(once_complete("k", &token, 200, empty_name, 1, NULL, 0, 1000), ONCE_ERR_ARG);
  CHECK_EQ(once_complete("k", &token, 200, no_value, 1, NULL, 0, 1000), ONCE_ERR_ARG);
  CHECK_EQ(once_complete("k", &token, 200, not_utf8, 1, NULL, 0, 1000), ONCE_ERR_ARG);
  CHECK_EQ(once_complete("k", &token, 200, NULL, 0, NULL, 3, 1000), ONCE_ERR_ARG);
  CHECK_EQ(once_complete("k", &token, 200, NULL, 0, body, (size_t)ONCE_MAX_BODY_SIZE + 1, 1000),
           ONCE_ERR_ARG);
  CHECK_EQ(once_complete("k", &token, 200, NULL, 0, body, 3, 0), ONCE_ERR_ARG);
  CHECK_EQ(once_complete("k", &token, 200, NULL, 0, body, 3, -5), ONCE_ERR_ARG);
  CHECK_EQ(once_complete("k", &token, 200, NULL, 0, body, 3, ONCE_MAX_DURATION_MS + 1),
           ONCE_ERR_ARG);
  CHECK_EQ(once_complete("k", &token, 200, NULL, 0, body, 3, LLONG_MAX), ONCE_ERR_ARG);
  CHECK_EQ(once_complete("k", &token, 200, NULL, 0, body, 3, LLONG_MIN), ONCE_ERR_ARG);
  size_t many = ONCE_MAX_HEADERS_SIZE / 8 + 1;
  once_header *flood = malloc(many * sizeof *flood);
  for (size_t i = 0; i < many; i++) {
    flood[i] = (once_header){"name", "val"};
  }
  CHECK_EQ(once_complete("k", &token, 200, flood, many, NULL, 0, 1000), ONCE_ERR_ARG);
  free(flood);
  CHECK_EQ(once_release(NULL, &token), ONCE_ERR_ARG);
  CHECK_EQ(once_release("k", NULL), ONCE_ERR_ARG);

  /* nothing refused touched the key; a token never issued owns nothing */
  CHECK_EQ(once_lookup("k", NULL), ONCE_ABSENT);
  CHECK_EQ(once_complete("k", &token, 200, NULL, 0, NULL, 0, 1000), 0);
  CHECK_EQ(once_release("k", &token), 0);
  free(too_long);
}

/* ONCE_STORE names a store whose every operation fails (a provider on ONCE_CLASSPATH). */
static void store_failure(void) {
  char error[256];
  CHECK_EQ(once_open(NULL, error, sizeof error), 0);
  char buf[16];
  once_token token = {{0}};
  once_response r = {0};
  CHECK_EQ(once_check("k", buf, sizeof buf), ONCE_ERR_STORE);
  CHECK_EQ(once_store("k", 200, "b", 1, 60), ONCE_ERR_STORE);
  CHECK_EQ(once_lock("k"), ONCE_ERR_STORE);
  once_unlock(1);
  CHECK_EQ(once_claim("k", NULL, 0, &token, &r), ONCE_ERR_STORE);
  CHECK_EQ(once_lookup("k", &r), ONCE_ERR_STORE);
  CHECK_EQ(once_complete("k", &token, 200, NULL, 0, NULL, 0, 1000), ONCE_ERR_STORE);
  CHECK_EQ(once_release("k", &token), ONCE_ERR_STORE);
  CHECK_EQ(once_renew("k", &token, 0), ONCE_ERR_STORE);
  CHECK_EQ(once_complete_unknown("k", &token, 1000), ONCE_ERR_STORE);
}

/* A failed open leaves the library closed (ONCE_ERR_STATE) and may be tried again. */
static void open_errors(void) {
  char error[512];
  CHECK_EQ(once_open("nosuch://somewhere", error, sizeof error), ONCE_ERR_ARG);
  CHECK(strstr(error, "nosuch") != NULL);
  char buf[16];
  CHECK_EQ(once_check("k", buf, sizeof buf), ONCE_ERR_STATE);

  setenv("ONCE_LEASE_SECONDS", "soon", 1);
  CHECK_EQ(once_open("memory", error, sizeof error), ONCE_ERR_ARG);
  CHECK(strstr(error, "ONCE_LEASE_SECONDS") != NULL);
  setenv("ONCE_LEASE_SECONDS", "0", 1);
  CHECK_EQ(once_open("memory", error, sizeof error), ONCE_ERR_ARG);
  setenv("ONCE_LEASE_SECONDS", "31536001", 1);
  CHECK_EQ(once_open("memory", error, sizeof error), ONCE_ERR_ARG);

  /* ONCE_LEASE, a duration, is read first: with it set, ONCE_LEASE_SECONDS is not looked at */
  setenv("ONCE_LEASE", "soon", 1);
  CHECK_EQ(once_open("memory", error, sizeof error), ONCE_ERR_ARG);
  CHECK_STR(error, "ONCE_LEASE: \"soon\" is not a duration (use 500ms, 30s, 5m, 24h, 1h30m or"
                   " ISO-8601 like PT30S)");
  setenv("ONCE_LEASE", "PT-1S", 1);
  CHECK_EQ(once_open("memory", error, sizeof error), ONCE_ERR_ARG);
  CHECK_STR(error, "ONCE_LEASE: \"PT-1S\" is negative");
  setenv("ONCE_LEASE", "500ms", 1);
  CHECK_EQ(once_open("memory", error, sizeof error), ONCE_ERR_ARG);
  CHECK_STR(error, "ONCE_LEASE must be from 1s to 365d, but was \"500ms\"");
  setenv("ONCE_LEASE", "366d", 1);
  CHECK_EQ(once_open("memory", error, sizeof error), ONCE_ERR_ARG);
  setenv("ONCE_LEASE", "99999999999999999999d", 1);
  CHECK_EQ(once_open("memory", error, sizeof error), ONCE_ERR_ARG);
  CHECK_STR(error, "ONCE_LEASE: \"99999999999999999999d\" is too long a duration");
  unsetenv("ONCE_LEASE");
  unsetenv("ONCE_LEASE_SECONDS");

  char tiny[8];
  CHECK_EQ(once_open((const char *)NOT_UTF8, tiny, sizeof tiny), ONCE_ERR_ARG);
  CHECK_EQ(strlen(tiny), sizeof tiny - 1); /* cut, and NUL-terminated */

  CHECK_EQ(once_open("memory", error, sizeof error), 0);
  CHECK_STR(error, "");
  CHECK_EQ(once_store("k", 200, "b", 1, 60), 0);
  CHECK_EQ(once_check("k", buf, sizeof buf), 200);
}

/* once_init cannot start a JVM: it says why on stderr, and everything returns ONCE_ERR_STATE. */
static void no_jvm(void) {
  once_init();
  check_everything_is_state_error();
  char error[512];
  int rc = once_open(NULL, error, sizeof error);
  CHECK_EQ(rc, ONCE_ERR_JVM);
  printf("once_open: %s\n", error);
}

/* A 64 MiB body in a JVM limited to 32 MiB of heap: ONCE_ERR_NOMEM, and the library goes on. */
static void out_of_memory(void) {
  once_init();
  size_t big = (size_t)64 << 20;
  char *body = calloc(big, 1);
  CHECK_EQ(once_store("huge", 200, body, (int)big, 60), ONCE_ERR_NOMEM);
  free(body);
  char buf[16];
  CHECK_EQ(once_check("huge", buf, sizeof buf), 0);
  CHECK_EQ(once_store("small", 200, "ok", 2, 60), 0);
  CHECK_EQ(once_check("small", buf, sizeof buf), 200);
}

typedef jint (*create_vm_fn)(JavaVM **, void **, void *);

/* The process runs a JVM before once_init (as a Java host would): the library joins it, loads its
 * jar with a class loader of its own, and leaves the host's pending exception alone. */
static void join(void) {
  const char *home = getenv("JAVA_HOME");
  CHECK(home != NULL);
  char path[4096];
  snprintf(path, sizeof path, "%s/lib/server/libjvm.so", home);
  void *lib = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
  CHECK(lib != NULL);
  if (lib == NULL) {
    return;
  }
  create_vm_fn create = (create_vm_fn)dlsym(lib, "JNI_CreateJavaVM");
  JavaVMOption options[] = {{"-Xrs", NULL}, {"-Xmx64m", NULL}};
  JavaVMInitArgs args = {JNI_VERSION_1_8, 2, options, JNI_FALSE};
  JavaVM *host_vm;
  JNIEnv *env;
  CHECK_EQ(create(&host_vm, (void **)&env, &args), JNI_OK);

  once_init();
  CHECK(testing_vm() == host_vm);
  char buf[16];
  CHECK_EQ(once_store("joined", 201, "yes", 3, 60), 0);
  CHECK_EQ(once_check("joined", buf, sizeof buf), 201);
  CHECK_STR(buf, "yes");

  /* the host's thread has an exception pending: the call works and leaves it pending */
  jclass error_class = (*env)->FindClass(env, "java/lang/IllegalStateException");
  (*env)->ThrowNew(env, error_class, "the host's own");
  CHECK_EQ(once_check("joined", buf, sizeof buf), 201);
  CHECK((*env)->ExceptionCheck(env));
  (*env)->ExceptionClear(env);

  int lock = once_lock("joined-lock");
  CHECK(lock > 0);
  once_unlock(lock);
  CHECK(once_lock("joined-lock") > 0);
}

static atomic_int_fast32_t stop_hammering;

typedef struct hammer {
  long calls;
  long unexpected;
  long state_errors;
} hammer;

static void *hammer_library(void *arg) {
  hammer *h = arg;
  char key[32], buf[32];
  for (long i = 0; !atomic_load(&stop_hammering); i++) {
    snprintf(key, sizeof key, "hammer-%ld", i % 64);
    int results[6];
    results[0] = once_check(key, buf, sizeof buf);
    int lock = once_lock(key);
    results[1] = lock;
    results[2] = once_store(key, 200, "x", 1, 60);
    once_unlock(lock);
    /* the extended API's token calls, on keys of their own: an owner's renew and release */
    snprintf(key, sizeof key, "hammer-claim-%ld", i % 64);
    once_token token;
    results[3] = once_claim(key, NULL, 0, &token, NULL);
    results[4] = results[3] == ONCE_ACQUIRED ? once_renew(key, &token, 0) : 1;
    results[5] = results[3] == ONCE_ACQUIRED ? once_release(key, &token) : 1;
    for (int k = 0; k < 6; k++) {
      int r = results[k];
      int fine = r == ONCE_ERR_STATE || (k == 0 && (r == 0 || r == 200)) || (k == 1 && r >= 0) ||
                 (k == 2 && (r == 0 || r == ONCE_ERR_CONFLICT)) ||
                 (k == 3 && (r == ONCE_ACQUIRED || r == ONCE_IN_PROGRESS)) || (k > 3 && r == 1);
      if (!fine && h->unexpected++ == 0) { /* the first, to say which */
        fprintf(stderr, "call %d of the hammer returned %d\n", k, r);
      }
      h->state_errors += r == ONCE_ERR_STATE;
    }
    h->calls += 6;
  }
  return NULL;
}

/* once_destroy while 8 threads are calling: calls running finish or return ONCE_ERR_STATE, none
 * crashes or returns anything else, and every call after it returns ONCE_ERR_STATE. */
static void destroy_under_load(void) {
  once_init();
  enum { THREADS = 8 };
  pthread_t threads[THREADS];
  hammer hammers[THREADS];
  memset(hammers, 0, sizeof hammers);
  for (int i = 0; i < THREADS; i++) {
    pthread_create(&threads[i], NULL, hammer_library, &hammers[i]);
  }
  sleep_ms(500);
  once_destroy();
  sleep_ms(200);
  long after = 0;
  for (int i = 0; i < THREADS; i++) {
    after += hammers[i].state_errors;
  }
  sleep_ms(200);
  atomic_store(&stop_hammering, 1);
  long calls = 0, unexpected = 0, state_errors = 0;
  for (int i = 0; i < THREADS; i++) {
    pthread_join(threads[i], NULL);
    calls += hammers[i].calls;
    unexpected += hammers[i].unexpected;
    state_errors += hammers[i].state_errors;
  }
  printf("calls %ld, ONCE_ERR_STATE %ld\n", calls, state_errors);
  CHECK_EQ(unexpected, 0);
  CHECK(state_errors > after); /* the threads went on calling after the destroy, and were refused */
  CHECK(calls - state_errors > 0); /* and worked before it */
  check_everything_is_state_error();
}

static void host_handler(int signal) {
  (void)signal;
}

/* The JVM runs with -Xrs: the host's dispositions of SIGINT, SIGTERM, SIGHUP and SIGQUIT stay.
 * The case sets each one itself, so it does not depend on what it inherited (a job started in the
 * background inherits SIGINT and SIGQUIT ignored): a handler of the host's, and the default, which
 * a JVM without -Xrs would replace with its own (it leaves ignored signals alone either way). */
static void signals(void) {
  struct sigaction mine = {0};
  mine.sa_handler = host_handler;
  sigemptyset(&mine.sa_mask);
  struct sigaction dfl = {0};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  CHECK_EQ(sigaction(SIGTERM, &mine, NULL), 0);
  int defaults[] = {SIGINT, SIGHUP, SIGQUIT};
  for (int i = 0; i < 3; i++) {
    CHECK_EQ(sigaction(defaults[i], &dfl, NULL), 0);
  }

  once_init();
  char buf[8];
  CHECK_EQ(once_check("k", buf, sizeof buf), 0);
  once_unlock(once_lock("k")); /* the thread that renews locks starts too */

  struct sigaction now;
  sigaction(SIGTERM, NULL, &now);
  CHECK(now.sa_handler == host_handler);
  for (int i = 0; i < 3; i++) {
    sigaction(defaults[i], NULL, &now);
    CHECK(now.sa_handler == SIG_DFL);
  }
}

/* once_renew: an owner's renewal extends its lease; anyone else's, and any after the record ended,
 * changes nothing; bad arguments are refused before anything is touched. */
static void renew(void) {
  once_init();
  once_token token, other, zero = {{0}};
  once_response r = {0};
  char *too_long = long_key(ONCE_MAX_KEY_SIZE + 1);

  CHECK_EQ(once_claim("job-1", NULL, 0, &token, NULL), ONCE_ACQUIRED);
  CHECK_EQ(once_renew("job-1", &token, 0), 1); /* the default lease, ONCE_LEASE */
  CHECK_EQ(once_renew("job-1", &token, 60000), 1);
  CHECK_EQ(once_renew("job-1", &token, ONCE_MAX_DURATION_MS), 1); /* the longest */
  CHECK_EQ(once_renew("job-1", &token, 60000), 1);                /* shorter again */
  CHECK_EQ(once_renew("job-1", &zero, 60000), 0);                 /* a token never issued */
  CHECK_EQ(once_renew("absent", &token, 60000), 0);               /* another key's token */
  CHECK_EQ(once_lookup("absent", NULL), ONCE_ABSENT);             /* and nothing was made */
  CHECK_EQ(once_claim("job-1", NULL, 0, &other, NULL), ONCE_IN_PROGRESS);
  CHECK_EQ(once_complete("job-1", &token, 201, NULL, 0, "done", 4, 60000), 1);
  CHECK_EQ(once_renew("job-1", &token, 60000), 0); /* completed: nothing to renew */
  CHECK_EQ(once_lookup("job-1", &r), ONCE_COMPLETED);
  CHECK_EQ(r.status, 201);

  /* released: the renewal does not bring the record back */
  CHECK_EQ(once_claim("job-2", NULL, 0, &token, NULL), ONCE_ACQUIRED);
  CHECK_EQ(once_release("job-2", &token), 1);
  CHECK_EQ(once_renew("job-2", &token, 60000), 0);
  CHECK_EQ(once_lookup("job-2", NULL), ONCE_ABSENT);

  /* a lease that passed: the old token's renewal is refused, the taker's is not */
  CHECK_EQ(once_claim("job-3", NULL, 100, &token, NULL), ONCE_ACQUIRED);
  sleep_ms(400);
  CHECK_EQ(once_renew("job-3", &token, 60000), 0);
  CHECK_EQ(once_claim("job-3", NULL, 0, &other, NULL), ONCE_ACQUIRED);
  CHECK_EQ(once_renew("job-3", &token, 60000), 0);
  CHECK_EQ(once_renew("job-3", &other, 60000), 1);
  CHECK(memcmp(token.bytes, other.bytes, ONCE_TOKEN_SIZE) != 0);

  /* a renewal's lease counts from the renewal: a short one frees the key soon */
  CHECK_EQ(once_claim("job-4", NULL, 0, &token, NULL), ONCE_ACQUIRED);
  CHECK_EQ(once_renew("job-4", &token, 1), 1);
  sleep_ms(300);
  CHECK_EQ(once_claim("job-4", NULL, 0, &other, NULL), ONCE_ACQUIRED);
  CHECK_EQ(once_complete("job-4", &token, 200, NULL, 0, NULL, 0, 60000), 0);

  /* a lock's token stays inside the library: no token of the caller's renews it */
  int lock = once_lock("job-5");
  CHECK(lock > 0);
  CHECK_EQ(once_renew("job-5", &zero, 0), 0);
  CHECK_EQ(once_renew("job-5", &token, 0), 0);
  CHECK_EQ(once_lock("job-5"), 0);
  once_unlock(lock);
  CHECK_EQ(once_lookup("job-5", NULL), ONCE_ABSENT);

  /* bad arguments: refused, and the record is as it was */
  CHECK_EQ(once_claim("job-6", NULL, 0, &token, NULL), ONCE_ACQUIRED);
  CHECK_EQ(once_renew(NULL, &token, 0), ONCE_ERR_ARG);
  CHECK_EQ(once_renew("", &token, 0), ONCE_ERR_ARG);
  CHECK_EQ(once_renew(too_long, &token, 0), ONCE_ERR_ARG);
  CHECK_EQ(once_renew((char *)NOT_UTF8, &token, 0), ONCE_ERR_ARG);
  CHECK_EQ(once_renew("\xED\xA0\x80", &token, 0), ONCE_ERR_ARG); /* a surrogate */
  CHECK_EQ(once_renew("job-6", NULL, 0), ONCE_ERR_ARG);
  CHECK_EQ(once_renew(NULL, NULL, 0), ONCE_ERR_ARG);
  CHECK_EQ(once_renew("job-6", &token, -1), ONCE_ERR_ARG);
  CHECK_EQ(once_renew("job-6", &token, LLONG_MIN), ONCE_ERR_ARG);
  CHECK_EQ(once_renew("job-6", &token, ONCE_MAX_DURATION_MS + 1), ONCE_ERR_ARG);
  CHECK_EQ(once_renew("job-6", &token, LLONG_MAX), ONCE_ERR_ARG);
  CHECK_EQ(once_lookup("job-6", NULL), ONCE_IN_PROGRESS);
  CHECK_EQ(once_renew("job-6", &token, 0), 1);
  CHECK_EQ(once_complete("job-6", &token, 200, NULL, 0, NULL, 0, 60000), 1);
  free(too_long);
}

/* A record of an unknown outcome (once_complete_unknown) is told apart from every response: its
 * own outcome in once_claim and once_lookup, never a replay, never a second run. */
static void outcome_unknown(void) {
  once_init();
  unsigned char fp[ONCE_FINGERPRINT_SIZE], other[ONCE_FINGERPRINT_SIZE];
  CHECK_EQ(once_fingerprint("POST", "/transfers", NULL, "{\"to\":1}", 8, fp), 0);
  CHECK_EQ(once_fingerprint("POST", "/transfers", NULL, "{\"to\":2}", 8, other), 0);
  once_token token, second, zero = {{0}};
  char *too_long = long_key(ONCE_MAX_KEY_SIZE + 1);

  CHECK_EQ(once_claim("transfer-1", fp, 0, &token, NULL), ONCE_ACQUIRED);
  CHECK_EQ(once_complete_unknown("transfer-1", &zero, 60000), 0); /* not the owner */
  CHECK_EQ(once_lookup("transfer-1", NULL), ONCE_IN_PROGRESS);
  CHECK_EQ(once_complete_unknown("transfer-1", &token, 60000), 1);
  CHECK_EQ(once_complete_unknown("transfer-1", &token, 60000), 0); /* it ended */
  CHECK_EQ(once_complete("transfer-1", &token, 200, NULL, 0, NULL, 0, 60000), 0);
  CHECK_EQ(once_renew("transfer-1", &token, 0), 0);
  CHECK_EQ(once_release("transfer-1", &token), 0);

  /* read: the outcome, and the record filled as a response with nothing to replay */
  unsigned char body[16];
  char headers[16];
  memset(body, 0xEE, sizeof body);
  memset(headers, 0x55, sizeof headers);
  once_response r = {body, sizeof body, headers, sizeof headers, -1, -1, 99, 99, 99};
  CHECK_EQ(once_lookup("transfer-1", &r), ONCE_OUTCOME_UNKNOWN);
  CHECK_EQ(r.status, 502);
  CHECK_EQ(r.replayable, 0);
  CHECK_EQ(r.body_len, 0);
  CHECK_EQ(r.headers_len, 0);
  CHECK_EQ(r.header_count, 0);
  CHECK_EQ(body[0], 0xEE);
  CHECK_EQ((unsigned char)headers[0], 0x55);
  CHECK_EQ(once_lookup("transfer-1", NULL), ONCE_OUTCOME_UNKNOWN);

  memset(&second, 0xAB, sizeof second);
  once_response c = {body, sizeof body, headers, sizeof headers, -1, -1, 99, 99, 99};
  CHECK_EQ(once_claim("transfer-1", fp, 0, &second, &c), ONCE_OUTCOME_UNKNOWN);
  CHECK_EQ(c.status, 502);
  CHECK_EQ(c.replayable, 0);
  CHECK_EQ(c.body_len, 0);
  CHECK_EQ(second.bytes[0], 0xAB); /* no token: nothing was acquired */
  CHECK_EQ(once_claim("transfer-1", NULL, 0, &second, NULL), ONCE_OUTCOME_UNKNOWN);
  CHECK_EQ(once_claim("transfer-1", other, 0, &second, NULL), ONCE_MISMATCH); /* reuse first */

  /* the seed's functions: nothing to replay, the key stays taken, the record stays */
  char buf[16];
  strcpy(buf, "garbage");
  CHECK_EQ(once_check("transfer-1", buf, sizeof buf), 0);
  CHECK_STR(buf, "");
  CHECK_EQ(once_lock("transfer-1"), 0);
  CHECK_EQ(once_store("transfer-1", 201, "x", 1, 60), ONCE_ERR_CONFLICT);
  CHECK_EQ(once_lookup("transfer-1", NULL), ONCE_OUTCOME_UNKNOWN);

  /* a response with the same status is a response: replayable, COMPLETED */
  CHECK_EQ(once_claim("gateway-502", NULL, 0, &token, NULL), ONCE_ACQUIRED);
  CHECK_EQ(once_complete("gateway-502", &token, 502, NULL, 0, NULL, 0, 60000), 1);
  once_response g = {body, sizeof body, headers, sizeof headers, -1, -1, 99, 99, 99};
  CHECK_EQ(once_lookup("gateway-502", &g), ONCE_COMPLETED);
  CHECK_EQ(g.status, 502);
  CHECK_EQ(g.replayable, 1);
  CHECK_EQ(once_claim("gateway-502", NULL, 0, &second, NULL), ONCE_COMPLETED);
  CHECK_EQ(once_check("gateway-502", buf, sizeof buf), 502);

  /* with a lock: the seed's lock, then the record of an unknown outcome is not the lock's */
  int lock = once_lock("transfer-2");
  CHECK(lock > 0);
  CHECK_EQ(once_complete_unknown("transfer-2", &token, 60000), 0);
  once_unlock(lock);

  /* its ttl: after it, the key is free again */
  CHECK_EQ(once_claim("transfer-3", NULL, 0, &token, NULL), ONCE_ACQUIRED);
  CHECK_EQ(once_complete_unknown("transfer-3", &token, 100), 1);
  sleep_ms(400);
  CHECK_EQ(once_lookup("transfer-3", NULL), ONCE_ABSENT);
  CHECK_EQ(once_claim("transfer-3", NULL, 0, &second, NULL), ONCE_ACQUIRED);

  /* the longest ttl; bad arguments refused, the record as it was */
  CHECK_EQ(once_claim("transfer-4", NULL, 0, &token, NULL), ONCE_ACQUIRED);
  CHECK_EQ(once_complete_unknown(NULL, &token, 1000), ONCE_ERR_ARG);
  CHECK_EQ(once_complete_unknown("", &token, 1000), ONCE_ERR_ARG);
  CHECK_EQ(once_complete_unknown(too_long, &token, 1000), ONCE_ERR_ARG);
  CHECK_EQ(once_complete_unknown((char *)NOT_UTF8, &token, 1000), ONCE_ERR_ARG);
  CHECK_EQ(once_complete_unknown("transfer-4", NULL, 1000), ONCE_ERR_ARG);
  CHECK_EQ(once_complete_unknown("transfer-4", &token, 0), ONCE_ERR_ARG);
  CHECK_EQ(once_complete_unknown("transfer-4", &token, -1), ONCE_ERR_ARG);
  CHECK_EQ(once_complete_unknown("transfer-4", &token, LLONG_MIN), ONCE_ERR_ARG);
  CHECK_EQ(once_complete_unknown("transfer-4", &token, ONCE_MAX_DURATION_MS + 1), ONCE_ERR_ARG);
  CHECK_EQ(once_complete_unknown("transfer-4", &token, LLONG_MAX), ONCE_ERR_ARG);
  CHECK_EQ(once_lookup("transfer-4", NULL), ONCE_IN_PROGRESS);
  CHECK_EQ(once_complete_unknown("transfer-4", &token, ONCE_MAX_DURATION_MS), 1);
  CHECK_EQ(once_lookup("transfer-4", NULL), ONCE_OUTCOME_UNKNOWN);
  free(too_long);
}

/* What a second caller sees of a key another holds, probed until it sees the replay. */
typedef struct watch {
  const char *key;
  const char *body;    /* of the response the holder stores */
  atomic_int *stop;    /* set if the replay never comes, so the case ends */
  atomic_long probes;
  atomic_long in_progress;
  atomic_long replays;
  atomic_long taken;      /* the watcher owned the key: the holder's hold was broken */
  atomic_long unexpected; /* anything else: an error, a record going back to in progress */
} watch;

static void *watch_key(void *arg) {
  watch *w = arg;
  char buf[64];
  once_token token;
  int completed = 0;
  while (!atomic_load(w->stop) && atomic_load(&w->replays) < 3) {
    int claim = once_claim(w->key, NULL, 0, &token, NULL);
    if (claim == ONCE_ACQUIRED) {
      atomic_fetch_add(&w->taken, 1);
      once_release(w->key, &token);
    } else if (claim == ONCE_IN_PROGRESS && !completed) {
      atomic_fetch_add(&w->in_progress, 1);
    } else if (claim == ONCE_COMPLETED) {
      completed = 1;
    } else {
      atomic_fetch_add(&w->unexpected, 1);
    }
    int lock = once_lock((char *)w->key);
    if (lock > 0) {
      atomic_fetch_add(&w->taken, 1);
      once_unlock(lock);
    } else if (lock < 0) {
      atomic_fetch_add(&w->unexpected, 1);
    }
    int check = once_check((char *)w->key, buf, sizeof buf);
    if (check == 201 && strcmp(buf, w->body) == 0) {
      completed = 1;
      atomic_fetch_add(&w->replays, 1);
    } else if (check != 0 || completed) {
      atomic_fetch_add(&w->unexpected, 1);
    }
    atomic_fetch_add(&w->probes, 1);
    sleep_ms(10);
  }
  return NULL;
}

static long elapsed_ms(const struct timespec *since) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (now.tv_sec - since->tv_sec) * 1000L + (now.tv_nsec - since->tv_nsec) / 1000000L;
}

/* Lets acquire() take key, starts a watcher of it, lets hold() keep it for at least 3.5 leases of
 * 1 s, then lets finish() store the response, and requires the watcher to have seen the key in
 * progress the whole time (it probes every 10 ms and never owned it) and the response replayed
 * afterwards. */
static void held_past_leases(const char *key, void (*acquire)(const char *),
                             void (*hold)(const char *, long), void (*finish)(const char *)) {
  atomic_int stop = 0;
  watch w = {.key = key, .body = "done", .stop = &stop};
  struct timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  acquire(key);
  pthread_t watcher;
  pthread_create(&watcher, NULL, watch_key, &w);
  hold(key, 3500);
  long held_ms = elapsed_ms(&start);
  long in_progress = atomic_load(&w.in_progress);
  finish(key);
  for (int i = 0; i < 1000 && atomic_load(&w.replays) < 3; i++) {
    sleep_ms(10);
  }
  atomic_store(&stop, 1);
  pthread_join(watcher, NULL);
  printf("%s: held %ld ms; the watcher probed %ld times: %ld in progress, %ld replays\n", key,
         held_ms, atomic_load(&w.probes), atomic_load(&w.in_progress), atomic_load(&w.replays));
  CHECK(held_ms >= 3500);
  CHECK(in_progress > 0);
  CHECK_EQ(atomic_load(&w.taken), 0);
  CHECK_EQ(atomic_load(&w.unexpected), 0);
  CHECK_EQ(atomic_load(&w.replays), 3);
}

static int seed_lock;

static void lock_key(const char *key) {
  seed_lock = once_lock((char *)key);
  CHECK(seed_lock > 0);
}

static void wait_while_renewed(const char *key, long ms) {
  sleep_ms(ms); /* the library renews the lock meanwhile */
}

static void store_and_unlock(const char *key) {
  CHECK_EQ(once_store((char *)key, 201, "done", 4, 60), 0);
  once_unlock(seed_lock);
}

static once_token claim_token;

static void claim_key(const char *key) {
  CHECK_EQ(once_claim(key, NULL, 1000, &claim_token, NULL), ONCE_ACQUIRED);
}

static void renew_claim(const char *key, long ms) {
  long renewals = 0, renewed = 0;
  for (long waited = 0; waited < ms; waited += 100) {
    sleep_ms(100);
    renewals++;
    renewed += once_renew(key, &claim_token, 1000) == 1;
  }
  CHECK_EQ(renewed, renewals);
}

static void complete_claim(const char *key) {
  CHECK_EQ(once_complete(key, &claim_token, 201, NULL, 0, "done", 4, 60000), 1);
}

/* A key held longer than several leases (ONCE_LEASE=1s) stays the holder's: a once_lock
 * (renewed by the library) and a once_claim renewed with once_renew. Another thread probing it
 * (once_claim, once_lock, once_check) sees it in progress the whole time, never owns it, and then
 * sees the response replayed. */
static void hold(void) {
  once_init();
  once_token warm;
  once_unlock(once_lock("warm")); /* each path once, so loading classes does not eat a lease */
  CHECK_EQ(once_claim("warm", NULL, 0, &warm, NULL), ONCE_ACQUIRED);
  CHECK_EQ(once_renew("warm", &warm, 0), 1);
  CHECK_EQ(once_complete("warm", &warm, 201, NULL, 0, "done", 4, 60000), 1);
  char buf[8];
  CHECK_EQ(once_check("warm", buf, sizeof buf), 201);

  held_past_leases("held-lock", lock_key, wait_while_renewed, store_and_unlock);
  held_past_leases("held-claim", claim_key, renew_claim, complete_claim);
}

enum { RACE_THREADS = 8, RACE_KEYS = 4 };

static atomic_int race_owners[2][RACE_KEYS];

typedef struct contender {
  int index;
  long acquired, double_owners, owner_refused, stranger_renewed, stale_renewed, unexpected;
} contender;

/* Claims, renews and releases a few keys that every thread wants, with the extended API. */
static void *contend_with_tokens(void *arg) {
  contender *c = arg;
  char key[32];
  for (int i = 0; i < 3000; i++) {
    int k = (i + c->index) % RACE_KEYS;
    snprintf(key, sizeof key, "contended-%d", k);
    once_token token, forged;
    memset(&forged, c->index, sizeof forged);
    int rc = once_claim(key, NULL, 0, &token, NULL);
    if (rc == ONCE_ACQUIRED) {
      c->acquired++;
      c->double_owners += atomic_fetch_add(&race_owners[0][k], 1) != 0;
      for (int r = 0; r < 3; r++) {
        c->owner_refused += once_renew(key, &token, r == 0 ? 0 : 60000) != 1;
      }
      c->stranger_renewed += once_renew(key, &forged, 60000) != 0;
      atomic_fetch_sub(&race_owners[0][k], 1);
      c->unexpected += once_release(key, &token) != 1;
      c->stale_renewed += once_renew(key, &token, 60000) != 0;
    } else if (rc == ONCE_IN_PROGRESS) {
      c->stranger_renewed += once_renew(key, &forged, 60000) != 0;
    } else {
      c->unexpected++;
    }
  }
  return NULL;
}

static atomic_int locking_stops;

/* Locks, stores and unlocks with the seed's API while the library renews the locks held. */
static void *contend_with_locks(void *arg) {
  contender *c = arg;
  char key[48], buf[48];
  for (long i = 0; !atomic_load(&locking_stops); i++) {
    int k = (int)((i + c->index) % RACE_KEYS);
    snprintf(key, sizeof key, "locked-%d", k);
    int lock = once_lock(key);
    if (lock > 0) {
      c->acquired++;
      c->double_owners += atomic_fetch_add(&race_owners[1][k], 1) != 0;
      atomic_fetch_sub(&race_owners[1][k], 1);
      once_unlock(lock);
    } else if (lock < 0) {
      c->unexpected++;
    }
    if (i >= 500) {
      continue; /* enough records kept: the store's bound must not evict the ones checked */
    }
    /* a key of its own: locked, stored and unlocked, then replayed */
    snprintf(key, sizeof key, "stored-%d-%ld", c->index, i);
    lock = once_lock(key);
    c->unexpected += lock <= 0;
    c->unexpected += once_store(key, 201, key, (int)strlen(key), 60) != 0;
    once_unlock(lock);
    c->unexpected += once_check(key, buf, sizeof buf) != 201 || strcmp(buf, key) != 0;
  }
  return NULL;
}

/* Many threads claiming and renewing the same keys at once: never two owners, an owner's renewal
 * always succeeds, a stranger's or a released token's never does. Then seed locks on the same few
 * keys while the library's renewals run (ONCE_LEASE_SECONDS=1: a round every third of a second). */
static void renew_race(void) {
  once_init();
  pthread_t threads[RACE_THREADS];
  contender contenders[RACE_THREADS];
  memset(contenders, 0, sizeof contenders);
  for (int i = 0; i < RACE_THREADS; i++) {
    contenders[i].index = i + 1;
    pthread_create(&threads[i], NULL, contend_with_tokens, &contenders[i]);
  }
  contender sum = {0};
  for (int i = 0; i < RACE_THREADS; i++) {
    pthread_join(threads[i], NULL);
    sum.acquired += contenders[i].acquired;
    sum.double_owners += contenders[i].double_owners;
    sum.owner_refused += contenders[i].owner_refused;
    sum.stranger_renewed += contenders[i].stranger_renewed;
    sum.stale_renewed += contenders[i].stale_renewed;
    sum.unexpected += contenders[i].unexpected;
  }
  printf("tokens: %ld acquired of %d claims\n", sum.acquired, RACE_THREADS * 3000);
  CHECK(sum.acquired > 0);
  CHECK_EQ(sum.double_owners, 0);
  CHECK_EQ(sum.owner_refused, 0);
  CHECK_EQ(sum.stranger_renewed, 0);
  CHECK_EQ(sum.stale_renewed, 0);
  CHECK_EQ(sum.unexpected, 0);
  for (int k = 0; k < RACE_KEYS; k++) {
    char key[32];
    snprintf(key, sizeof key, "contended-%d", k);
    CHECK_EQ(once_lookup(key, NULL), ONCE_ABSENT);
  }

  memset(contenders, 0, sizeof contenders);
  for (int i = 0; i < RACE_THREADS; i++) {
    contenders[i].index = i + 1;
    pthread_create(&threads[i], NULL, contend_with_locks, &contenders[i]);
  }
  sleep_ms(1500); /* several rounds of renewals */
  atomic_store(&locking_stops, 1);
  memset(&sum, 0, sizeof sum);
  for (int i = 0; i < RACE_THREADS; i++) {
    pthread_join(threads[i], NULL);
    sum.acquired += contenders[i].acquired;
    sum.double_owners += contenders[i].double_owners;
    sum.unexpected += contenders[i].unexpected;
  }
  printf("locks: %ld acquired\n", sum.acquired);
  CHECK(sum.acquired > 0);
  CHECK_EQ(sum.double_owners, 0);
  CHECK_EQ(sum.unexpected, 0);
  for (int k = 0; k < RACE_KEYS; k++) {
    char key[32];
    snprintf(key, sizeof key, "locked-%d", k);
    int lock = once_lock(key); /* every lock was unlocked: each key is free */
    CHECK(lock > 0);
    once_unlock(lock);
  }
}

int main(int argc, char **argv) {
  static const test_case cases[] = {
      {"before_init", before_init},
      {"seed", seed},
      {"seed_errors", seed_errors},
      {"expiry", expiry},
      {"destroy", destroy},
      {"destroy_under_load", destroy_under_load},
      {"race", race},
      {"threads", threads},
      {"extended", extended},
      {"extended_errors", extended_errors},
      {"store_failure", store_failure},
      {"open_errors", open_errors},
      {"no_jvm", no_jvm},
      {"out_of_memory", out_of_memory},
      {"join", join},
      {"signals", signals},
      {"renew", renew},
      {"outcome_unknown", outcome_unknown},
      {"hold", hold},
      {"renew_race", renew_race},
  };
  return testing_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
}
