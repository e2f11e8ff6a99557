package dev.once;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import com.github.benmanes.caffeine.cache.RemovalCause;
import dev.once.StoredResponse.Header;
import dev.once.spi.Claim;
import dev.once.spi.Deletion;
import dev.once.spi.IdempotencyStore;
import dev.once.spi.RecordInfo;
import dev.once.spi.StoreException;
import dev.once.spi.StoreFullException;
import dev.once.spi.Ticker;
import dev.once.spi.Token;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.jspecify.annotations.Nullable;

/**
 * An {@link IdempotencyStore} in this JVM's heap: for a single instance, for tests, and as the
 * near tier of other stores.
 *
 * <p>Design. A record lives in one of two maps. An in-progress record (owner token, fingerprint,
 * lease deadline) is in a {@link ConcurrentHashMap}; a completed one (fingerprint, response,
 * expiry)
 * is in a Caffeine cache bounded by bytes. Each state change is one atomic operation on the
 * in-progress map, so it is atomic with respect to every other operation on that key:
 *
 * <ul>
 *   <li>{@code claim} reads the completed cache, then inserts a new in-progress record with {@code
 *       putIfAbsent}, or replaces one whose lease has passed with a {@code compute} that looks at
 *       its lease again under the record's lock (a renewal may have just extended it). A replay or
 *       a duplicate allocates nothing.
 *   <li>{@code renew} is a {@code computeIfPresent} that, only if the record is still owned by the
 *       token and within its lease, moves its deadline (the one mutable field of an in-progress
 *       record, written only under its lock), so waiters parked on the record stay parked.
 *   <li>{@code complete} is a {@code computeIfPresent} on the in-progress record that, only if it
 * is
 *       still owned by the token and within its lease, puts the completed record in the cache and
 *       removes the in-progress one, holding the record's lock throughout.
 *   <li>{@code release} removes the in-progress record if it is still that owner's ({@code
 *       remove(key, record)}, which fails if it was taken over).
 * </ul>
 *
 * A claim that inserts reads the completed cache a second time, because a completion can move the
 * record between its first read and its insert: it then withdraws its insert and returns the
 * completed record. So a key is never acquired while a live completed record exists.
 *
 * <p>Memory is bounded twice, and neither bound ever makes the store forget a live record (a
 * forgotten record lets a retry run a second time):
 *
 * <ul>
 *   <li>By bytes: the completed records with their responses are weighed (an estimate of each
 *       one's size) against {@code maximumWeightBytes}. Past it Caffeine evicts those it judges
 *       least likely to be replayed, and an eviction listener, run atomically with the eviction,
 *       keeps each such record without its response in a second cache (fingerprint, status, a
 *       not-replayable marker, until the record's own expiry). A claim looks in both, so a record
 *       is never absent between the two; its retry gets 409 {@code response-not-replayable}, never
 *       a second run. So one client's flood of large responses can cost others their replays, but
 *       never their guarantee.
 *   <li>By count: all records, in progress, completed and kept without response, are bounded by
 *       {@code maximumRecords}. When it is reached a claim of a new key is refused with {@link
 *       StoreFullException} (503 {@code store-full}, never run without idempotency); replays and
 *       duplicates are still answered, and room comes back as records expire.
 * </ul>
 *
 * In-progress records are never evicted; there are as many as requests running, plus abandoned ones
 * until their lease passes: a claim sweeps those out at most once a second. Waiters for an
 * in-progress record park on a future the record creates on first
 * demand; it is completed when the record is completed, released, swept or taken over, so a
 * duplicate wakes as soon as the owner finishes, without polling, and at the lease's end at the
 * latest.
 *
 * <p>Thread-safe. {@link #close()} wakes every waiter and empties the store.
 */
public final class MemoryStore implements IdempotencyStore {
  /** The default bound on the total size of stored responses: 64 MiB. */
  public static final long DEFAULT_MAXIMUM_WEIGHT_BYTES = 64L << 20;
  /**
   * The default bound on the number of records: 500,000. Measured on JDK 17 with 36-character keys
   * and a request hash, a record costs about 230 bytes of heap while in progress, 260 kept without
   * its response, and 300 plus its response's headers and body with it: so 500,000 records kept
   * without responses take about 125 MiB, on top of the {@code maximumWeightBytes} of responses.
   */
  public static final long DEFAULT_MAXIMUM_RECORDS = 500_000;

  /** The {@code Retry-After} of a claim refused because the store is full. */
  private static final int FULL_RETRY_AFTER_SECONDS = 5;

  private static final long SWEEP_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(1);

  /**
   * Runs the caches' upkeep (recording reads, evicting, expiring) a millisecond after it was asked
   * for, on the common pool. Caffeine asks for it every few reads, and at most once while it is
   * pending; run at once, a replay every few microseconds woke a pool thread for each request
   * batch, a third of a replay's time. Delayed, the reads between are dropped from the policy's
   * sample (its read buffer is lossy by design), writes wait in their buffer (a writer that finds
   * it full does the upkeep itself), and the weight may exceed its bound for that millisecond;
   * {@link #weightBytes()} and a refused claim finish pending upkeep first.
   */
  private static final Executor UPKEEP =
      CompletableFuture.delayedExecutor(1, TimeUnit.MILLISECONDS, ForkJoinPool.commonPool());

  private final ConcurrentMap<String, InFlight> inFlight = new ConcurrentHashMap<>();
  private final Cache<String, Completed> cache;
  private final ConcurrentMap<String, Completed> completed;
  private final Cache<String, Completed> strippedCache;
  private final ConcurrentMap<String, Completed> stripped;
  private final long maximumRecords;
  private final Ticker ticker;
  /** Turns the ticker's readings into instants, for {@link #inspect}. */
  private final Clock wallClock;
  private final AtomicLong nextSweep;
  private final LongAdder evictions = new LongAdder();
  private volatile boolean closed;

  private MemoryStore(Builder builder) {
    Clock clock = builder.clock;
    this.ticker = clock == null ? Ticker.system() : Ticker.of(clock);
    this.wallClock = clock == null ? Clock.systemUTC() : clock;
    this.cache = Caffeine.newBuilder()
        .ticker(ticker::read)
        .executor(UPKEEP)
        .maximumWeight(builder.maximumWeightBytes)
        .weigher((String key, Completed record) -> record.weight(key))
        .expireAfter(new DeadlineExpiry())
        .evictionListener(
            (@Nullable String key, @Nullable Completed record, RemovalCause cause) -> {
          if (cause == RemovalCause.SIZE && key != null && record != null) {
            // atomically with the eviction: a claim finds the record in one cache or the other
            stripped().put(key, record.withoutResponse());
            evictions.increment();
          }
        })
        .build();
    this.completed = cache.asMap();
    this.strippedCache = Caffeine.newBuilder()
        .ticker(ticker::read)
        .executor(UPKEEP)
        .expireAfter(new DeadlineExpiry())
        .build();
    this.stripped = strippedCache.asMap();
    this.maximumRecords = builder.maximumRecords;
    this.nextSweep = new AtomicLong(ticker.read() + SWEEP_INTERVAL_NANOS);
  }

  private ConcurrentMap<String, Completed> stripped() {
    return stripped;
  }

  /** @return a memory store with the default bound and the system clock */
  public static MemoryStore create() {
    return builder().build();
  }

  /** @return a new, mutable builder */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * {@inheritDoc}
   *
   * <p>A replay or a duplicate is two lock-free reads and allocates nothing; a new key is one
   * atomic insert into a hash map.
   */
  @Override
  public Claim claim(String key, @Nullable Fingerprint fingerprint, Duration lease) {
    checkOpen(key);
    Completed done = completedRecord(key);
    if (done != null) {
      return done.claim;
    }
    long now = ticker.read();
    InFlight current = inFlight.get(key);
    if (current != null && current.isLive(now)) {
      return current.claim;
    }
    if (current == null && recordCount() >= maximumRecords && isFullAfterCleanUp(now)) {
      throw new StoreFullException("the memory store holds its maximum of " + maximumRecords
          + " records", key, FULL_RETRY_AFTER_SECONDS);
    }
    InFlight fresh = new InFlight(Token.random(), fingerprint, now, saturatedAdd(now, lease));
    current = inFlight.putIfAbsent(key, fresh);
    if (current != null) {
      if (current.isLive(now)) {
        return current.claim;
      }
      // take the dead record over, looking at its lease again under its lock
      InFlight[] dead = new InFlight[1];
      InFlight owner = inFlight.compute(key, (k, found) -> {
        if (found != null && found.isLive(now)) {
          return found;
        }
        dead[0] = found;
        return fresh;
      });
      if (owner != fresh) {
        return owner.claim;
      }
      if (dead[0] != null) {
        dead[0].settle(); // its waiters look again and find the new owner
      }
    }
    done = completedRecord(key);
    if (done != null) {
      // the record was completed between the first read and the insert: it stands
      if (inFlight.remove(key, fresh)) {
        fresh.settle();
      }
      return done.claim;
    }
    sweepIfDue(now);
    return Claim.acquired(fresh.token);
  }

  @Override
  public boolean complete(String key, Token token, StoredResponse response, Duration ttl) {
    checkOpen(key);
    Objects.requireNonNull(response, "response");
    long now = ticker.read();
    InFlight[] finished = new InFlight[1];
    inFlight.computeIfPresent(key, (k, record) -> {
      if (!record.isOwnedBy(token, now)) {
        return record;
      }
      // put before the in-progress record goes, under its lock: no claim can see neither
      completed.put(k, new Completed(
          record.claim.fingerprint(), response, record.created, saturatedAdd(now, ttl)));
      finished[0] = record;
      return null;
    });
    return settle(finished[0]);
  }

  /**
   * {@inheritDoc}
   *
   * <p>One atomic update of the in-progress record under its lock; its waiters stay parked.
   */
  @Override
  public boolean renew(String key, Token token, Duration lease) {
    checkOpen(key);
    Objects.requireNonNull(token, "token");
    long now = ticker.read();
    boolean[] renewed = new boolean[1];
    inFlight.computeIfPresent(key, (k, record) -> {
      if (record.isOwnedBy(token, now)) {
        record.deadline = saturatedAdd(now, lease);
        renewed[0] = true;
      }
      return record;
    });
    return renewed[0];
  }

  @Override
  public boolean release(String key, Token token) {
    checkOpen(key);
    InFlight record = inFlight.get(key);
    if (record == null || !record.isOwnedBy(token, ticker.read())) {
      return false;
    }
    return inFlight.remove(key, record) && settle(record);
  }

  /**
   * {@inheritDoc}
   *
   * <p>Lock-free reads; it allocates nothing.
   */
  @Override
  public @Nullable Claim peek(String key) {
    checkOpen(key);
    Completed done = completedRecord(key);
    if (done != null) {
      return done.claim;
    }
    InFlight record = inFlight.get(key);
    if (record != null && record.isLive(ticker.read())) {
      return record.claim;
    }
    done = completedRecord(key); // completed since the first read
    return done == null ? null : done.claim;
  }

  /**
   * {@inheritDoc}
   *
   * <p>Lock-free reads. The times are this JVM's clock (the builder's, if one was given); the
   * stored bytes are the body's plus the headers' names and values (UTF-16, as held in memory).
   */
  @Override
  public Optional<RecordInfo> inspect(String key) {
    checkOpen(key);
    Completed done = completedRecord(key);
    long now = ticker.read();
    if (done == null) {
      InFlight record = inFlight.get(key);
      if (record != null && record.isLive(now)) {
        long deadline = record.deadline;
        return Optional.of(RecordInfo.inProgress(instant(record.created, now),
            instant(deadline, now), Duration.ofNanos(deadline - now)));
      }
      done = completedRecord(key); // completed since the first read
      if (done == null) {
        return Optional.empty();
      }
    }
    StoredResponse response = done.response();
    return Optional.of(RecordInfo.completed(instant(done.created, now),
        instant(done.deadline, now), Duration.ofNanos(Math.max(0, done.deadline - now)),
        response.status(), done.storedBytes(), response.isReplayable()));
  }

  /**
   * {@inheritDoc}
   *
   * <p>Each step is one atomic removal from one map; a completion moves a record from the
   * in-progress map to the completed cache under the in-progress record's lock, so a deletion that
   * misses it in one finds it in the other, and looks again if it changed meanwhile.
   */
  @Override
  public Deletion delete(String key, boolean force) {
    checkOpen(key);
    while (true) {
      if (removeCompleted(key)) {
        return Deletion.DELETED;
      }
      long now = ticker.read();
      InFlight record = inFlight.get(key);
      if (record != null && record.isLive(now)) {
        if (!force) {
          return Deletion.IN_PROGRESS;
        }
        if (inFlight.remove(key, record)) {
          record.settle();
          return Deletion.FORCED;
        }
        continue; // completed, released or taken over meanwhile
      }
      if (removeCompleted(key)) {
        return Deletion.DELETED; // completed between the first look and the second
      }
      if (record == null) {
        return Deletion.ABSENT;
      }
      if (inFlight.remove(key, record)) {
        record.settle(); // its lease had passed: it was no live record
        return Deletion.ABSENT;
      }
    }
  }

  private boolean removeCompleted(String key) {
    return completed.remove(key) != null | stripped.remove(key) != null;
  }

  /** @return the instant of the ticker reading {@code nanos}, read at {@code now} */
  private Instant instant(long nanos, long now) {
    return wallClock.instant().plusNanos(nanos - now);
  }

  /**
   * {@inheritDoc}
   *
   * <p>Parks on the in-progress record until it is completed, released, swept or taken over, or
   * its lease passes: no polling.
   */
  @Override
  public void awaitChange(String key, Duration timeout) throws InterruptedException {
    checkOpen(key);
    InFlight record = inFlight.get(key);
    if (record == null) {
      return;
    }
    long wait = Math.min(timeout.toNanos(), record.deadline - ticker.read());
    if (wait <= 0) {
      return;
    }
    try {
      record.settled().get(wait, TimeUnit.NANOSECONDS);
    } catch (TimeoutException | ExecutionException e) {
      // the caller claims again either way
    }
  }

  /**
   * {@inheritDoc}
   *
   * <p>Parks on the in-progress record, holding no thread, until it is completed, released, swept
   * or taken over, or its lease passes; every waiter on the record is woken at once.
   */
  @Override
  public CompletionStage<Void> awaitChangeAsync(String key, Duration timeout) {
    checkOpen(key);
    InFlight record = inFlight.get(key);
    if (record == null) {
      return CompletableFuture.completedFuture(null);
    }
    long wait;
    try {
      wait = Math.min(timeout.toNanos(), record.deadline - ticker.read());
    } catch (ArithmeticException e) {
      wait = record.deadline - ticker.read();
    }
    CompletableFuture<Void> settled = record.settled();
    if (wait <= 0 || settled.isDone()) {
      return CompletableFuture.completedFuture(null);
    }
    // a dependent of its own, so the waiter's timeout never completes the record's future
    return settled.thenApply(ignored -> (Void) null)
        .completeOnTimeout(null, wait, TimeUnit.NANOSECONDS);
  }

  /**
   * @return the number of records, in progress, completed and kept without their response (the
   *     latter two estimates)
   */
  public long size() {
    return recordCount();
  }

  /** @return how many completed records are kept without their response, an estimate */
  public long withoutResponseCount() {
    return strippedCache.estimatedSize();
  }

  /**
   * The weight of the responses kept: finishes the cache's pending upkeep first (evictions that
   * were due), so it is never over {@code maximumWeightBytes}. For statistics, not for each
   * request.
   *
   * @return the estimated bytes of the completed records kept with their responses, the weight
   *     that {@code maximumWeightBytes} bounds
   */
  public long weightBytes() {
    cache.cleanUp();
    return cache.policy().eviction().map(eviction -> eviction.weightedSize().orElse(0L))
        .orElse(0L);
  }

  /**
   * @return how many responses were dropped to stay within {@code maximumWeightBytes} since the
   *     store was built (each record was kept without its response)
   */
  public long evictionCount() {
    return evictions.sum();
  }

  /** Counts again after expired records are really removed, before a claim is refused. */
  private boolean isFullAfterCleanUp(long now) {
    cache.cleanUp();
    strippedCache.cleanUp();
    sweepIfDue(now);
    return recordCount() >= maximumRecords;
  }

  private long recordCount() {
    return inFlight.size() + cache.estimatedSize() + strippedCache.estimatedSize();
  }

  /** @return the completed record of {@code key}, with its response or without, or null */
  private @Nullable Completed completedRecord(String key) {
    Completed done = completed.get(key);
    return done != null ? done : stripped.get(key);
  }

  /** Wakes every waiter, empties the store, and makes later operations fail. */
  @Override
  public void close() {
    closed = true;
    inFlight.values().forEach(InFlight::settle);
    inFlight.clear();
    cache.invalidateAll();
    cache.cleanUp();
    strippedCache.invalidateAll();
    strippedCache.cleanUp();
  }

  private void checkOpen(String key) {
    if (closed) {
      throw new StoreException("the memory store is closed", key, null);
    }
  }

  /** Removes in-progress records whose lease has passed, at most once a second. */
  private void sweepIfDue(long now) {
    long due = nextSweep.get();
    if (now - due < 0 || !nextSweep.compareAndSet(due, now + SWEEP_INTERVAL_NANOS)) {
      return;
    }
    for (Map.Entry<String, InFlight> entry : inFlight.entrySet()) {
      InFlight record = entry.getValue();
      if (!record.isLive(now) && inFlight.remove(entry.getKey(), record)) {
        record.settle();
      }
    }
  }

  private static boolean settle(InFlight record) {
    if (record == null) {
      return false;
    }
    record.settle();
    return true;
  }

  private static long saturatedAdd(long now, Duration duration) {
    long nanos = duration.toNanos();
    long sum = now + nanos;
    return ((now ^ sum) & (nanos ^ sum)) < 0 ? Long.MAX_VALUE : sum;
  }

  /** Expires each completed record at its own deadline; a read never extends it. */
  private static final class DeadlineExpiry implements Expiry<String, Completed> {
    @Override
    public long expireAfterCreate(String key, Completed record, long currentTime) {
      return Math.max(0, record.deadline - currentTime);
    }

    @Override
    public long expireAfterUpdate(
        String key, Completed record, long currentTime, long currentDuration) {
      return Math.max(0, record.deadline - currentTime);
    }

    @Override
    public long expireAfterRead(
        String key, Completed record, long currentTime, long currentDuration) {
      return currentDuration;
    }
  }

  /** A completed record: what a claim that finds it returns, made once. */
  private static final class Completed {
    final Claim claim;
    /** The ticker's reading when the key was claimed. */
    final long created;
    final long deadline;

    Completed(@Nullable Fingerprint fingerprint, StoredResponse response, long created,
        long deadline) {
      this.claim = Claim.completed(fingerprint, response);
      this.created = created;
      this.deadline = deadline;
    }

    /** @return this record without its response: it marks the request done, nothing to replay */
    Completed withoutResponse() {
      StoredResponse response = response();
      if (!response.isReplayable()) {
        return this;
      }
      return new Completed(claim.fingerprint(),
          StoredResponse.notReplayable(response.status(), List.of()), created, deadline);
    }

    /** @return the bytes of the body and of the headers' names and values, as held in memory */
    long storedBytes() {
      StoredResponse response = response();
      long bytes = response.bodyLength();
      for (Header header : response.headers()) {
        bytes += 2L * (header.name().length() + header.value().length());
      }
      return bytes;
    }

    int weight(String key) {
      StoredResponse response = response();
      long bytes = 160L + 2L * key.length() + response.bodyLength();
      for (Header header : response.headers()) {
        bytes += 48L + 2L * (header.name().length() + header.value().length());
      }
      return (int) Math.min(Integer.MAX_VALUE, bytes);
    }

    StoredResponse response() {
      return Objects.requireNonNull(claim.response(), "a completed claim has a response");
    }
  }

  /** An in-progress record, immutable but for the future its waiters park on. */
  private static final class InFlight {
    private static final CompletableFuture<Void> SETTLED = CompletableFuture.completedFuture(null);
    private static final VarHandle WAITERS;

    static {
      try {
        WAITERS = MethodHandles.lookup().findVarHandle(InFlight.class, "waiters",
            CompletableFuture.class);
      } catch (ReflectiveOperationException e) {
        throw new ExceptionInInitializerError(e);
      }
    }

    /** What a claim that finds this record returns, made once. */
    final Claim claim;
    final Token token;
    /** The ticker's reading when the key was claimed. */
    final long created;
    /** Moved only by a renewal, under the map's lock on the record. */
    volatile long deadline;
    @SuppressWarnings("unused") // accessed through WAITERS
    private volatile @Nullable CompletableFuture<Void> waiters;

    InFlight(Token token, @Nullable Fingerprint fingerprint, long created, long deadline) {
      this.claim = Claim.inProgress(fingerprint);
      this.token = token;
      this.created = created;
      this.deadline = deadline;
    }

    boolean isLive(long now) {
      return now - deadline < 0;
    }

    boolean isOwnedBy(Token owner, long now) {
      return token.equals(owner) && isLive(now);
    }

    @SuppressWarnings("unchecked")
    CompletableFuture<Void> settled() {
      CompletableFuture<Void> future = (CompletableFuture<Void>) WAITERS.getVolatile(this);
      if (future == null) {
        CompletableFuture<Void> created = new CompletableFuture<>();
        future = (CompletableFuture<Void>) WAITERS.compareAndExchange(this, null, created);
        if (future == null) {
          future = created;
        }
      }
      return future;
    }

    @SuppressWarnings("unchecked")
    void settle() {
      CompletableFuture<Void> future = (CompletableFuture<Void>) WAITERS.getAndSet(this, SETTLED);
      if (future != null) {
        future.complete(null);
      }
    }
  }

  /** Builds a {@link MemoryStore}. Mutable and not thread-safe. */
  public static final class Builder {
    private long maximumWeightBytes = DEFAULT_MAXIMUM_WEIGHT_BYTES;
    private long maximumRecords = DEFAULT_MAXIMUM_RECORDS;
    private @Nullable Clock clock;

    private Builder() {}

    /**
     * The bound on the estimated total size of stored responses. Past it the responses least
     * likely to be replayed are dropped, and their records kept without them: a retry of such a
     * record gets 409 {@code response-not-replayable}, never a second run. Default 64 MiB.
     *
     * @param bytes a positive number of bytes
     * @return this builder
     * @throws IllegalArgumentException if {@code bytes} is not positive
     */
    public Builder maximumWeightBytes(long bytes) {
      this.maximumWeightBytes = positive("maximumWeightBytes", bytes);
      return this;
    }

    /**
     * The bound on the number of records, in progress and completed, with their response or
     * without. When it is reached, a claim of a new key is refused (503 {@code store-full}) until
     * records expire: no live record is ever forgotten to make room. Each record costs a few
     * hundred bytes of heap beyond its response (about 260 kept without it: 4 million records per
     * GiB). Default {@value #DEFAULT_MAXIMUM_RECORDS}.
     *
     * @param records a positive number
     * @return this builder
     * @throws IllegalArgumentException if {@code records} is not positive
     */
    public Builder maximumRecords(long records) {
      this.maximumRecords = positive("maximumRecords", records);
      return this;
    }

    /**
     * The clock that times leases and ttls. Default the system's monotonic time source; tests
     * pass a fake clock to expire records without sleeping.
     *
     * @param clock the clock
     * @return this builder
     */
    public Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /** @return a new store */
    public MemoryStore build() {
      return new MemoryStore(this);
    }

    private static long positive(String name, long value) {
      if (value <= 0) {
        throw new IllegalArgumentException(name + " must be positive, but was " + value);
      }
      return value;
    }
  }
}
