package dev.once.redis;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import dev.once.StoredResponse;
import dev.once.StoredResponse.Header;
import dev.once.spi.Claim;
import dev.once.spi.Ticker;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * Completed records kept in this JVM so a hot replay costs no round trip. Only completed records
 * are kept: they never change in Redis until their ttl passes, so an entry is exact while it lives.
 * An entry lives until the earlier of the record's own expiry (as Redis reported it when it was
 * read or written) and {@code maxAge} after it was kept. The one staleness: a record deleted from
 * Redis by hand (DEL, FLUSHDB, a failover that lost it) is still replayed here until that entry
 * expires, at most {@code maxAge}. Bounded by an estimate of the bytes it holds. Thread-safe.
 */
final class NearCache {
  /**
   * Runs the cache's upkeep a millisecond after it was asked for, on the common pool, as {@code
   * MemoryStore} does: a hot replay asks for it every few reads, and waking a pool thread each time
   * cost more than the read.
   */
  private static final Executor UPKEEP =
      CompletableFuture.delayedExecutor(1, TimeUnit.MILLISECONDS, ForkJoinPool.commonPool());

  private final Cache<String, Entry> cache;

  NearCache(long maximumBytes, Duration maxAge, Ticker ticker) {
    long maxAgeNanos = saturatedNanos(maxAge);
    this.cache = Caffeine.newBuilder()
        .ticker(ticker::read)
        .executor(UPKEEP)
        .maximumWeight(maximumBytes)
        .weigher((String key, Entry entry) -> entry.weight)
        .expireAfter(new Expiry<String, Entry>() {
          @Override
          public long expireAfterCreate(String key, Entry entry, long now) {
            return Math.min(entry.lifetimeNanos, maxAgeNanos);
          }

          @Override
          public long expireAfterUpdate(String key, Entry entry, long now, long current) {
            return Math.min(entry.lifetimeNanos, maxAgeNanos);
          }

          @Override
          public long expireAfterRead(String key, Entry entry, long now, long current) {
            return current;
          }
        })
        .build();
  }

  /** @return the completed claim kept for {@code key}, or null */
  @Nullable Claim get(String key) {
    Entry entry = cache.getIfPresent(key);
    return entry == null ? null : entry.claim;
  }

  /**
   * Keeps a completed claim.
   *
   * @param key the scoped key
   * @param claim a {@link Claim.State#COMPLETED} claim
   * @param remainingMillis how long the record still lives in Redis
   */
  void put(String key, Claim claim, long remainingMillis) {
    if (remainingMillis <= 0) {
      return;
    }
    StoredResponse response =
        Objects.requireNonNull(claim.response(), "a completed claim has a response");
    cache.put(key, new Entry(claim, saturatedNanos(Duration.ofMillis(remainingMillis)),
        weigh(key, response)));
  }

  /** Forgets what is kept for {@code key}. */
  void invalidate(String key) {
    cache.invalidate(key);
  }

  /** Forgets everything kept. */
  void clear() {
    cache.invalidateAll();
  }

  /** @return the number of entries kept, after pending evictions and expiries are done */
  long size() {
    cache.cleanUp();
    return cache.estimatedSize();
  }

  private static int weigh(String key, StoredResponse response) {
    long weight = 96L + 2L * key.length() + response.bodyLength();
    for (Header header : response.headers()) {
      weight += 48 + 2L * (header.name().length() + header.value().length());
    }
    return (int) Math.min(weight, Integer.MAX_VALUE);
  }

  private static long saturatedNanos(Duration duration) {
    try {
      return duration.toNanos();
    } catch (ArithmeticException e) {
      return Long.MAX_VALUE;
    }
  }

  private static final class Entry {
    final Claim claim;
    final long lifetimeNanos;
    final int weight;

    Entry(Claim claim, long lifetimeNanos, int weight) {
      this.claim = claim;
      this.lifetimeNanos = lifetimeNanos;
      this.weight = weight;
    }
  }
}
