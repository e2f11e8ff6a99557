package dev.once;

import static org.assertj.core.api.Assertions.assertThat;

import dev.once.StoredResponse.Header;
import dev.once.spi.Claim;
import dev.once.spi.Deletion;
import dev.once.spi.Token;
import dev.once.testing.FakeClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.api.Test;

/** The memory store's completed records outside the heap: bounded, given back, never misread. */
class MemoryStoreOffHeapTest {
  private static final Duration LEASE = Duration.ofSeconds(10);
  private static final Duration TTL = Duration.ofHours(1);

  private final FakeClock clock = new FakeClock();

  @Test
  void theArenasBytesComeBackToZeroWhenEveryRecordHasExpired() {
    MemoryStore store = MemoryStore.builder().clock(clock).maximumWeightBytes(256 * 1024).build();
    for (int i = 0; i < 5000; i++) {
      put(store, "k" + i, response("k" + i));
    }
    long used = store.offHeapBytes();
    assertThat(used).isPositive().isLessThanOrEqualTo(256 * 1024);
    assertThat(store.evictionCount()).as("the bound was passed").isPositive();

    clock.advance(TTL.plusMinutes(1));

    assertThat(store.offHeapBytes()).isZero();
    assertThat(store.claim("k4999", null, LEASE).state()).isEqualTo(Claim.State.ACQUIRED);
    store.close();
  }

  @Test
  void deletingAndClosingGiveTheArenasBytesBack() {
    MemoryStore store = MemoryStore.builder().clock(clock).build();
    for (int i = 0; i < 100; i++) {
      put(store, "k" + i, response("k" + i));
    }
    long all = store.offHeapBytes();

    for (int i = 0; i < 50; i++) {
      assertThat(store.delete("k" + i, false)).isEqualTo(Deletion.DELETED);
    }
    long half = store.offHeapBytes();
    store.close();

    assertThat(half).isPositive().isLessThan(all);
    assertThat(store.offHeapBytes()).isZero();
  }

  @Test
  void aResponseLargerThanTheBoundIsKeptWithoutItsBodyAndTakesNoBlocks() {
    MemoryStore store = MemoryStore.builder().clock(clock).maximumWeightBytes(4096).build();
    put(store, "big", StoredResponse.of(201, List.of(), new byte[10_000]));

    Claim retry = store.claim("big", null, LEASE);

    assertThat(retry.state()).isEqualTo(Claim.State.COMPLETED);
    assertThat(retry.response().isReplayable()).isFalse();
    assertThat(retry.response().status()).isEqualTo(201);
    assertThat(store.offHeapBytes()).isZero();
    store.close();
  }

  @Test
  void aReplayIsTheResponseThatWasStoredHeadersBodyAndAll() {
    MemoryStore store = MemoryStore.builder().clock(clock).build();
    List<StoredResponse> responses = List.of(
        StoredResponse.of(200, List.of(), new byte[0]),
        StoredResponse.of(201, List.of(new Header("Content-Type", "application/json"),
            new Header("X-Name", "café ☕ 𝄞"), new Header("X-Name", "again")),
            body(new Random(1), 124)),
        StoredResponse.of(204, List.of(), body(new Random(2), 123)),
        StoredResponse.of(200, List.of(new Header("X-Long", "v".repeat(300))),
            body(new Random(3), 100_000)),
        StoredResponse.notReplayable(201, List.of(new Header("Location", "/payments/7"))),
        StoredResponse.outcomeUnknown());
    for (int i = 0; i < responses.size(); i++) {
      put(store, "k" + i, responses.get(i));
    }

    for (int i = 0; i < responses.size(); i++) {
      assertThat(store.claim("k" + i, null, LEASE).response()).isEqualTo(responses.get(i));
      assertThat(store.peek("k" + i).response()).isEqualTo(responses.get(i));
    }
    store.close();
  }

  /**
   * Threads store new records past the byte bound (so records are evicted and their blocks
   * reused all the time) while replaying records stored by every thread: each replay must be
   * exactly its own record's bytes, and no block may be left taken at the end.
   */
  @Test
  void replaysReadAlongsideEvictionsNeverSeeFreedOrReusedBytes() throws Exception {
    MemoryStore store = MemoryStore.builder().clock(clock).maximumWeightBytes(16 * 1024).build();
    int threads = 8;
    int writes = 5000;
    int readsPerWrite = 4;
    AtomicIntegerArray written = new AtomicIntegerArray(threads);
    LongAdder replayed = new LongAdder();
    LongAdder withoutResponse = new LongAdder();
    LongAdder wrong = new LongAdder();
    CyclicBarrier start = new CyclicBarrier(threads);
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      List<Future<?>> done = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int thread = t;
        done.add(pool.submit(() -> {
          start.await();
          ThreadLocalRandom random = ThreadLocalRandom.current();
          for (int i = 0; i < writes; i++) {
            put(store, thread + "-" + i, response(thread + "-" + i));
            written.set(thread, i + 1);
            for (int r = 0; r < readsPerWrite; r++) {
              int other = random.nextInt(threads);
              int count = written.get(other);
              if (count == 0) {
                other = thread;
                count = i + 1;
              }
              // mostly the newest records: those still have their bytes, about to be evicted
              String key = other + "-" + Math.max(0, count - 1 - random.nextInt(
                  random.nextInt(8) == 0 ? count : Math.min(count, 16)));
              Claim claim = store.claim(key, null, LEASE);
              StoredResponse response = claim.response();
              if (claim.state() != Claim.State.COMPLETED || response == null) {
                wrong.increment();
              } else if (!response.isReplayable()) {
                withoutResponse.increment();
              } else if (response.equals(response(key))) {
                replayed.increment();
              } else {
                wrong.increment();
              }
            }
          }
          return null;
        }));
      }
      for (Future<?> future : done) {
        future.get(2, TimeUnit.MINUTES);
      }
    } finally {
      pool.shutdownNow();
    }

    assertThat(wrong.sum()).isZero();
    assertThat(replayed.sum() + withoutResponse.sum())
        .isEqualTo((long) threads * writes * readsPerWrite);
    assertThat(replayed.sum()).isPositive();
    assertThat(withoutResponse.sum()).as("evictions happened during the reads").isPositive();
    assertThat(store.offHeapBytes()).isPositive().isLessThanOrEqualTo(16 * 1024);
    store.close();
    assertThat(store.offHeapBytes()).isZero();
  }

  @Test
  void theArenaRefusesAChainItHasNoRoomForAndTakesItAfterAFree() {
    SlabArena arena = new SlabArena(4 * SlabArena.BLOCK_BYTES, false);
    byte[] three = body(new Random(4), 3 * SlabArena.BLOCK_BYTES - 20);
    int first = arena.store(three);

    assertThat(arena.store(new byte[2 * SlabArena.BLOCK_BYTES])).isNegative();
    byte[] tail = new byte[three.length - 200];
    arena.read(first, 200, tail);
    assertThat(tail).isEqualTo(java.util.Arrays.copyOfRange(three, 200, three.length));
    arena.free(first);
    assertThat(arena.usedBytes()).isZero();
    assertThat(arena.store(new byte[4 * SlabArena.BLOCK_BYTES - 16])).isNotNegative();
    assertThat(arena.usedBytes()).isEqualTo(4 * SlabArena.BLOCK_BYTES);
    assertThat(arena.reservedBytes()).isEqualTo(4 * SlabArena.BLOCK_BYTES);
  }

  private void put(MemoryStore store, String key, StoredResponse response) {
    Token token = store.claim(key, null, LEASE).token();
    assertThat(store.complete(key, token, response, TTL)).as(key).isTrue();
  }

  /** @return the one response of {@code key}: its size and bytes made from the key */
  private static StoredResponse response(String key) {
    Random random = new Random(key.hashCode());
    return StoredResponse.of(201, List.of(new Header("X-Key", key)),
        body(random, random.nextInt(1500)));
  }

  private static byte[] body(Random random, int length) {
    byte[] body = new byte[length];
    random.nextBytes(body);
    return body;
  }
}
