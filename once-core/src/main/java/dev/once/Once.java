package dev.once;

import dev.once.spi.Claim;
import dev.once.spi.IdempotencyStore;
import dev.once.spi.StoreException;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;

/**
 * The idempotency engine and its configuration: turns each request into a {@link Decision} (run
 * the handler, replay, 409, 422, 400, 413, 503) against an {@link IdempotencyStore}.
 *
 * <p>Built once with {@link #builder(IdempotencyStore)}, then immutable and thread-safe: one
 * instance serves every request of an application. Adapters (the Servlet filter, the proxy) call
 * {@link #decide} for each request and act on the answer.
 *
 * <p>What it guarantees, while a key's record lives (its lease, then its ttl once completed): the
 * handler runs at most once per scoped key and fingerprint; a duplicate that arrives while it runs
 * is answered 409 (or waits up to {@code maxWait} for the replay); a retry after it finished gets
 * the stored response; a request that reuses the key for a different request gets 422.
 */
public final class Once {
  /** The header the draft standard names, and the default. */
  public static final String DEFAULT_HEADER = "Idempotency-Key";
  /** The header every replayed response carries. */
  public static final String REPLAYED_HEADER = "Idempotent-Replayed";

  private static final Set<String> NEVER_REPLAYED = caseInsensitive(List.of(
      "Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Proxy-Connection",
      "TE", "Trailer", "Transfer-Encoding", "Upgrade", "Content-Length", REPLAYED_HEADER));

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
  private final KeyScope keyScope;
  private final int maxKeyLength;
  private final long maxBodyBytes;
  private final long maxResponseBytes;
  private final boolean failOpen;
  private final Set<String> excludedHeaders;
  private final OnceListener listener;
  private final Clock clock;

  private Once(Builder builder) {
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
    keyScope = builder.keyScope;
    maxKeyLength = builder.maxKeyLength;
    maxBodyBytes = builder.maxBodyBytes;
    maxResponseBytes = builder.maxResponseBytes;
    failOpen = builder.failOpen;
    excludedHeaders = caseInsensitive(builder.excludedHeaders);
    listener = builder.listener;
    clock = builder.clock;
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
   * request hash is checked) and makes one store round trip, or several when it waits for an
   * in-flight duplicate ({@code maxWait}). Thread-safe.
   *
   * @param request the request
   * @return the decision; when its kind is {@link Decision.Kind#EXECUTE} the caller owns the key
   *     and must finish the {@link Decision#execution()}
   * @throws IOException if the request body cannot be read
   */
  public Decision decide(OnceRequest request) throws IOException {
    if (!methods.contains(request.method())) {
      return report(Decision.PASS_THROUGH, null);
    }
    List<String> values = request.headers(header);
    if (values.isEmpty()) {
      return requireKey
          ? reject(Outcome.REJECTED, ProblemType.KEY_MISSING,
              "this endpoint requires an " + header + " header", null)
          : report(Decision.PASS_THROUGH, null);
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
      }
      fingerprint = Fingerprint.of(request.method(), request.path(), request.query(), body);
    }
    String scope = keyScope.scopeOf(request);
    // keys hold no spaces, so "scope key" splits at its last space: scopes can never collide
    String scopedKey = scope.isEmpty() ? key : scope + ' ' + key;
    return claim(scopedKey, key, fingerprint);
  }

  private Decision claim(String scopedKey, String key, Fingerprint fingerprint) {
    long deadline = maxWait.isZero() ? 0 : clock.millis() + maxWait.toMillis();
    while (true) {
      Claim claim;
      try {
        claim = store.claim(scopedKey, fingerprint, lease);
      } catch (RuntimeException e) {
        reportStoreError("claim", scopedKey, e);
        return storeFailure(scopedKey);
      }
      if (claim.state() == Claim.State.ACQUIRED) {
        return report(Decision.execute(new Execution(this, scopedKey, claim.token())), scopedKey);
      }
      if (fingerprint != null
          && claim.fingerprint() != null
          && !fingerprint.equals(claim.fingerprint())) {
        return reject(Outcome.MISMATCH, ProblemType.KEY_REUSED,
            header + " \"" + key + "\" was first used for a request with another method, path,"
                + " query or body; use a new key for a new request",
            scopedKey);
      }
      if (claim.state() == Claim.State.COMPLETED) {
        StoredResponse response = claim.response();
        if (response.isReplayable()) {
          return report(Decision.replay(response), scopedKey);
        }
        return reject(Outcome.NOT_REPLAYABLE, ProblemType.RESPONSE_NOT_REPLAYABLE,
            "the request with " + header + " \"" + key + "\" was done (status "
                + response.status() + "), but its response was too large to keep for replay",
            scopedKey);
      }
      long remaining = deadline - clock.millis();
      if (deadline == 0 || remaining <= 0) {
        return report(Decision.reject(Outcome.CONFLICT, Problem.of(ProblemType.REQUEST_IN_PROGRESS,
                "a request with " + header + " \"" + key + "\" is still in progress; retry later")
            .withRetryAfter(1)), scopedKey);
      }
      try {
        store.awaitChange(scopedKey, Duration.ofMillis(remaining));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        deadline = clock.millis();
      } catch (RuntimeException e) {
        reportStoreError("await", scopedKey, e);
        return storeFailure(scopedKey);
      }
    }
  }

  private Decision storeFailure(String scopedKey) {
    if (failOpen) {
      return report(Decision.FAILED_OPEN, scopedKey);
    }
    return reject(Outcome.STORE_ERROR, ProblemType.STORE_UNAVAILABLE,
        "the idempotency store cannot be reached, so the request was not run; retry later",
        scopedKey);
  }

  private Decision reject(Outcome outcome, ProblemType type, String detail, String scopedKey) {
    return report(Decision.reject(outcome, Problem.of(type, detail)), scopedKey);
  }

  private Decision report(Decision decision, String scopedKey) {
    try {
      listener.onOutcome(decision.outcome(), scopedKey);
    } catch (RuntimeException ignored) {
      // a listener must not change how a request is answered
    }
    return decision;
  }

  void reportFinished(String key, Completion completion, int status) {
    try {
      listener.onFinished(key, completion, status);
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
   * @param method an HTTP method
   * @return true if requests with this method are subject to idempotency keys
   */
  public boolean appliesTo(String method) {
    return methods.contains(method);
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

  /** @return the largest response body that is kept for replay */
  public long maxResponseBytes() {
    return maxResponseBytes;
  }

  /** @return true if requests run without idempotency when the store fails */
  public boolean failOpen() {
    return failOpen;
  }

  /** @return the response headers that are not replayed besides the hop-by-hop ones, immutable */
  public Set<String> excludedHeaders() {
    return excludedHeaders;
  }

  /** @return the listener */
  public OnceListener listener() {
    return listener;
  }

  /** @return the clock that times waits */
  public Clock clock() {
    return clock;
  }

  @Override
  public String toString() {
    return "Once{store=" + store.getClass().getSimpleName() + ", header=" + header + ", ttl=" + ttl
        + ", requireKey=" + requireKey + ", cacheableStatuses=" + cacheableStatuses
        + ", requestHashCheck=" + requestHashCheck + ", lease=" + lease + ", maxWait=" + maxWait
        + ", methods=" + methods + ", maxKeyLength=" + maxKeyLength + ", maxBodyBytes="
        + maxBodyBytes + ", maxResponseBytes=" + maxResponseBytes + ", failOpen=" + failOpen
        + ", excludedHeaders=" + excludedHeaders + "}";
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

    private final IdempotencyStore store;
    private String header = DEFAULT_HEADER;
    private Duration ttl = Duration.ofHours(24);
    private boolean requireKey;
    private Set<Integer> cacheableStatuses = Set.of(200, 201, 204);
    private boolean requestHashCheck = true;
    private Duration lease = Duration.ofSeconds(60);
    private Duration maxWait = Duration.ZERO;
    private Set<String> methods = Set.of("POST", "PATCH");
    private KeyScope keyScope = KeyScope.principal();
    private int maxKeyLength = 255;
    private long maxBodyBytes = 1 << 20;
    private long maxResponseBytes = 1 << 20;
    private boolean failOpen;
    private Set<String> excludedHeaders = Set.of("Date", "Set-Cookie");
    private OnceListener listener = OnceListener.NOOP;
    private Clock clock = Clock.systemUTC();

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
      maxResponseBytes = once.maxResponseBytes;
      failOpen = once.failOpen;
      excludedHeaders = once.excludedHeaders;
      listener = once.listener;
      clock = once.clock;
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
     * @param ttl a positive duration
     * @return this builder
     * @throws IllegalArgumentException if {@code ttl} is not positive
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
     * How long a key is held while its handler runs; if the owner has not finished by then it is
     * presumed dead and the next request with the key runs. It must be longer than the slowest
     * handler. Default 60 seconds.
     *
     * @param lease a positive duration
     * @return this builder
     * @throws IllegalArgumentException if {@code lease} is not positive
     */
    public Builder lease(Duration lease) {
      this.lease = positive("lease", lease);
      return this;
    }

    /**
     * How long a duplicate of an in-flight request waits for it to finish (and then gets its
     * replay) before it is answered 409. Default zero: answer 409 at once.
     *
     * @param maxWait zero or a positive duration
     * @return this builder
     * @throws IllegalArgumentException if {@code maxWait} is negative
     */
    public Builder maxWait(Duration maxWait) {
      Objects.requireNonNull(maxWait, "maxWait");
      if (maxWait.isNegative()) {
        throw new IllegalArgumentException("maxWait must not be negative, but was " + maxWait);
      }
      this.maxWait = maxWait;
      return this;
    }

    /**
     * The HTTP methods subject to idempotency keys; others pass through. Default POST and PATCH.
     *
     * @param methods method names (case-sensitive, as HTTP defines them), at least one
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
     * Response headers that are not kept and replayed, besides the hop-by-hop headers and {@code
     * Content-Length}, which never are. Default {@code Date} and {@code Set-Cookie}.
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
     * The clock that times {@code maxWait}. Default the system clock; tests pass a fake one.
     *
     * @param clock the clock
     * @return this builder
     */
    public Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
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
      if (value.toMillis() < 1) {
        throw new IllegalArgumentException(
            name + " must be at least 1 millisecond, but was " + value);
      }
      return value;
    }

    private static long bytes(String name, long value) {
      if (value < 0 || value > MAX_BYTES_LIMIT) {
        throw new IllegalArgumentException(
            name + " must be between 0 and " + MAX_BYTES_LIMIT + ", but was " + value);
      }
      return value;
    }

    private static boolean isToken(String value) {
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
