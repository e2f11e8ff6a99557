package dev.once;

import dev.once.spi.Claim;
import dev.once.spi.Deletion;
import dev.once.spi.IdempotencyStore;
import dev.once.spi.RecordInfo;
import dev.once.spi.StoreException;
import dev.once.spi.StoreFullException;
import dev.once.spi.Ticker;
import dev.once.spi.Token;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * The idempotency engine and its configuration: turns each request into a {@link Decision} (run
 * the handler, replay, 409, 422, 400, 408, 413, 503) against an {@link IdempotencyStore}.
 *
 * <p>Built once with {@link #builder(IdempotencyStore)}, then immutable and thread-safe: one
 * instance serves every request of an application. Adapters (the Servlet filter, the proxy) call
 * {@link #decide} for each request and act on the answer.
 *
 * <p>What it guarantees, while a key's record lives (held while its request runs, then its ttl
 * once completed): the handler runs at most once per scoped key and fingerprint; a duplicate that
 * arrives while it runs is answered 409 (or waits up to {@code maxWait} for the replay, with no
 * thread held); a retry after it finished gets the stored response; a request that reuses the key
 * for a different request gets 422. A key's record is held by an {@link Exchange} from the claim
 * until the request's outcome is known, its lease renewed all the while, so a slow handler or a
 * long response never lets a retry run beside it; only a crashed owner lets its lease pass.
 */
public final class Once {
  private static final System.Logger LOG = System.getLogger("dev.once");
  /** The header the draft standard names, and the default. */
  public static final String DEFAULT_HEADER = "Idempotency-Key";
  /** The header every replayed response carries. */
  public static final String REPLAYED_HEADER = "Idempotent-Replayed";
  /** The default lease: 30 seconds, renewed every 10 while the request runs. */
  public static final Duration DEFAULT_LEASE = Duration.ofSeconds(30);
  /** The default time a keyed request's body has to arrive: 30 seconds. */
  public static final Duration DEFAULT_BODY_TIMEOUT = Duration.ofSeconds(30);

  private static final Decision PASS_THROUGH = new Decision.PassThrough(Outcome.PASSED_THROUGH);
  private static final Decision FAILED_OPEN = new Decision.PassThrough(Outcome.FAILED_OPEN);

  /** The clock an engine built without one uses: waits are then timed by {@link Ticker#system}. */
  private static final Clock SYSTEM_CLOCK = Clock.systemUTC();

  /**
   * Response headers never kept, whatever {@code excludedHeaders} says: hop-by-hop headers, the
   * framing ({@code Content-Length}), {@code Date} (a replay carries a fresh one), our own marker,
   * and every header that can carry a credential or session, so one response can never hand a
   * client another's session.
   */
  static final Set<String> NEVER_REPLAYED = caseInsensitive(List.of(
      "Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Proxy-Connection",
      "TE", "Trailer", "Transfer-Encoding", "Upgrade", "Content-Length", "Date", REPLAYED_HEADER,
      "Set-Cookie", "Set-Cookie2", "Cookie", "Authorization", "Authentication-Info",
      "Proxy-Authentication-Info"));

  private final IdempotencyStore store;
  private final String header;
  private final Duration ttl;
  private final boolean requireKey;
  private final boolean[] cacheable;
  private final Set<Integer> cacheableStatuses;
  private final boolean requestHashCheck;
  private final Duration lease;
  private final Duration maxWait;
  private final Set<String> methods;
  private final Set<String> methodsUpper;
  private final KeyScope keyScope;
  private final int maxKeyLength;
  private final long maxBodyBytes;
  private final Duration bodyTimeout;
  private final long maxResponseBytes;
  private final boolean failOpen;
  private final Set<String> excludedHeaders;
  private final OnceListener listener;
  private final Clock clock;
  private final Ticker ticker;
  private final UnknownOutcome unknownOutcome;
  private final ScheduledExecutorService scheduler;
  private final long maxWaitNanos;
  private final Renewals renewals;

  private Once(Builder builder) {
    // the owner tokens' per-process salt comes from SecureRandom, which may read the system's
    // seed: here, at build time, not on the first claim's thread (a Netty event loop, say)
    dev.once.spi.Token.random();
    store = builder.store;
    header = builder.header;
    ttl = builder.ttl;
    requireKey = builder.requireKey;
    cacheableStatuses = Collections.unmodifiableSet(new TreeSet<>(builder.cacheableStatuses));
    cacheable = new boolean[600];
    for (int status : cacheableStatuses) {
      cacheable[status] = true;
    }
    requestHashCheck = builder.requestHashCheck;
    lease = builder.lease;
    maxWait = builder.maxWait;
    methods = Collections.unmodifiableSet(new LinkedHashSet<>(builder.methods));
    methodsUpper = new TreeSet<>(String.CASE_INSENSITIVE_ORDER);
    methodsUpper.addAll(methods);
    keyScope = builder.keyScope;
    maxKeyLength = builder.maxKeyLength;
    maxBodyBytes = builder.maxBodyBytes;
    bodyTimeout = builder.bodyTimeout;
    maxResponseBytes = builder.maxResponseBytes;
    failOpen = builder.failOpen;
    excludedHeaders = caseInsensitive(builder.excludedHeaders);
    listener = builder.listener;
    clock = builder.clock;
    ticker = Ticker.of(clock);
    unknownOutcome = builder.unknownOutcome;
    scheduler = builder.scheduler == null ? Scheduling.shared() : builder.scheduler;
    maxWaitNanos = maxWait.toNanos();
    renewals = new Renewals(scheduler, ticker, Math.max(1, lease.toNanos() / 3));
  }

  /**
   * A builder of an engine over {@code store}, with the defaults documented on each option.
   *
   * @param store where the records live
   * @return a new, mutable builder
   * @throws NullPointerException if {@code store} is null
   */
  public static Builder builder(IdempotencyStore store) {
    return new Builder(store);
  }

  /**
   * A builder holding this engine's store and every one of its options, to derive an engine that
   * differs in a few (a per-endpoint ttl, say) without repeating the rest. This engine is not
   * changed by what is done to the builder.
   *
   * @return a new, mutable builder with this engine's configuration
   */
  public Builder toBuilder() {
    return new Builder(this);
  }

  /**
   * Decides what to do with a request. For a request with a key this reads the body (when the
   * request hash is checked) and makes one blocking store round trip, the claim. A duplicate of a
   * request in flight that may wait ({@code maxWait}, shortened by the client's {@code Prefer:
   * wait=N}) is not waited for here: the decision is a {@link Decision.Wait}, whose {@link
   * Decision.Wait#next()} completes when the first request finishes or the wait runs out, with no
   * thread held meanwhile. Thread-safe.
   *
   * @param request the request
   * @return the decision; when it is a {@link Decision.Execute} the caller owns the key and must
   *     report the request's events to its {@link Decision.Execute#exchange()}
   * @throws IOException if the request body cannot be read
   */
  public Decision decide(OnceRequest request) throws IOException {
    Object prepared = prepare(request);
    if (prepared instanceof Decision) {
      return (Decision) prepared;
    }
    Keyed keyed = (Keyed) prepared;
    Claim claim;
    reportStoreCall(keyed.attempt, "claim");
    try {
      claim = store.claim(keyed.scopedKey, keyed.fingerprint, lease);
    } catch (RuntimeException e) {
      reportStoreError("claim", keyed.scopedKey, e);
      return storeFailure(keyed.attempt, e, true);
    }
    Decision decision = interpret(keyed, claim);
    if (decision != null) {
      return decision;
    }
    if (keyed.waitNanos <= 0) {
      return conflict(keyed);
    }
    return new Decision.Wait(waiting(keyed, nanoTime() + keyed.waitNanos));
  }

  /**
   * Decides what to do with a request without blocking on the store or on a wait: the claim and
   * every look at a record in flight use the store's asynchronous operations, and a duplicate that
   * waits is parked on the store's change signal. The request's body is read on the calling thread
   * (when the request hash is checked): an adapter that must not block reads it first. The stage
   * never holds a {@link Decision.Wait}. Thread-safe.
   *
   * @param request the request
   * @return the decision; it completes exceptionally only with the {@link IOException} of a body
   *     that could not be read
   */
  public CompletionStage<Decision> decideAsync(OnceRequest request) {
    Object prepared;
    try {
      prepared = prepare(request);
    } catch (IOException e) {
      return CompletableFuture.failedFuture(e);
    }
    if (prepared instanceof Decision) {
      return CompletableFuture.completedFuture((Decision) prepared);
    }
    Keyed keyed = (Keyed) prepared;
    long deadline = nanoTime() + keyed.waitNanos;
    reportStoreCall(keyed.attempt, "claim");
    return storeStage(() -> store.claimAsync(keyed.scopedKey, keyed.fingerprint, lease))
        .handle((claim, error) -> {
          if (error != null) {
            RuntimeException failure = unwrap(error);
            reportStoreError("claim", keyed.scopedKey, failure);
            return done(storeFailure(keyed.attempt, failure, true));
          }
          Decision decision = interpret(keyed, claim);
          if (decision != null) {
            return done(decision);
          }
          return keyed.waitNanos <= 0 ? done(conflict(keyed)) : waiting(keyed, deadline);
        })
        .thenCompose(stage -> stage);
  }

  /**
   * Reads what a decision needs from the request: a {@link Decision} when the request is decided
   * without the store, else the {@link Keyed} parts of a keyed request.
   */
  private Object prepare(OnceRequest request) throws IOException {
    if (!appliesTo(request.method())) {
      return report(PASS_THROUGH, null);
    }
    List<String> values = request.headers(header);
    if (values.isEmpty()) {
      return requireKey
          ? reject(Outcome.REJECTED, ProblemType.KEY_MISSING,
              "this endpoint requires an " + header + " header", null)
          : report(PASS_THROUGH, null);
    }
    if (values.size() > 1) {
      return reject(Outcome.REJECTED, ProblemType.KEY_INVALID,
          "the " + header + " header was sent " + values.size() + " times; send it once", null);
    }
    String key;
    try {
      key = IdempotencyKey.parse(values.get(0), maxKeyLength);
    } catch (InvalidKeyException e) {
      return reject(Outcome.REJECTED, ProblemType.KEY_INVALID,
          "the " + header + " header is not a valid key: " + e.getMessage(), null);
    }
    Fingerprint fingerprint = null;
    if (requestHashCheck) {
      byte[] body;
      try {
        body = request.body(maxBodyBytes);
      } catch (RequestTooLargeException e) {
        return reject(Outcome.REJECTED, ProblemType.REQUEST_TOO_LARGE,
            "a request with an " + header + " may have a body of at most " + maxBodyBytes
                + " bytes",
            null);
      } catch (RequestBodyTimeoutException e) {
        return reject(Outcome.REJECTED, ProblemType.BODY_TIMEOUT,
            "the request body did not arrive within " + describe(bodyTimeout) + "; nothing was"
                + " run and the " + header + " was not taken, so the request may be sent again",
            null);
      }
      // "post" and "POST" are the same request: a server that takes one takes the other
      fingerprint = Fingerprint.of(request.method().toUpperCase(Locale.ROOT), request.path(),
          request.query(), body);
    }
    String scopedKey = scoped(keyScope.scopeOf(request), key);
    return new Keyed(scopedKey, key, fingerprint, waitNanos(request));
  }

  /**
   * Whether {@link #decide} reads this request's body: its method is covered, it carries exactly
   * one well-formed key, and the request hash is checked. An adapter that must not block (one that
   * reads bodies with non-blocking reads, so a client sending slowly holds no thread) reads the
   * body first when this is true, within {@link #bodyTimeout()}, and then decides; otherwise it
   * decides at once and the body is never read (a request without a key streams through).
   * Reports nothing to the listener; thread-safe.
   *
   * @param request the request
   * @return true if deciding it reads its body
   */
  public boolean readsBody(OnceRequest request) {
    if (!requestHashCheck || !appliesTo(request.method())) {
      return false;
    }
    List<String> values = request.headers(header);
    if (values.size() != 1) {
      return false;
    }
    try {
      IdempotencyKey.parse(values.get(0), maxKeyLength);
      return true;
    } catch (InvalidKeyException e) {
      return false;
    }
  }

  /** @return {@code duration} as people write it: {@code 30 seconds}, {@code 250 milliseconds} */
  private static String describe(Duration duration) {
    long millis = duration.toMillis();
    if (millis % 1000 != 0 || millis == 0) {
      return millis + (millis == 1 ? " millisecond" : " milliseconds");
    }
    long seconds = millis / 1000;
    return seconds + (seconds == 1 ? " second" : " seconds");
  }

  /**
   * @return how long this request may wait for a duplicate in flight: {@code maxWait}, or less if
   *     the client asked for less with {@code Prefer: wait=N} (RFC 7240)
   */
  private long waitNanos(OnceRequest request) {
    if (maxWaitNanos == 0) {
      return 0;
    }
    long preferred = Prefer.waitSeconds(request.headers("Prefer"));
    if (preferred < 0) {
      return maxWaitNanos;
    }
    return Math.min(maxWaitNanos, TimeUnit.SECONDS.toNanos(preferred));
  }

  /**
   * @return the decision a claim (or a look at the record) leads to, or null when the record is
   *     in progress
   */
  private @Nullable Decision interpret(Keyed keyed, Claim claim) {
    if (claim.state() == Claim.State.ACQUIRED) {
      Token token = Objects.requireNonNull(claim.token(), "an acquired claim has a token");
      return report(new Decision.Execute(
          new Exchange(this, keyed.attempt, token).start()), keyed.attempt);
    }
    if (keyed.fingerprint != null
        && claim.fingerprint() != null
        && !keyed.fingerprint.equals(claim.fingerprint())) {
      return reject(Outcome.MISMATCH, ProblemType.KEY_REUSED,
          header + " \"" + keyed.key + "\" was first used for a request with another method, path,"
              + " query or body; use a new key for a new request",
          keyed.attempt);
    }
    if (claim.state() == Claim.State.IN_PROGRESS) {
      return null;
    }
    StoredResponse response =
        Objects.requireNonNull(claim.response(), "a completed claim has a response");
    if (response.isReplayable()) {
      return report(new Decision.Replay(response), keyed.attempt);
    }
    if (response.isOutcomeUnknown()) {
      return reject(Outcome.OUTCOME_UNKNOWN, ProblemType.OUTCOME_UNKNOWN,
          "the request with " + header + " \"" + keyed.key + "\" reached the upstream, but whether"
              + " it was done is unknown (the connection broke or no answer came); it will not be"
              + " run again under this key",
          keyed.attempt);
    }
    return reject(Outcome.NOT_REPLAYABLE, ProblemType.RESPONSE_NOT_REPLAYABLE,
        "the request with " + header + " \"" + keyed.key + "\" was done (status "
            + response.status() + "), but its response was too large to keep for replay",
        keyed.attempt);
  }

  /**
   * Starts the wait of a duplicate for the request in flight, reporting its start and its end
   * (after its outcome) to the listener.
   */
  private CompletionStage<Decision> waiting(Keyed keyed, long deadline) {
    long start = nanoTime();
    try {
      listener.onWaitStarted(keyed.scopedKey);
    } catch (RuntimeException ignored) {
      // a listener must not change how a request is answered
    }
    return waitFor(keyed, deadline).whenComplete((decision, error) -> {
      Outcome ended = decision == null ? Outcome.STORE_ERROR : Decision.outcomeOf(decision);
      try {
        listener.onWaitEnded(keyed.scopedKey, ended, Duration.ofNanos(nanoTime() - start));
      } catch (RuntimeException ignored) {
        // a listener must not change how a request is answered
      }
    });
  }

  /**
   * Waits, with no thread held, until the record in flight changes or the deadline passes, then
   * looks at it: a finished record gives the replay (or 422, 409, 502), one still in flight is
   * waited for again. A waiter never runs the handler: if the first request ended without a
   * response to replay (it failed, or its lease passed), the waiter is told to send it again.
   */
  private CompletionStage<Decision> waitFor(Keyed keyed, long deadline) {
    long remaining = deadline - nanoTime();
    if (remaining <= 0) {
      return done(conflict(keyed));
    }
    reportStoreCall(keyed.attempt, "await");
    return storeStage(() -> store.awaitChangeAsync(keyed.scopedKey, Duration.ofNanos(remaining)))
        .thenCompose(changed -> {
          reportStoreCall(keyed.attempt, "peek");
          return storeStage(() -> store.peekAsync(keyed.scopedKey));
        })
        .handle((claim, error) -> {
          if (error != null) {
            RuntimeException failure = unwrap(error);
            reportStoreError("await", keyed.scopedKey, failure);
            // never fail open here: running a known duplicate of a request in flight is a
            // certain second run
            return done(storeFailure(keyed.attempt, failure, false));
          }
          if (claim == null) {
            return done(report(new Decision.Reject(Outcome.CONFLICT,
                Problem.of(ProblemType.REQUEST_IN_PROGRESS, "the request with " + header + " \""
                    + keyed.key + "\" ended without a response to replay (it failed, or its"
                    + " owner stopped); send it again to run it").withRetryAfter(1)),
                keyed.attempt));
          }
          Decision decision =
              claim.state() == Claim.State.ACQUIRED ? null : interpret(keyed, claim);
          return decision != null ? done(decision) : waitFor(keyed, deadline);
        })
        .thenCompose(stage -> stage);
  }

  private Decision conflict(Keyed keyed) {
    return report(new Decision.Reject(Outcome.CONFLICT, Problem.of(ProblemType.REQUEST_IN_PROGRESS,
            "a request with " + header + " \"" + keyed.key + "\" is still in progress; retry later")
        .withRetryAfter(1)), keyed.attempt);
  }

  private static CompletionStage<Decision> done(Decision decision) {
    return CompletableFuture.completedFuture(decision);
  }

  /** Calls a store's asynchronous operation, turning an exception it throws into a failed stage. */
  private static <T> CompletionStage<T> storeStage(Supplier<CompletionStage<T>> operation) {
    try {
      return operation.get();
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  private static RuntimeException unwrap(Throwable error) {
    Throwable cause = error instanceof CompletionException && error.getCause() != null
        ? error.getCause()
        : error;
    return cause instanceof RuntimeException
        ? (RuntimeException) cause
        : new StoreException("the store failed", null, cause);
  }

  private Decision storeFailure(Attempt attempt, RuntimeException error, boolean mayFailOpen) {
    if (error instanceof StoreFullException) {
      // the store works and refuses to forget a live record: never run without idempotency
      return report(new Decision.Reject(Outcome.STORE_ERROR, Problem.of(ProblemType.STORE_FULL,
          "the idempotency store holds as many records as it may, so the request was not run;"
              + " retry later").withRetryAfter(((StoreFullException) error).retryAfterSeconds())),
          attempt);
    }
    if (failOpen && mayFailOpen) {
      return report(FAILED_OPEN, attempt);
    }
    return reject(Outcome.STORE_ERROR, ProblemType.STORE_UNAVAILABLE,
        "the idempotency store cannot be reached, so the request was not run; retry later",
        attempt);
  }

  private Decision reject(
      Outcome outcome, ProblemType type, String detail, @Nullable Attempt attempt) {
    return report(new Decision.Reject(outcome, Problem.of(type, detail)), attempt);
  }

  /** Reports a decision: with its request's identity when it carries a key, else without. */
  private Decision report(Decision decision, @Nullable Attempt attempt) {
    try {
      if (attempt == null) {
        listener.onOutcome(Decision.outcomeOf(decision), null);
      } else {
        listener.onOutcome(attempt, Decision.outcomeOf(decision));
      }
    } catch (RuntimeException ignored) {
      // a listener must not change how a request is answered
    }
    return decision;
  }

  void reportStoreCall(Attempt attempt, String operation) {
    try {
      listener.onStoreCall(attempt, operation);
    } catch (RuntimeException ignored) {
      // a listener must not change how a request is answered
    }
  }

  void reportFinished(Attempt attempt, Completion completion, int status) {
    try {
      listener.onFinished(attempt, completion, status);
    } catch (RuntimeException ignored) {
      // a listener must not change how a request is answered
    }
  }

  void reportRenewed(String key) {
    try {
      listener.onRenewed(key);
    } catch (RuntimeException ignored) {
      // a listener must not change how a request is answered
    }
  }

  void reportOwnershipLost(String key, String operation) {
    try {
      listener.onOwnershipLost(key, operation);
    } catch (RuntimeException ignored) {
      // a listener must not change how a request is answered
    }
  }

  void reportStoreError(String operation, String key, RuntimeException error) {
    StoreException storeError = error instanceof StoreException
        ? (StoreException) error
        : new StoreException(operation + " failed", key, error);
    try {
      listener.onStoreError(operation, key, storeError);
    } catch (RuntimeException ignored) {
      // a listener must not change how a request is answered
    }
  }

  /**
   * The engine's monotonic time, for adapters that time the engine's own limits (the body's
   * deadline): the clock given to the builder read as a {@link Ticker#of(Clock) ticker}, so
   * {@link System#nanoTime()} for the system clock. Only differences between two readings mean
   * anything.
   *
   * @return nanoseconds
   */
  public long nanoTime() {
    return ticker.read();
  }

  /**
   * @return the registry of this engine's open exchanges, whose leases it renews every third of
   *     the lease
   */
  Renewals renewals() {
    return renewals;
  }

  /** The parts of a keyed request a claim needs. */
  private static final class Keyed {
    final String scopedKey;
    final String key;
    final @Nullable Fingerprint fingerprint;
    final long waitNanos;
    final Attempt attempt;

    Keyed(String scopedKey, String key, @Nullable Fingerprint fingerprint, long waitNanos) {
      this.scopedKey = scopedKey;
      this.attempt = new Attempt(scopedKey);
      this.key = key;
      this.fingerprint = fingerprint;
      this.waitNanos = waitNanos;
    }
  }

  /**
   * @param status an HTTP status
   * @return true if a response with this status is kept for replay
   */
  public boolean isCacheable(int status) {
    return status >= 0 && status < cacheable.length && cacheable[status];
  }

  /**
   * @param name a response header name
   * @return true if a header with this name is kept and replayed
   */
  public boolean isReplayedHeader(String name) {
    return !NEVER_REPLAYED.contains(name) && !excludedHeaders.contains(name);
  }

  /**
   * @param method an HTTP method, in any case: many servers treat {@code post} as {@code POST}, so
   *     a method spelled otherwise never skips idempotency
   * @return true if requests with this method are subject to idempotency keys
   */
  public boolean appliesTo(String method) {
    return method != null && (methods.contains(method) || methodsUpper.contains(method));
  }

  /**
   * Describes the live record of a client's key, for an operator: state, created and expiry
   * times, lease left, and once completed the response's status, size and whether it replays;
   * never the response's body or headers. Only reads. Thread-safe.
   *
   * @param scope the key's scope, as {@link #keyScope()} derives it from a request ({@code ""}
   *     when keys are not scoped)
   * @param key the key as a client sends it in the {@link #header()} header, checked as a request's
   *     is
   * @return the record's description, or empty when the key has no live record
   * @throws IllegalArgumentException if {@code key} is not a valid key (empty, too long, or with a
   *     character outside visible ASCII)
   * @throws NullPointerException if {@code scope} or {@code key} is null
   * @throws StoreException if the store cannot answer
   * @throws UnsupportedOperationException if the store does not implement {@link
   *     IdempotencyStore#inspect}
   */
  public Optional<RecordInfo> inspect(String scope, String key) {
    return store.inspect(scopedKey(scope, key));
  }

  /**
   * Deletes the live record of a client's key, for an operator who must clear it: a completed
   * record always, so the next request with the key runs again; an in-progress one only if {@code
   * force}, since its request may still be running: a retry may then run beside it, which is
   * logged as a warning ({@code System.Logger} {@code dev.once}). Atomic; thread-safe.
   *
   * @param scope the key's scope ({@code ""} when keys are not scoped)
   * @param key the key as a client sends it, checked as a request's is
   * @param force whether to delete an in-progress record too
   * @return what was done
   * @throws IllegalArgumentException if {@code key} is not a valid key
   * @throws NullPointerException if {@code scope} or {@code key} is null
   * @throws StoreException if the store cannot answer
   * @throws UnsupportedOperationException if the store does not implement {@link
   *     IdempotencyStore#delete}
   */
  public Deletion delete(String scope, String key, boolean force) {
    String scopedKey = scopedKey(scope, key);
    Deletion deletion = store.delete(scopedKey, force);
    if (deletion == Deletion.FORCED) {
      LOG.log(System.Logger.Level.WARNING, () -> "once: the in-progress record of key \""
          + scopedKey + "\" was deleted by force; its request may still be running, and a retry"
          + " with the key now runs beside it");
    }
    return deletion;
  }

  /** @return the key a store knows a client's key by in {@code scope}, once the key is checked */
  private String scopedKey(String scope, String key) {
    Objects.requireNonNull(scope, "scope");
    Objects.requireNonNull(key, "key");
    String parsed;
    try {
      parsed = IdempotencyKey.parse(key, maxKeyLength);
    } catch (InvalidKeyException e) {
      throw new IllegalArgumentException("key is not a valid key: " + e.getMessage(), e);
    }
    return scoped(scope, parsed);
  }

  /** @return {@code key} in {@code scope}: {@code "scope key"}, or the key alone without a scope */
  private static String scoped(String scope, String key) {
    // keys hold no spaces, so "scope key" splits at its last space: scopes can never collide
    return scope.isEmpty() ? key : scope + ' ' + key;
  }

  /** @return the store */
  public IdempotencyStore store() {
    return store;
  }

  /** @return the name of the key header */
  public String header() {
    return header;
  }

  /** @return how long a completed record is kept */
  public Duration ttl() {
    return ttl;
  }

  /** @return true if requests without a key are refused with 400 */
  public boolean requireKey() {
    return requireKey;
  }

  /** @return the statuses whose responses are kept, ascending, immutable */
  public Set<Integer> cacheableStatuses() {
    return cacheableStatuses;
  }

  /** @return true if a retry is compared with the first request and refused (422) if it differs */
  public boolean requestHashCheck() {
    return requestHashCheck;
  }

  /** @return how long an in-progress record is held before it is presumed abandoned */
  public Duration lease() {
    return lease;
  }

  /** @return how long a duplicate waits for the in-flight request before answering 409 */
  public Duration maxWait() {
    return maxWait;
  }

  /** @return the methods subject to idempotency keys, immutable */
  public Set<String> methods() {
    return methods;
  }

  /** @return how keys are scoped */
  public KeyScope keyScope() {
    return keyScope;
  }

  /** @return the longest key accepted */
  public int maxKeyLength() {
    return maxKeyLength;
  }

  /** @return the largest request body that is fingerprinted; larger ones get 413 */
  public long maxBodyBytes() {
    return maxBodyBytes;
  }

  /**
   * @return the longest a keyed request's body may take to arrive once the adapter starts reading
   *     it; past it the request gets 408 and no key is taken
   */
  public Duration bodyTimeout() {
    return bodyTimeout;
  }

  /** @return the largest response body that is kept for replay */
  public long maxResponseBytes() {
    return maxResponseBytes;
  }

  /** @return true if requests run without idempotency when the store fails */
  public boolean failOpen() {
    return failOpen;
  }

  /**
   * @return the response headers that are not replayed besides those that never are (hop-by-hop,
   *     {@code Content-Length}, {@code Date}, cookies and credentials), immutable
   */
  public Set<String> excludedHeaders() {
    return excludedHeaders;
  }

  /** @return the listener */
  public OnceListener listener() {
    return listener;
  }

  /** @return the clock that times waits and the body's deadline */
  public Clock clock() {
    return clock;
  }

  /** @return what is done with a request whose outcome cannot be known */
  public UnknownOutcome unknownOutcome() {
    return unknownOutcome;
  }

  /** @return the scheduler that times lease renewals */
  public ScheduledExecutorService scheduler() {
    return scheduler;
  }

  @Override
  public String toString() {
    return "Once{store=" + store.getClass().getSimpleName() + ", header=" + header + ", ttl=" + ttl
        + ", requireKey=" + requireKey + ", cacheableStatuses=" + cacheableStatuses
        + ", requestHashCheck=" + requestHashCheck + ", lease=" + lease + ", maxWait=" + maxWait
        + ", methods=" + methods + ", maxKeyLength=" + maxKeyLength + ", maxBodyBytes="
        + maxBodyBytes + ", bodyTimeout=" + bodyTimeout + ", maxResponseBytes=" + maxResponseBytes
        + ", failOpen=" + failOpen
        + ", excludedHeaders=" + excludedHeaders + ", unknownOutcome=" + unknownOutcome + "}";
  }

  private static Set<String> caseInsensitive(Collection<String> names) {
    Set<String> set = new TreeSet<>(String.CASE_INSENSITIVE_ORDER);
    set.addAll(names);
    return Collections.unmodifiableSet(set);
  }

  /**
   * Builds an {@link Once}. Mutable and not thread-safe; each option is checked when it is set,
   * and {@link #build()} may be called more than once.
   */
  public static final class Builder {
    /** The largest body or response limit: what fits in one array. */
    public static final long MAX_BYTES_LIMIT = Integer.MAX_VALUE - 8;
    /** The largest {@code maxKeyLength} accepted. */
    public static final int MAX_KEY_LENGTH_LIMIT = 8192;
    /**
     * The longest ttl, lease or wait accepted: 100 years (36,500 days). Every deadline is a time
     * plus one of these, which must fit the clock's arithmetic (and Redis's expiry) for centuries.
     */
    public static final Duration MAX_DURATION = Duration.ofDays(36_500);

    private final IdempotencyStore store;
    private String header = DEFAULT_HEADER;
    private Duration ttl = Duration.ofHours(24);
    private boolean requireKey;
    private Set<Integer> cacheableStatuses = Set.of(200, 201, 204);
    private boolean requestHashCheck = true;
    private Duration lease = DEFAULT_LEASE;
    private Duration maxWait = Duration.ZERO;
    private Set<String> methods = Set.of("POST", "PATCH");
    private KeyScope keyScope = KeyScope.principal();
    private int maxKeyLength = 255;
    private long maxBodyBytes = 1 << 20;
    private Duration bodyTimeout = DEFAULT_BODY_TIMEOUT;
    private long maxResponseBytes = 1 << 20;
    private boolean failOpen;
    private Set<String> excludedHeaders = Set.of();
    private OnceListener listener = OnceListener.NOOP;
    private Clock clock = SYSTEM_CLOCK;
    private UnknownOutcome unknownOutcome = UnknownOutcome.RETRY;
    private @Nullable ScheduledExecutorService scheduler;

    private Builder(IdempotencyStore store) {
      this.store = Objects.requireNonNull(store, "store");
    }

    private Builder(Once once) {
      store = once.store;
      header = once.header;
      ttl = once.ttl;
      requireKey = once.requireKey;
      cacheableStatuses = once.cacheableStatuses;
      requestHashCheck = once.requestHashCheck;
      lease = once.lease;
      maxWait = once.maxWait;
      methods = once.methods;
      keyScope = once.keyScope;
      maxKeyLength = once.maxKeyLength;
      maxBodyBytes = once.maxBodyBytes;
      bodyTimeout = once.bodyTimeout;
      maxResponseBytes = once.maxResponseBytes;
      failOpen = once.failOpen;
      excludedHeaders = once.excludedHeaders;
      listener = once.listener;
      clock = once.clock;
      unknownOutcome = once.unknownOutcome;
      scheduler = once.scheduler == Scheduling.shared() ? null : once.scheduler;
    }

    /**
     * The request header that carries the key. Default {@code Idempotency-Key}.
     *
     * @param name a header name (an HTTP token)
     * @return this builder
     * @throws IllegalArgumentException if {@code name} is not a valid header name
     */
    public Builder header(String name) {
      Objects.requireNonNull(name, "header");
      if (!isToken(name)) {
        throw new IllegalArgumentException("header must be a valid header name, but was \"" + name
            + "\"");
      }
      this.header = name;
      return this;
    }

    /**
     * How long a completed response is kept for replay. Default 24 hours.
     *
     * @param ttl a positive duration, at most {@link #MAX_DURATION}
     * @return this builder
     * @throws IllegalArgumentException if {@code ttl} is not positive or too long
     */
    public Builder ttl(Duration ttl) {
      this.ttl = positive("ttl", ttl);
      return this;
    }

    /**
     * Whether a request of a covered method without a key is refused with 400. Default false: such
     * a request runs without idempotency.
     *
     * @param requireKey true to require a key
     * @return this builder
     */
    public Builder requireKey(boolean requireKey) {
      this.requireKey = requireKey;
      return this;
    }

    /**
     * The statuses whose responses are kept for replay; any other status releases the key so the
     * client's retry runs again. Default 200, 201 and 204.
     *
     * @param statuses HTTP statuses, 100 to 599, at least one
     * @return this builder
     * @throws IllegalArgumentException if there is none, or one is outside 100 to 599
     */
    public Builder cacheableStatuses(int... statuses) {
      Integer[] boxed = new Integer[statuses.length];
      for (int i = 0; i < statuses.length; i++) {
        boxed[i] = statuses[i];
      }
      return cacheableStatuses(Arrays.asList(boxed));
    }

    /**
     * As {@link #cacheableStatuses(int...)}.
     *
     * @param statuses HTTP statuses, 100 to 599, at least one
     * @return this builder
     * @throws IllegalArgumentException if there is none, or one is outside 100 to 599
     */
    public Builder cacheableStatuses(Collection<Integer> statuses) {
      Objects.requireNonNull(statuses, "cacheableStatuses");
      if (statuses.isEmpty()) {
        throw new IllegalArgumentException("cacheableStatuses must not be empty");
      }
      for (Integer status : statuses) {
        if (status == null || status < 100 || status > 599) {
          throw new IllegalArgumentException(
              "cacheableStatuses must be HTTP statuses from 100 to 599, but held " + status);
        }
      }
      this.cacheableStatuses = Set.copyOf(statuses);
      return this;
    }

    /**
     * Whether a retry must be the same request as the first (method, path, query and body, by
     * SHA-256), else it is refused with 422. Default true. When false the body is not read and a
     * reused key replays whatever was stored for it.
     *
     * @param check true to check
     * @return this builder
     */
    public Builder requestHashCheck(boolean check) {
      this.requestHashCheck = check;
      return this;
    }

    /**
     * How long a key stays held after its owner was last heard from. While a request runs its
     * exchange renews the lease every third of it, so a handler or a response may take as long as
     * it takes; the lease only measures how fast the key of a crashed owner is freed. Default 30
     * seconds.
     *
     * @param lease a positive duration of at least 3 milliseconds, at most {@link #MAX_DURATION}
     * @return this builder
     * @throws IllegalArgumentException if {@code lease} is out of range
     */
    public Builder lease(Duration lease) {
      positive("lease", lease);
      if (lease.toMillis() < 3) {
        throw new IllegalArgumentException(
            "lease must be at least 3 milliseconds (it is renewed every third), but was " + lease);
      }
      this.lease = lease;
      return this;
    }

    /**
     * How long a duplicate of an in-flight request waits for it to finish (and then gets its
     * replay) before it is answered 409. A waiting duplicate holds no thread. A client may ask to
     * wait less with {@code Prefer: wait=N} (RFC 7240), never more. Default zero: answer 409 at
     * once.
     *
     * @param maxWait zero or a positive duration, at most {@link #MAX_DURATION}
     * @return this builder
     * @throws IllegalArgumentException if {@code maxWait} is negative or too long
     */
    public Builder maxWait(Duration maxWait) {
      Objects.requireNonNull(maxWait, "maxWait");
      if (maxWait.isNegative()) {
        throw new IllegalArgumentException("maxWait must not be negative, but was " + maxWait);
      }
      atMostMaxDuration("maxWait", maxWait);
      this.maxWait = maxWait;
      return this;
    }

    /**
     * The HTTP methods subject to idempotency keys; others pass through. Default POST and PATCH.
     *
     * @param methods method names, at least one; a request's method matches one without regard to
     *     case
     * @return this builder
     * @throws IllegalArgumentException if there is none, or one is not a valid method name
     */
    public Builder methods(String... methods) {
      return methods(Arrays.asList(methods));
    }

    /**
     * As {@link #methods(String...)}.
     *
     * @param methods method names, at least one
     * @return this builder
     * @throws IllegalArgumentException if there is none, or one is not a valid method name
     */
    public Builder methods(Collection<String> methods) {
      Objects.requireNonNull(methods, "methods");
      if (methods.isEmpty()) {
        throw new IllegalArgumentException("methods must not be empty");
      }
      for (String method : methods) {
        if (method == null || !isToken(method)) {
          throw new IllegalArgumentException(
              "methods must be HTTP method names, but held \"" + method + "\"");
        }
      }
      this.methods = new LinkedHashSet<>(methods);
      return this;
    }

    /**
     * How keys are scoped, so one client can never replay another's response. Default {@link
     * KeyScope#principal()}.
     *
     * @param keyScope the scope
     * @return this builder
     */
    public Builder keyScope(KeyScope keyScope) {
      this.keyScope = Objects.requireNonNull(keyScope, "keyScope");
      return this;
    }

    /**
     * The longest key accepted; longer ones get 400. Default 255.
     *
     * @param maxKeyLength 1 to {@value #MAX_KEY_LENGTH_LIMIT}
     * @return this builder
     * @throws IllegalArgumentException if out of range
     */
    public Builder maxKeyLength(int maxKeyLength) {
      if (maxKeyLength < 1 || maxKeyLength > MAX_KEY_LENGTH_LIMIT) {
        throw new IllegalArgumentException("maxKeyLength must be between 1 and "
            + MAX_KEY_LENGTH_LIMIT + ", but was " + maxKeyLength);
      }
      this.maxKeyLength = maxKeyLength;
      return this;
    }

    /**
     * The largest request body read to fingerprint a keyed request; a larger one gets 413. The
     * body is held in memory while the handler runs. Default 1 MiB.
     *
     * @param bytes 0 to {@link #MAX_BYTES_LIMIT}
     * @return this builder
     * @throws IllegalArgumentException if out of range
     */
    public Builder maxBodyBytes(long bytes) {
      this.maxBodyBytes = bytes("maxBodyBytes", bytes);
      return this;
    }

    /**
     * The longest a keyed request's body may take to arrive, from when the adapter starts reading
     * it to its last byte; past it the request is answered 408 ({@code request-body-timeout}) and
     * no key is taken, so a client that sends its body slowly (or stops) never holds a key, and
     * its retry runs. Default 30 seconds.
     *
     * <p>How it is kept depends on how the adapter reads: one that reads without blocking (the
     * proxy, {@code OnceFilter} with non-blocking body reading) answers at the deadline; one that
     * reads blocking (a servlet filter in its default mode) can only look at the time whenever a
     * read returns, so a client that sends nothing at all is held until the container's own idle
     * timeout ends the read, and then gets 408.
     *
     * @param bodyTimeout a positive duration, at most {@link #MAX_DURATION}
     * @return this builder
     * @throws IllegalArgumentException if {@code bodyTimeout} is not positive or too long
     */
    public Builder bodyTimeout(Duration bodyTimeout) {
      this.bodyTimeout = positive("bodyTimeout", bodyTimeout);
      return this;
    }

    /**
     * The largest response body kept for replay. A larger response is still sent in full, and a
     * retry is told it was not kept (409) rather than running the handler again. Default 1 MiB.
     *
     * @param bytes 0 to {@link #MAX_BYTES_LIMIT}
     * @return this builder
     * @throws IllegalArgumentException if out of range
     */
    public Builder maxResponseBytes(long bytes) {
      this.maxResponseBytes = bytes("maxResponseBytes", bytes);
      return this;
    }

    /**
     * What to do when the store fails: false (the default) refuses the request with 503, so a
     * handler never runs twice; true runs it without idempotency, trading that guarantee for
     * availability.
     *
     * @param failOpen true to fail open
     * @return this builder
     */
    public Builder failOpen(boolean failOpen) {
      this.failOpen = failOpen;
      return this;
    }

    /**
     * Response headers not kept and replayed, in addition to those that never are, whatever this
     * says: the hop-by-hop headers, {@code Content-Length}, {@code Date} (a replay carries a fresh
     * one), {@code Idempotent-Replayed}, and the headers that can carry a credential or a session
     * ({@code Set-Cookie}, {@code Set-Cookie2}, {@code Cookie}, {@code Authorization}, {@code
     * Authentication-Info}, {@code Proxy-Authentication-Info}). Default none.
     *
     * @param names header names, compared without regard to case; may be none
     * @return this builder
     * @throws IllegalArgumentException if a name is not a valid header name
     */
    public Builder excludedHeaders(String... names) {
      return excludedHeaders(Arrays.asList(names));
    }

    /**
     * As {@link #excludedHeaders(String...)}.
     *
     * @param names header names; may be empty
     * @return this builder
     * @throws IllegalArgumentException if a name is not a valid header name
     */
    public Builder excludedHeaders(Collection<String> names) {
      Objects.requireNonNull(names, "excludedHeaders");
      for (String name : names) {
        if (name == null || !isToken(name)) {
          throw new IllegalArgumentException(
              "excludedHeaders must be header names, but held \"" + name + "\"");
        }
      }
      this.excludedHeaders = Set.copyOf(names);
      return this;
    }

    /**
     * Where outcomes, finished records and store errors are reported (for metrics and logs).
     * Default: nowhere.
     *
     * @param listener the listener
     * @return this builder
     */
    public Builder listener(OnceListener listener) {
      this.listener = Objects.requireNonNull(listener, "listener");
      return this;
    }

    /**
     * The clock that times {@code maxWait} (and {@code bodyTimeout}, for an adapter that reads
     * bodies blocking). Default the system's monotonic time source; tests pass
     * a fake clock to time waits without sleeping.
     *
     * @param clock the clock
     * @return this builder
     */
    public Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /**
     * What is done with a request whose outcome cannot be known (an upstream that had the request
     * and then broke off or never answered): either way the key is first held until its lease
     * passes, so no retry overlaps the first request; then {@link UnknownOutcome#RETRY} lets a
     * later retry run, and {@link UnknownOutcome#KEEP} answers every retry 502 for the ttl.
     * Default {@link UnknownOutcome#RETRY}.
     *
     * @param unknownOutcome the choice
     * @return this builder
     */
    public Builder unknownOutcome(UnknownOutcome unknownOutcome) {
      this.unknownOutcome = Objects.requireNonNull(unknownOutcome, "unknownOutcome");
      return this;
    }

    /**
     * The scheduler that times lease renewals. While any of its requests is in flight, the engine
     * keeps one task on it, a sweep every twenty-fourth of the lease (an eighth of the renewal
     * interval) that starts the store's asynchronous {@code renew} of each request that is due;
     * nothing is scheduled per request, and an idle engine keeps nothing on it. So one thread
     * serves any number of requests and engines. Default one daemon thread shared by every engine
     * in the JVM, started on first use; the engine never shuts a scheduler down (once it is shut
     * down, leases of requests in flight pass unrenewed, as a crashed owner's do).
     *
     * @param scheduler the scheduler
     * @return this builder
     */
    public Builder scheduler(ScheduledExecutorService scheduler) {
      this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
      return this;
    }

    /** @return a new engine with this builder's options; the builder may be used again */
    public Once build() {
      return new Once(this);
    }

    private static Duration positive(String name, Duration value) {
      Objects.requireNonNull(value, name);
      if (value.isNegative() || value.isZero()) {
        throw new IllegalArgumentException(name + " must be positive, but was " + value);
      }
      atMostMaxDuration(name, value);
      if (value.toMillis() < 1) {
        throw new IllegalArgumentException(
            name + " must be at least 1 millisecond, but was " + value);
      }
      return value;
    }

    private static void atMostMaxDuration(String name, Duration value) {
      if (value.compareTo(MAX_DURATION) > 0) {
        throw new IllegalArgumentException(name + " must be at most " + MAX_DURATION.toDays()
            + " days (100 years), but was " + value);
      }
    }

    private static long bytes(String name, long value) {
      if (value < 0 || value > MAX_BYTES_LIMIT) {
        throw new IllegalArgumentException(
            name + " must be between 0 and " + MAX_BYTES_LIMIT + ", but was " + value);
      }
      return value;
    }

    /** @return true if {@code value} is an HTTP token: a method or a header name */
    static boolean isToken(String value) {
      if (value.isEmpty()) {
        return false;
      }
      for (int i = 0; i < value.length(); i++) {
        char c = value.charAt(i);
        boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
            || "!#$%&'*+-.^_`|~".indexOf(c) >= 0;
        if (!ok) {
          return false;
        }
      }
      return true;
    }
  }
}
