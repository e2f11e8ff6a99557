package dev.once;

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
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;

/**
 * An {@link IdempotencyStore} in this JVM's memory: for a single instance, for tests, and as the
 * near tier of other stores.
 *
 * <p>Design. A record lives in one of two tables. An in-progress record (owner token, fingerprint,
 * lease deadline) is a Java object in a {@link ConcurrentHashMap}: there are as many as requests
 * running, and they die young. A completed one (fingerprint, status, expiry, response) is no Java
 * object at all: it is a slot of an off-heap hash table, {@link CompletedTable}, its response's
 * headers and body a chain of blocks in a {@link SlabArena}, all in direct buffers the collector
 * does not trace or copy. (With Caffeine, each completed record kept about 370 bytes of heap
 * alive for the ttl (key, fingerprint, record, response, cache node), which every young collection
 * copied until it was tenured; see docs/BENCHMARKS.md.) The table is segmented; every read and
 * write of a segment's slots holds the segment's monitor. Each state change is one atomic
 * operation on the in-progress map, so it is atomic with respect to every other operation on that
 * key:
 *
 * <ul>
 *   <li>{@code claim} reads the completed table, then inserts a new in-progress record with {@code
 *       putIfAbsent}, or replaces one whose lease has passed with a {@code compute} that looks at
 *       its lease again under the record's lock (a renewal may have just extended it). A duplicate
 *       allocates nothing; a replay copies the response out of the arena, unless the same key was
 *       replayed a moment ago (below).
 *   <li>{@code renew} is a {@code computeIfPresent} that, only if the record is still owned by the
 *       token and within its lease, moves its deadline (the one mutable field of an in-progress
 *       record, written only under its lock), so waiters parked on the record stay parked.
 *   <li>{@code complete} first writes the response into the arena (holding no lock), then is a
 *       {@code computeIfPresent} on the in-progress record that, only if it is still owned by the
 *       token and within its lease, puts the completed record in the table and removes the
 *       in-progress one, holding the record's lock throughout; if the token lost, the blocks are
 *       given back.
 *   <li>{@code release} removes the in-progress record if it is still that owner's ({@code
 *       remove(key, record)}, which fails if it was taken over).
 * </ul>
 *
 * A claim that inserts reads the completed table a second time, because a completion can move the
 * record between its first read and its insert: it then withdraws its insert and returns the
 * completed record. So a key is never acquired while a live completed record exists. Locks are
 * only ever taken in one order, the in-progress record's (the map's bin) then a table segment's:
 * the table never calls back into the map, and an eviction holds one segment's monitor and
 * nothing else, so there is no cycle.
 *
 * <p>Memory is bounded twice, and neither bound ever makes the store forget a live record (a
 * forgotten record lets a retry run a second time):
 *
 * <ul>
 *   <li>By bytes: the arena holding the responses (header list and body, in 128-byte blocks) has
 *       {@code maximumWeightBytes} of capacity. When a response finds no room, responses are
 *       evicted by CLOCK (second chance) one segment at a time: a record replayed since the hand
 *       last passed keeps its response once more, another loses it and is kept without it, in the
 *       same slot (fingerprint, status, flagged not replayable, until its own expiry); a retry gets
 *       409 {@code response-not-replayable}, never a second run. A response larger than the bound,
 *       or finding no room after two turns of every segment, is itself kept without its body. So
 *       one client's flood of large responses can cost others their replays, but never their
 *       guarantee. CLOCK is simpler than Caffeine's W-TinyLFU, which also weighed how often a key
 *       was read: a flood of new keys can push out a replayed response once its mark is spent.
 *   <li>By count: all records, in progress, completed and kept without response, are bounded by
 *       {@code maximumRecords}. When it is reached a claim of a new key is refused with {@link
 *       StoreFullException} (503 {@code store-full}, never run without idempotency), after the
 *       table's expired records are removed (at most every 100 ms); replays and duplicates are
 *       still answered, and room comes back as records expire.
 * </ul>
 *
 * Completed records expire by the store's ticker: a read past the deadline removes the record, the
 * clock hand removes those it passes, and a full store sweeps them all. A claim of a key replayed a
 * moment ago is answered from a small heap table of the last claims read (256, with responses up
 * to 2 KiB), with no lock and no copy: a slot there is written and cleared only under the
 * segment's monitor of the key it holds, and every change to the record (removal, expiry,
 * eviction of its response, close) clears it, so the claim found is the record's current one.
 *
 * <p>In-progress records are never evicted; there are as many as requests running, plus abandoned
 * ones until their lease passes: a claim sweeps those out at most once a second. Waiters for an
 * in-progress record park on a future the record creates on first demand; it is completed when the
 * record is completed, released, swept or taken over, so a duplicate wakes as soon as the owner
 * finishes, without polling, and at the lease's end at the latest.
 *
 * <p>Direct memory: the arena reserves 1 MiB buffers as needed, up to {@code maximumWeightBytes};
 * the table 128 bytes a slot, at most half of them live after a segment grows; keys longer than 48
 * bytes (24 chars outside Latin-1) take a chain of their own. The buffers are made on first need
 * and kept until the store is unreachable (a direct buffer's memory goes back when the collector
 * finds its heap object gone); {@link #close()} gives every block back to the arena. The store
 * never takes the last quarter of the JVM's direct memory ({@code -XX:MaxDirectMemorySize}, by
 * default the maximum heap): it is left to the server's and clients' buffers and the JDK's
 * temporary ones, which a flood of long keys otherwise starved (connections closed, upstream
 * answers lost); past it a store goes on as past the limit itself.
 *
 * <p>Thread-safe. {@link #close()} wakes every waiter and empties the store.
 */
public final class MemoryStore implements IdempotencyStore {
  /** The default bound on the total size of stored responses: 64 MiB. */
  public static final long DEFAULT_MAXIMUM_WEIGHT_BYTES = 64L << 20;
  /**
   * The default bound on the number of records: 500,000. A record in progress is on the heap
   * (measured on JDK 17 with a 36-character key and a request hash: about 230 bytes). A completed
   * record, with its response or without, takes no heap at all ({@code RecordHeap}: 369 bytes a
   * record before, -9 now, within the measurement's noise): it is a 128-byte slot of the off-heap
   * table, whose segments are three eighths to three quarters full (measured: 415 bytes of direct
   * memory a record for 500,000 records, their slots and one 128-byte block of response each). So
   * 500,000 completed records take about 128 MiB of direct memory for their slots, on top of the
   * {@code maximumWeightBytes} of responses.
   */
  public static final long DEFAULT_MAXIMUM_RECORDS = 500_000;

  /** The {@code Retry-After} of a claim refused because the store is full. */
  private static final int FULL_RETRY_AFTER_SECONDS = 5;

  private static final long SWEEP_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(1);

  /** Between two sweeps of every expired completed record, when the store is full. */
  private static final long FULL_SWEEP_INTERVAL_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

  private final ConcurrentMap<String, InFlight> inFlight = new ConcurrentHashMap<>();
  private final CompletedTable completed;
  private final long maximumRecords;
  private final Ticker ticker;
  /** Turns the ticker's readings into instants, for {@link #inspect}. */
  private final Clock wallClock;
  private final AtomicLong nextSweep;
  private final AtomicLong nextFullSweep;
  private volatile boolean closed;

  private MemoryStore(Builder builder) {
    Clock clock = builder.clock;
    this.ticker = clock == null ? Ticker.system() : Ticker.of(clock);
    this.wallClock = clock == null ? Clock.systemUTC() : clock;
    this.completed = new CompletedTable(builder.maximumWeightBytes);
    this.maximumRecords = builder.maximumRecords;
    this.nextSweep = new AtomicLong(ticker.read() + SWEEP_INTERVAL_NANOS);
    this.nextFullSweep = new AtomicLong(ticker.read());
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
    long now = ticker.read();
    Claim done = completed.get(key, now);
    if (done != null) {
      return done;
    }
    InFlight current = inFlight.get(key);
    if (current != null && current.isLive(now)) {
      return current.claim;
    }
    if (current == null && recordCount() >= maximumRecords
        && isFullAfterCleanUp(now, maximumRecords)) {
      throw full(key);
    }
    InFlight fresh = new InFlight(Token.random(), fingerprint, now, saturatedAdd(now, lease));
    current = inFlight.putIfAbsent(key, fresh);
    if (current == null && recordCount() > maximumRecords
        && isFullAfterCleanUp(now, maximumRecords + 1)) {
      // claims of new keys that passed the check above together: each looks again with its own
      // record in, and one that finds the bound passed gives way, so the bound is never passed
      // (two giving way together leave a record free for the next claim)
      if (inFlight.remove(key, fresh)) {
        fresh.settle();
      }
      throw full(key);
    }
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
    done = completed.get(key, now);
    if (done != null) {
      // the record was completed between the first read and the insert: it stands
      if (inFlight.remove(key, fresh)) {
        fresh.settle();
      }
      return done;
    }
    sweepIfDue(now);
    return Claim.acquired(fresh.token);
  }

  @Override
  public boolean complete(String key, Token token, StoredResponse response, Duration ttl) {
    checkOpen(key);
    Objects.requireNonNull(response, "response");
    long now = ticker.read();
    // the bytes go out of the heap before any lock is taken; given back if the token lost
    CompletedTable.Serialized serialized = completed.serialize(response, now);
    InFlight[] finished = new InFlight[1];
    try {
      inFlight.computeIfPresent(key, (k, record) -> {
        if (!record.isOwnedBy(token, now)) {
          return record;
        }
        // put before the in-progress record goes, under its lock: no claim can see neither
        completed.put(k, record.claim.fingerprint(), response, serialized, record.created,
            saturatedAdd(now, ttl));
        finished[0] = record;
        return null;
      });
    } finally {
      if (finished[0] == null) {
        completed.discard(serialized);
      }
    }
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
    long now = ticker.read();
    Claim done = completed.get(key, now);
    if (done != null) {
      return done;
    }
    InFlight record = inFlight.get(key);
    if (record != null && record.isLive(now)) {
      return record.claim;
    }
    return completed.get(key, now); // completed since the first read
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
    long now = ticker.read();
    long[] done = completed.info(key, now);
    if (done == null) {
      InFlight record = inFlight.get(key);
      if (record != null && record.isLive(now)) {
        long deadline = record.deadline;
        return Optional.of(RecordInfo.inProgress(instant(record.created, now),
            instant(deadline, now), Duration.ofNanos(deadline - now)));
      }
      done = completed.info(key, now); // completed since the first read
      if (done == null) {
        return Optional.empty();
      }
    }
    return Optional.of(RecordInfo.completed(instant(done[0], now), instant(done[1], now),
        Duration.ofNanos(Math.max(0, done[1] - now)), (int) done[2], done[3], done[4] != 0));
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
    return completed.remove(key);
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
    return completed.strippedCount();
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
    return completed.weightBytes();
  }

  /**
   * @return how many responses were dropped to stay within {@code maximumWeightBytes} since the
   *     store was built (each record was kept without its response)
   */
  public long evictionCount() {
    return completed.evictionCount();
  }

  private StoreFullException full(String key) {
    return new StoreFullException("the memory store holds its maximum of " + maximumRecords
        + " records", key, FULL_RETRY_AFTER_SECONDS);
  }

  /**
   * Counts again after expired records are really removed, before a claim is refused.
   *
   * @return whether {@code limit} records or more are kept once the expired ones are gone
   */
  private boolean isFullAfterCleanUp(long now, long limit) {
    long due = nextFullSweep.get();
    if (now - due >= 0 && nextFullSweep.compareAndSet(due, now + FULL_SWEEP_INTERVAL_NANOS)) {
      completed.sweepExpired(now);
    }
    sweepIfDue(now);
    return recordCount() >= limit;
  }

  private long recordCount() {
    return inFlight.size() + completed.size();
  }

  /**
   * @return the bytes of the completed records' blocks outside the heap (responses, and keys too
   *     long to be kept in their slot), after removing the expired records
   */
  long offHeapBytes() {
    completed.sweepExpired(ticker.read());
    return completed.offHeapBytes();
  }

  /** Wakes every waiter, empties the store, and makes later operations fail. */
  @Override
  public void close() {
    closed = true;
    inFlight.values().forEach(InFlight::settle);
    inFlight.clear();
    completed.clear();
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
     * The bound on the total size of stored responses. Past it the responses not replayed lately
     * are dropped (CLOCK), and their records kept without them: a retry of such a record gets 409
     * {@code response-not-replayable}, never a second run. Default 64 MiB.
     *
     * <p>The responses (headers and body) are kept outside the Java heap, in 128-byte blocks of
     * direct buffers made as they are needed: this bounds the blocks in use, and the direct memory
     * the responses reserve. Three quarters of {@code -XX:MaxDirectMemorySize} (by default the
     * maximum heap; the last quarter is left to the rest of the JVM) must leave room for it and for
     * the records' table (see {@link #maximumRecords}); where they do not, responses are kept
     * without their bodies, and the table (never lost: a record once run is kept) moves to heap
     * arrays.
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
     * records expire: no live record is ever forgotten to make room. A completed record costs
     * no heap: a 128-byte slot of an off-heap table whose segments double when three quarters
     * full, so 171 to 341 bytes of direct memory (3 to 6 million records per GiB) beyond its
     * response (keys longer than 48 bytes add a chain of 128-byte blocks); one in progress, about
     * 230 bytes of heap. Default {@value #DEFAULT_MAXIMUM_RECORDS}.
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
