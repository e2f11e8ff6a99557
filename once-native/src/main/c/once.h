/*
 * once.h: idempotency keys for programs not on the JVM.
 *
 * libonce.so keeps the C API of the Go library aqylsoft/once (the six "seed" functions, same
 * names, same prototypes) over the once engine, which runs in a Java virtual machine that the
 * library creates, or joins when the process already has one. C programs, and anything with a C
 * FFI (Python ctypes, Ruby, PHP, nginx modules), share records with Java services that use the
 * same store (ONCE_STORE=redis://... or jdbc:postgresql://..., when those store modules are on
 * the class path).
 *
 * Typical use, as an HTTP handler would do it:
 *
 *     char body[4096];
 *     int status = once_check(key, body, sizeof body);
 *     if (status > 0) { reply(status, body); return; }          // a retry: replay
 *     int lock = once_lock(key);
 *     if (lock == 0) { reply(409, "in progress"); return; }      // a duplicate is running
 *     if (lock < 0) { reply(503, once_strerror(lock)); return; } // the store failed
 *     ... run the handler ...
 *     once_store(key, 201, out, out_len, 86400);
 *     once_unlock(lock);
 *
 * ENVIRONMENT (read by once_init and once_open)
 *   ONCE_STORE          the store URL: "memory" (default), or a URL a store module on the class
 *                       path accepts (redis://host:port/db, jdbc:postgresql://...).
 *   ONCE_LEASE          the lease of once_lock, and the default lease of once_claim and
 *                       once_renew: a duration from 1s to 365d (default 60s), written as the
 *                       proxy's flags and the store URLs write them: 30s, 5m, 1h30m, PT90S. A
 *                       lock is renewed while it is held, so this is only how long its key stays
 *                       held after the process died (or once_destroy) before another caller may
 *                       take it.
 *   ONCE_LEASE_SECONDS  the older form of ONCE_LEASE, still read when ONCE_LEASE is unset: a
 *                       whole number of seconds from 1 to 31536000.
 *   ONCE_CLASSPATH      the class path of the JVM, ':'-separated; an entry "dir/ *" (no space)
 *                       stands for every .jar in dir. Default: libonce.jar next to libonce.so
 *                       (found with dladdr), then every .jar in libonce.d/ next to it (drop store
 *                       modules and their dependencies there).
 *   JAVA_HOME           where libjvm.so is looked for ($JAVA_HOME/lib/server/libjvm.so). When
 *                       unset, the JDK libonce.so was built with. Java 17 or newer.
 *   ONCE_JVM_OPTIONS    extra JVM options, separated by spaces (no quoting), such as
 *                       "-Xmx256m -XX:+UseSerialGC". The JVM itself may end the process on an
 *                       option it cannot honour at start (a heap it cannot reserve).
 *
 * THE JVM
 *   The JVM is created on the first once_init/once_open, on a thread of its own, with -Xrs so the
 *   host keeps its signal handlers for SIGINT, SIGTERM, SIGHUP and SIGQUIT. If the process already
 *   runs a JVM (it was started by java, or linked libjvm), the library joins it and loads its
 *   classes there with a class loader of its own. The JVM lives until the process exits:
 *   once_destroy closes the store but a JVM cannot be created twice in one process.
 *   The JVM handles SIGSEGV, SIGBUS, SIGFPE and SIGILL itself (it uses them for null checks and
 *   safepoints). A host that installs its own handlers for those signals after once_init must load
 *   the JDK's signal-chaining library first, or the JVM crashes on its first trap:
 *       LD_PRELOAD=$JAVA_HOME/lib/libjsig.so ./host
 *
 * THREADS
 *   Every function may be called from any thread, concurrently. A thread's first call attaches it
 *   to the JVM as a daemon thread named "libonce" (once per thread; it costs up to half a
 *   millisecond, so prefer long-lived threads); the library detaches it when the thread exits
 *   (pthread_exit or return from its start routine). Each thread
 *   keeps an I/O buffer of 16 KiB or the size of its largest recent call, up to 1 MiB, until it
 *   exits. A thread the host attached itself stays the host's: the library never detaches it, and
 *   the host must not detach a thread the library attached. A JVM does not survive fork(): after
 *   it, only the parent may call the library: a pre-forking server calls once_init in each worker
 *   after the fork, never in the master before it.
 *
 * ERRORS
 *   Every function that returns int returns a negative ONCE_ERR_* code on error, and never
 *   crashes on bad input: NULL pointers, bad lengths, keys that are not UTF-8, calls before
 *   once_init or after once_destroy are all errors. There is no errno: the code is the return
 *   value. Keys are NUL-terminated UTF-8 strings of 1 to ONCE_MAX_KEY_SIZE bytes; they are the
 *   store's keys as they are (a Java OnceFilter with KeyScope.global() uses the Idempotency-Key
 *   value itself; with a principal scope, "principal key").
 */
#ifndef ONCE_H
#define ONCE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ONCE_ERR_ARG (-1)      /* a bad argument: NULL, a length out of range, a key not UTF-8 */
#define ONCE_ERR_STATE (-2)    /* not initialized, initialization failed, or once_destroy called */
#define ONCE_ERR_STORE (-3)    /* the store failed: unreachable, timed out, closed */
#define ONCE_ERR_JVM (-4)      /* no JVM could be created or joined, or the JVM failed the call */
#define ONCE_ERR_NOMEM (-5)    /* out of memory, in C or in the JVM's heap */
#define ONCE_ERR_CONFLICT (-6) /* once_store: another caller holds the key, or a response is
                                  already stored for it; nothing was stored */

#define ONCE_MAX_KEY_SIZE 4096            /* bytes of a key, without the NUL */
#define ONCE_MAX_BODY_SIZE (1u << 30)     /* bytes of a body (1 GiB) */
#define ONCE_MAX_HEADERS_SIZE (1u << 20)  /* bytes of packed headers (1 MiB) */
#define ONCE_FINGERPRINT_SIZE 32          /* a SHA-256 hash */
#define ONCE_TOKEN_SIZE 16

/* ---------------------------------------------------------------------------------------------
 * The seed's API. Prototypes as in aqylsoft/once's libonce.h (char *, int lengths), so a program
 * written against it builds unchanged; a string literal passed to them is never written to.
 * ------------------------------------------------------------------------------------------- */

/*
 * Creates (or joins an already running) JVM and opens the store named by ONCE_STORE ("memory" by
 * default). A second call does nothing. On failure it writes one line saying why to stderr, and
 * every other function returns ONCE_ERR_STATE until a later call succeeds (once_open reports the
 * same failure as a code and a message instead).
 */
void once_init(void);

/*
 * Closes the store (and its connections); every call after it, of any function, returns
 * ONCE_ERR_STATE (once_init does nothing). Calls already running finish or return ONCE_ERR_STATE.
 * The JVM is not destroyed (see THE JVM). Calling it twice, or before once_init, is harmless.
 */
void once_destroy(void);

/*
 * If a completed response is stored for key, copies up to responseLen - 1 bytes of its body into
 * response, writes a terminating NUL after them, and returns its HTTP status (100 to 599).
 * Returns 0 when nothing is stored, when the key is still in flight, when the response was
 * stored without its body because it was too large to keep (a Java service's maxResponseBytes),
 * or when the record says the outcome is unknown (once_complete_unknown, or a Java service's
 * unknownOutcome KEEP): then once_lock returns 0 too, and the caller answers 409; once_lookup
 * tells those apart. On 0, response holds "".
 * A body holding NUL bytes is copied whole but reads short as a string: use once_lookup for
 * binary bodies and for the body's length. Never changes the record.
 * Errors: ONCE_ERR_ARG (key NULL, empty, longer than ONCE_MAX_KEY_SIZE or not UTF-8; response
 * NULL; responseLen under 1), ONCE_ERR_STATE, ONCE_ERR_STORE, ONCE_ERR_JVM, ONCE_ERR_NOMEM.
 */
int once_check(char *key, char *response, int responseLen);

/*
 * Stores a completed response (status and body; no headers) for ttlSeconds, and returns 0.
 * If this process holds a lock on key (once_lock), the locked record is completed; otherwise the
 * key is claimed and completed in one go, as the seed's store without a lock did. A key keeps its
 * first response: when another caller holds the key, or a response is already stored for it,
 * nothing changes and ONCE_ERR_CONFLICT is returned. body may be NULL when bodyLen is 0.
 * Errors: ONCE_ERR_ARG (key as for once_check; statusCode outside 100 to 599; bodyLen negative or
 * over ONCE_MAX_BODY_SIZE; body NULL with bodyLen > 0; ttlSeconds under 1), ONCE_ERR_CONFLICT,
 * ONCE_ERR_STATE, ONCE_ERR_STORE, ONCE_ERR_JVM, ONCE_ERR_NOMEM.
 */
int once_store(char *key, int statusCode, char *body, int bodyLen, int ttlSeconds);

/*
 * Never blocks (beyond one store round trip). Returns a lock id greater than 0 when the caller
 * now owns the key; 0 when another caller holds it or a response is already stored (the caller
 * answers 409, or replays with once_check); a negative code on error (as for once_check).
 * The lock holds the key for as long as it takes: the library renews its lease (ONCE_LEASE)
 * in the store every third of it, on a thread of the JVM, until once_unlock, until once_store
 * completes its record, or until once_destroy. So no other caller, in this process or another
 * sharing the store, can take the key while the work runs, however long; and when the process
 * dies, the renewals stop and the key is free again once the lease passes. A lock never unlocked
 * (and never stored) therefore holds its key while the process lives: unlock on every path.
 * If its renewals fail for a whole lease (the store down), the lock is lost, and its once_store
 * then claims the key anew if it is still free. The lock belongs to the process: any thread may
 * store or unlock with it. Ids are unique among the locks held at once.
 */
int once_lock(char *key);

/*
 * Gives the key back: if no response was stored under the lock, the next once_lock on that key
 * succeeds; if one was, it stays. An unknown or repeated id (or 0, or a negative one) is ignored,
 * and so is a store failure (the lease then frees the key).
 */
void once_unlock(int lockId);

/* ---------------------------------------------------------------------------------------------
 * The extended API: what the seed's cannot express. Binary-safe bodies with their length, stored
 * headers, fingerprints (a retry that changed its request is told apart), the store's atomic
 * operations with owner tokens (claim, renew, complete, release), records of an unknown outcome,
 * and the store chosen by the caller. Buffers belong to the caller; sizes are size_t; the return
 * value is the only error report.
 * ------------------------------------------------------------------------------------------- */

/* Outcomes of once_claim and once_lookup (not errors). */
#define ONCE_ABSENT 0      /* once_lookup: no live record */
#define ONCE_ACQUIRED 1    /* once_claim: the caller owns a new in-progress record; *token is set */
#define ONCE_IN_PROGRESS 2 /* another caller owns the record and has not finished */
#define ONCE_COMPLETED 3   /* the record holds a response; *response is filled */
#define ONCE_MISMATCH 4    /* once_claim: the record was made for another request (its fingerprint
                              differs): answer 422, the key was reused */
#define ONCE_OUTCOME_UNKNOWN 5 /* the record says the first request's outcome cannot be known (it
                              may or may not have been done; see once_complete_unknown): nothing to
                              replay and nothing to run again; answer 502. *response is filled as
                              for ONCE_COMPLETED: status 502, replayable 0, no headers, no body */

#define ONCE_MAX_DURATION_MS 3153600000000LL /* the longest lease or ttl: 100 years (36,500 days),
                                                as the Java engine's Once.MAX_DURATION */

/* The owner token of an in-progress record: it fences once_complete and once_release. */
typedef struct once_token {
  unsigned char bytes[ONCE_TOKEN_SIZE];
} once_token;

/* One response header, for once_complete: NUL-terminated UTF-8, name not empty. */
typedef struct once_header {
  const char *name;
  const char *value;
} once_header;

/*
 * A stored response, read by once_lookup and once_claim into the caller's buffers.
 * The caller sets body/body_cap and headers/headers_cap (NULL and 0 for none) before each call;
 * the call sets the rest when the outcome is ONCE_COMPLETED:
 *   body_len      the full body length; min(body_len, body_cap) bytes were copied, so
 *                 body_len > body_cap means the body was cut (call again with a larger buffer).
 *   headers_len   the bytes the headers take packed as "name\0value\0name\0value\0...", in order
 *                 (a name may repeat). They are copied only when they fit whole (headers_len <=
 *                 headers_cap); otherwise nothing is copied. Walk them with once_header_next.
 *   header_count  the number of headers.
 *   replayable    1 for a response to replay; 0 when the response was stored without its body
 *                 because it was too large to keep (the Java side's maxResponseBytes): answer
 *                 409, do not replay; 0 too with the outcome ONCE_OUTCOME_UNKNOWN (status 502).
 */
typedef struct once_response {
  void *body;
  size_t body_cap;
  char *headers;
  size_t headers_cap;
  int status;
  int replayable;
  size_t body_len;
  size_t headers_len;
  size_t header_count;
} once_response;

/*
 * Like once_init, with the store URL given (NULL: ONCE_STORE, else "memory") and the failure
 * reported: returns 0, or a negative code with a one-line message copied into error (cut to
 * error_cap - 1 bytes and NUL-terminated; error may be NULL when error_cap is 0).
 * Returns 0 when the library is already open on the same URL (or url is NULL); ONCE_ERR_STATE
 * when it is open on another one, or after once_destroy; ONCE_ERR_ARG for a URL no store accepts
 * or a bad ONCE_LEASE; ONCE_ERR_JVM when no JVM can be created or joined (libjvm.so or
 * libonce.jar not found, a class missing); ONCE_ERR_STORE when the store cannot be reached.
 * After a failure it may be called again.
 */
int once_open(const char *url, char *error, size_t error_cap);

/*
 * A short, constant English description of a code of this header ("ONCE_ERR_STORE: the store
 * failed"). Never NULL.
 */
const char *once_strerror(int code);

/*
 * The fingerprint the Java OnceFilter computes for a request: SHA-256 over the method, path,
 * query (NULL when the request has none; "" is the same) and body, into out. So a C server and a
 * Java service sharing a store agree on which retries are the same request. body may be NULL when
 * body_len is 0. Returns 0, or ONCE_ERR_ARG (method, path or out NULL; method empty or over
 * ONCE_MAX_KEY_SIZE bytes; path or query over ONCE_MAX_HEADERS_SIZE bytes; a string not UTF-8;
 * body NULL with body_len > 0; body_len over ONCE_MAX_BODY_SIZE), ONCE_ERR_STATE, ONCE_ERR_JVM,
 * ONCE_ERR_NOMEM.
 */
int once_fingerprint(const char *method, const char *path, const char *query, const void *body,
                     size_t body_len, unsigned char out[ONCE_FINGERPRINT_SIZE]);

/*
 * Claims key: atomically, if no live record exists (none, or one whose lease passed), creates an
 * in-progress record owned by a new token, writes the token to *token and returns ONCE_ACQUIRED.
 * Among concurrent claims of one key, in every process sharing the store, exactly one acquires.
 * Otherwise returns what is there: ONCE_MISMATCH when fingerprint is not NULL and the record was
 * made with a different one (in progress or completed), else ONCE_IN_PROGRESS, ONCE_COMPLETED
 * with the response copied into *response (when response is not NULL), or ONCE_OUTCOME_UNKNOWN.
 * fingerprint: ONCE_FINGERPRINT_SIZE bytes (see once_fingerprint), or NULL to skip the check.
 * lease_ms: how long the record is held before it is presumed abandoned; 0 for the default
 * (ONCE_LEASE). The library does not renew it: renew it with once_renew while the work
 * runs (every third of the lease), so the lease need only be as long as it may take to notice
 * that the process died. token must not be NULL; it is written only on ONCE_ACQUIRED.
 * Errors: ONCE_ERR_ARG (key as for once_check; token NULL; lease_ms negative or over
 * ONCE_MAX_DURATION_MS; response with a NULL buffer and a capacity over 0), ONCE_ERR_STATE,
 * ONCE_ERR_STORE, ONCE_ERR_JVM, ONCE_ERR_NOMEM.
 */
int once_claim(const char *key, const unsigned char *fingerprint, long long lease_ms,
               once_token *token, once_response *response);

/*
 * Completes the in-progress record of key with a response kept for ttl_ms milliseconds, if token
 * still owns it (its lease has not passed and it was not released). Returns 1 when completed, 0
 * when the token no longer owns the record (nothing changed). headers: header_count headers, may
 * be NULL when header_count is 0; body may be NULL when body_len is 0; bodies are binary.
 * Errors: ONCE_ERR_ARG (key as for once_check; token NULL; status outside 100 to 599; a header
 * with a NULL or empty name, a NULL value, or a string not UTF-8; headers over
 * ONCE_MAX_HEADERS_SIZE packed; body NULL with body_len > 0; body_len over ONCE_MAX_BODY_SIZE;
 * ttl_ms under 1 or over ONCE_MAX_DURATION_MS), ONCE_ERR_STATE, ONCE_ERR_STORE, ONCE_ERR_JVM,
 * ONCE_ERR_NOMEM.
 */
int once_complete(const char *key, const once_token *token, int status,
                  const once_header *headers, size_t header_count, const void *body,
                  size_t body_len, long long ttl_ms);

/*
 * Completes the in-progress record of key as "outcome unknown" for ttl_ms milliseconds, if token
 * still owns it: for work whose outcome cannot be known (it was handed to something that then
 * went silent or broke off, so it may or may not have been done). Every claim and lookup of the
 * key then returns ONCE_OUTCOME_UNKNOWN until the ttl passes, once_check returns 0 and once_lock
 * 0, and a Java service sharing the store answers its retries 502 (outcome-unknown): the work
 * never runs twice under the key. Returns 1 when completed, 0 when the token no longer owns the
 * record (nothing changed).
 * Errors: ONCE_ERR_ARG (key as for once_check; token NULL; ttl_ms under 1 or over
 * ONCE_MAX_DURATION_MS), ONCE_ERR_STATE, ONCE_ERR_STORE, ONCE_ERR_JVM, ONCE_ERR_NOMEM.
 */
int once_complete_unknown(const char *key, const once_token *token, long long ttl_ms);

/*
 * Deletes the in-progress record of key if token still owns it, so the next claim acquires.
 * Returns 1 when released, 0 when the token no longer owns it.
 * Errors: ONCE_ERR_ARG (key as for once_check; token NULL), ONCE_ERR_STATE, ONCE_ERR_STORE,
 * ONCE_ERR_JVM, ONCE_ERR_NOMEM.
 */
int once_release(const char *key, const once_token *token);

/*
 * Renews the lease of the in-progress record of key: atomically, if token still owns it (its
 * lease has not passed, and it was not completed, released or taken over), the record is held
 * for lease_ms milliseconds from now (0: ONCE_LEASE), and 1 is returned; otherwise
 * nothing changes and 0 is returned: the key is no longer the caller's (stop the work if it can
 * be stopped; its once_complete will return 0). Call it every third of the lease while the work
 * runs, so the record outlives the work however long it takes, and a process that dies frees the
 * key one lease later. The locks of once_lock are renewed by the library; their tokens are not
 * the caller's.
 * Errors: ONCE_ERR_ARG (key as for once_check; token NULL; lease_ms negative or over
 * ONCE_MAX_DURATION_MS), ONCE_ERR_STATE, ONCE_ERR_STORE (the lease was not renewed: try again
 * before it passes), ONCE_ERR_JVM, ONCE_ERR_NOMEM.
 */
int once_renew(const char *key, const once_token *token, long long lease_ms);

/*
 * Reads the live record of key without changing it: ONCE_ABSENT, ONCE_IN_PROGRESS,
 * ONCE_COMPLETED with the response copied into *response (when not NULL), or
 * ONCE_OUTCOME_UNKNOWN (with *response filled the same way: status 502, replayable 0).
 * Errors: ONCE_ERR_ARG (key as for once_check; response with a NULL buffer and a capacity over 0),
 * ONCE_ERR_STATE, ONCE_ERR_STORE, ONCE_ERR_JVM, ONCE_ERR_NOMEM.
 */
int once_lookup(const char *key, once_response *response);

/*
 * Walks packed headers (once_response.headers, headers_len bytes): sets *name and *value to the
 * header at *pos and advances *pos; start with *pos = 0. Returns 1, or 0 when there are no more
 * (or the buffer is not well formed).
 */
int once_header_next(const char *headers, size_t headers_len, size_t *pos, const char **name,
                     const char **value);

#ifdef __cplusplus
}
#endif

#endif /* ONCE_H */
