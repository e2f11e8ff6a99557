package dev.once;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import com.github.benmanes.caffeine.cache.RemovalCause;
import com.github.benmanes.caffeine.cache.Ticker;
import dev.once.StoredResponse.Header;
import dev.once.spi.Claim;
import dev.once.spi.IdempotencyStore;
import dev.once.spi.StoreException;
import dev.once.spi.Token;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * An {@link IdempotencyStore} in this JVM's heap, on a Caffeine cache: for a single instance, for
 * tests, and as the near tier of other stores.
 *
 * <p>Design. Each key maps to an immutable {@code Entry}: in progress (owner token, fingerprint,
 * lease deadline) or completed (fingerprint, response, expiry). Every state change is one atomic
 * operation on the cache's map, so it is atomic with respect to every other operation on that key:
 * {@code claim} is a {@code putIfAbsent} (after a plain read, so a replay allocates nothing);
 * {@code complete} and {@code release} are a {@code computeIfPresent} that acts only if the entry
 * is still in progress, owned by the token and within its lease. Expiry is Caffeine's per-entry
 * expiry set to the entry's own deadline (lease or ttl), so an expired entry is absent to every
 * operation and a claim after a lease passes takes the key over. Waiters for an in-flight entry
 * park on a future the entry creates on first demand; it is completed when the entry is replaced,
 * removed, expires or is evicted, so a duplicate wakes as soon as the owner finishes, without
 * polling.
 *
 * <p>Memory is bounded by a maximum total weight in bytes (an estimate of each completed
 * response's size), so a flood of keys cannot exhaust the heap: past the bound, Caffeine evicts
 * completed entries it judges least likely to be used again. In-progress entries weigh nothing and
 * are never evicted, since evicting one would let a duplicate run beside its owner; they exist only
 * while their handler runs, or until their lease passes.
 *
 * <p>Thread-safe. {@link #close()} wakes every waiter and empties the store.
 */
public final class MemoryStore implements IdempotencyStore {
  /** The default bound on the total size of stored responses: 64 MiB. */
  public static final long DEFAULT_MAXIMUM_WEIGHT_BYTES = 64L << 20;

  private final Cache<String, Entry> cache;
  private final ConcurrentMap<String, Entry> map;
  private final Ticker ticker;
  private volatile boolean closed;

  private MemoryStore(Builder builder) {
    Clock clock = builder.clock;
    this.ticker = clock == null ? Ticker.systemTicker() : () -> nanos(clock.instant());
    this.cache = Caffeine.newBuilder()
        .ticker(ticker)
        .maximumWeight(builder.maximumWeightBytes)
        .weigher((String key, Entry entry) -> entry.weight(key))
        .expireAfter(new DeadlineExpiry())
        .evictionListener((String key, Entry entry, RemovalCause cause) -> {
          if (entry != null) {
            entry.settle();
          }
        })
        .build();
    this.map = cache.asMap();
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
   * <p>A lock-free read when the key has a live record; otherwise one atomic insert.
   */
  @Override
  public Claim claim(String key, Fingerprint fingerprint, Duration lease) {
    checkOpen(key);
    Entry existing = map.get(key);
    if (existing != null) {
      return existing.claim;
    }
    Token token = Token.random();
    Entry fresh = Entry.inProgress(token, fingerprint, deadline(lease));
    existing = map.putIfAbsent(key, fresh);
    return existing == null ? Claim.acquired(token) : existing.claim;
  }

  @Override
  public boolean complete(String key, Token token, StoredResponse response, Duration ttl) {
    checkOpen(key);
    Objects.requireNonNull(response, "response");
    long now = ticker.read();
    Entry[] replaced = new Entry[1];
    map.computeIfPresent(key, (k, entry) -> {
      if (!entry.isOwnedBy(token, now)) {
        return entry;
      }
      replaced[0] = entry;
      return Entry.completed(entry.claim.fingerprint(), response, saturatedAdd(now, ttl));
    });
    return settle(replaced[0]);
  }

  @Override
  public boolean release(String key, Token token) {
    checkOpen(key);
    long now = ticker.read();
    Entry[] removed = new Entry[1];
    map.computeIfPresent(key, (k, entry) -> {
      if (!entry.isOwnedBy(token, now)) {
        return entry;
      }
      removed[0] = entry;
      return null;
    });
    return settle(removed[0]);
  }

  /**
   * {@inheritDoc}
   *
   * <p>One lock-free read; it allocates nothing.
   */
  @Override
  public Claim peek(String key) {
    checkOpen(key);
    Entry entry = map.get(key);
    return entry == null ? null : entry.claim;
  }

  /**
   * {@inheritDoc}
   *
   * <p>Parks on the in-flight entry until it is completed, released, expires or is evicted: no
   * polling.
   */
  @Override
  public void awaitChange(String key, Duration timeout) throws InterruptedException {
    checkOpen(key);
    Entry entry = map.get(key);
    if (entry == null || entry.claim.state() != Claim.State.IN_PROGRESS) {
      return;
    }
    try {
      entry.settled().get(timeout.toNanos(), TimeUnit.NANOSECONDS);
    } catch (TimeoutException | ExecutionException e) {
      // the caller claims again either way
    }
  }

  /** @return the number of records, live or expired but not yet removed (an estimate) */
  public long size() {
    return cache.estimatedSize();
  }

  /** Wakes every waiter, empties the store, and makes later operations fail. */
  @Override
  public void close() {
    closed = true;
    map.values().forEach(Entry::settle);
    cache.invalidateAll();
    cache.cleanUp();
  }

  private void checkOpen(String key) {
    if (closed) {
      throw new StoreException("the memory store is closed", key, null);
    }
  }

  private long deadline(Duration lifetime) {
    return saturatedAdd(ticker.read(), lifetime);
  }

  private static boolean settle(Entry entry) {
    if (entry == null) {
      return false;
    }
    entry.settle();
    return true;
  }

  private static long saturatedAdd(long now, Duration duration) {
    long nanos = duration.toNanos();
    long sum = now + nanos;
    return ((now ^ sum) & (nanos ^ sum)) < 0 ? Long.MAX_VALUE : sum;
  }

  private static long nanos(Instant instant) {
    return instant.getEpochSecond() * 1_000_000_000L + instant.getNano();
  }

  /** Expires each entry at its own deadline; a read never extends it. */
  private static final class DeadlineExpiry implements Expiry<String, Entry> {
    @Override
    public long expireAfterCreate(String key, Entry entry, long currentTime) {
      return Math.max(0, entry.deadline - currentTime);
    }

    @Override
    public long expireAfterUpdate(String key, Entry entry, long currentTime, long currentDuration) {
      return Math.max(0, entry.deadline - currentTime);
    }

    @Override
    public long expireAfterRead(String key, Entry entry, long currentTime, long currentDuration) {
      return currentDuration;
    }
  }

  /** One record, immutable but for the future its waiters park on. */
  private static final class Entry {
    private static final CompletableFuture<Void> SETTLED = CompletableFuture.completedFuture(null);
    private static final VarHandle WAITERS;

    static {
      try {
        WAITERS = MethodHandles.lookup().findVarHandle(Entry.class, "waiters",
            CompletableFuture.class);
      } catch (ReflectiveOperationException e) {
        throw new ExceptionInInitializerError(e);
      }
    }

    /** What a claim that finds this entry returns, made once. */
    final Claim claim;
    final Token token;
    final long deadline;
    @SuppressWarnings("unused") // accessed through WAITERS
    private volatile CompletableFuture<Void> waiters;

    private Entry(Claim claim, Token token, long deadline) {
      this.claim = claim;
      this.token = token;
      this.deadline = deadline;
    }

    static Entry inProgress(Token token, Fingerprint fingerprint, long deadline) {
      return new Entry(Claim.inProgress(fingerprint), token, deadline);
    }

    static Entry completed(Fingerprint fingerprint, StoredResponse response, long deadline) {
      return new Entry(Claim.completed(fingerprint, response), null, deadline);
    }

    boolean isOwnedBy(Token owner, long now) {
      return token != null && token.equals(owner) && now < deadline;
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

    int weight(String key) {
      StoredResponse response = claim.response();
      if (response == null) {
        return 0;
      }
      long bytes = 160L + 2L * key.length() + response.bodyLength();
      for (Header header : response.headers()) {
        bytes += 48L + 2L * (header.name().length() + header.value().length());
      }
      return (int) Math.min(Integer.MAX_VALUE, bytes);
    }
  }

  /** Builds a {@link MemoryStore}. Mutable and not thread-safe. */
  public static final class Builder {
    private long maximumWeightBytes = DEFAULT_MAXIMUM_WEIGHT_BYTES;
    private Clock clock;

    private Builder() {}

    /**
     * The bound on the estimated total size of stored responses. Default 64 MiB.
     *
     * @param bytes a positive number of bytes
     * @return this builder
     * @throws IllegalArgumentException if {@code bytes} is not positive
     */
    public Builder maximumWeightBytes(long bytes) {
      if (bytes <= 0) {
        throw new IllegalArgumentException("maximumWeightBytes must be positive, but was " + bytes);
      }
      this.maximumWeightBytes = bytes;
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
  }
}
