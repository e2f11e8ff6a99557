package dev.once;

import static org.assertj.core.api.Assertions.assertThat;

import dev.once.StoredResponse.Header;
import dev.once.spi.Claim;
import dev.once.spi.Deletion;
import dev.once.spi.RecordInfo;
import dev.once.spi.Token;
import dev.once.testing.FakeClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.api.Test;

/**
 * The memory store's off-heap table of completed records: keys of every shape found again exactly,
 * colliding hashes, growth, eviction, expiry, many threads, and the memory given back.
 */
class MemoryStoreTableTest {
  private static final Duration LEASE = Duration.ofSeconds(10);
  private static final Duration TTL = Duration.ofHours(1);

  private final FakeClock clock = new FakeClock();

  @Test
  void keysWithTheSameHashAreEachFoundAndDeletedAlone() {
    MemoryStore store = MemoryStore.builder().clock(clock).build();
    List<String> keys = collidingKeys(10); // 1,024 keys of 20 chars, one String.hashCode
    assertThat(keys.stream().map(String::hashCode).distinct().count()).isEqualTo(1);
    for (String key : keys) {
      put(store, key, response(key));
    }

    for (String key : keys) {
      assertThat(store.claim(key, null, LEASE).response()).as(key).isEqualTo(response(key));
    }
    for (int i = 0; i < keys.size(); i += 2) {
      assertThat(store.delete(keys.get(i), false)).isEqualTo(Deletion.DELETED);
    }
    for (int i = 0; i < keys.size(); i++) {
      Claim claim = store.claim(keys.get(i), null, LEASE);
      if (i % 2 == 0) {
        assertThat(claim.state()).as(keys.get(i)).isEqualTo(Claim.State.ACQUIRED);
      } else {
        assertThat(claim.response()).as(keys.get(i)).isEqualTo(response(keys.get(i)));
      }
    }
    assertThat(store.size()).isEqualTo(keys.size());
    store.close();
  }

  @Test
  void aTableGrownToFiftyThousandRecordsFindsEveryOneAndCountsThemExactly() {
    MemoryStore store = MemoryStore.builder().clock(clock).build();
    int records = 50_000;
    for (int i = 0; i < records; i++) {
      put(store, "grow-" + i, StoredResponse.of(201, List.of(), new byte[] {(byte) i}));
    }

    assertThat(store.size()).isEqualTo(records);
    assertThat(store.withoutResponseCount()).isZero();
    for (int i = 0; i < records; i++) {
      StoredResponse response = store.claim("grow-" + i, null, LEASE).response();
      assertThat(response.body()).as("grow-" + i).containsExactly((byte) i);
    }
    assertThat(store.claim("grow-" + records, null, LEASE).state())
        .isEqualTo(Claim.State.ACQUIRED);
    store.close();
  }

  @Test
  void keysWithCharsOutsideAsciiAndOutsideLatin1AreKeptAsTheyAre() {
    MemoryStore store = MemoryStore.builder().clock(clock).build();
    List<String> keys = List.of("café-1", "cafe\u0301-1", "ключ-1", "键🔑", "\u00ff", "\u0100",
        "\u0141x", "Ax", "\u00e9\u00e9\u00e9", "\uD83D", "a\u0000b", "");
    for (String key : keys) {
      put(store, key, response(key));
    }

    for (String key : keys) {
      assertThat(store.claim(key, null, LEASE).response()).as(key).isEqualTo(response(key));
      assertThat(store.inspect(key)).as(key).isPresent();
    }
    assertThat(store.claim("caf\u00e9-2", null, LEASE).state()).isEqualTo(Claim.State.ACQUIRED);
    assertThat(store.claim("\u0142x", null, LEASE).state()).isEqualTo(Claim.State.ACQUIRED);
    store.close();
  }

  @Test
  void longKeysSharingAllButTheirLastCharAreToldApartAndTheirMemoryGivenBack() {
    MemoryStore store = MemoryStore.builder().clock(clock).build();
    List<String> keys = new ArrayList<>();
    for (int length : new int[] {47, 48, 49, 255, 1000, 10_000}) {
      for (String last : new String[] {"a", "b", "\u0416"}) {
        keys.add("k".repeat(length - 1) + last);
        keys.add("\u0416".repeat(length - 1) + last);
      }
    }
    for (String key : keys) {
      put(store, key, response(key));
    }

    for (String key : keys) {
      assertThat(store.claim(key, null, LEASE).response()).as(key).isEqualTo(response(key));
    }
    assertThat(store.claim("k".repeat(999) + "c", null, LEASE).state())
        .isEqualTo(Claim.State.ACQUIRED);
    long used = store.offHeapBytes();
    for (String key : keys) {
      assertThat(store.delete(key, false)).as(key).isEqualTo(Deletion.DELETED);
    }
    assertThat(used).isPositive();
    assertThat(store.offHeapBytes()).isZero();
    store.close();
  }

  @Test
  void aResponseReplayedBetweenWritesKeepsItWhileUnreadOnesLoseTheirs() {
    MemoryStore store = MemoryStore.builder().clock(clock).maximumWeightBytes(64 * 1024).build();
    put(store, "replayed", StoredResponse.of(201, List.of(), new byte[1000]));
    for (int i = 0; i < 500; i++) {
      put(store, "once-" + i, StoredResponse.of(201, List.of(), new byte[1000]));
      assertThat(store.claim("replayed", null, LEASE).response().isReplayable()).as("after " + i)
          .isTrue();
    }

    assertThat(store.evictionCount()).isGreaterThan(400);
    assertThat(store.withoutResponseCount()).isEqualTo(store.evictionCount());
    assertThat(store.weightBytes()).isPositive().isLessThanOrEqualTo(64 * 1024);
    Claim evicted = store.claim("once-0", null, LEASE);
    assertThat(evicted.state()).isEqualTo(Claim.State.COMPLETED);
    assertThat(evicted.response().isReplayable()).isFalse();
    assertThat(evicted.response().status()).isEqualTo(201);
    assertThat(store.inspect("once-0").map(RecordInfo::replayable)).contains(false);
    assertThat(store.size()).isEqualTo(501);
    store.close();
  }

  @Test
  void expiredRecordsAreGoneForClaimsPeeksAndInspectionAndTheirKeysRunAgain() {
    MemoryStore store = MemoryStore.builder().clock(clock).build();
    for (int i = 0; i < 100; i++) {
      Token token = store.claim("k" + i, null, LEASE).token();
      store.complete("k" + i, token, response("k" + i), Duration.ofMinutes(i % 2 == 0 ? 1 : 10));
    }
    store.claim("k1", null, LEASE); // a replay leaves its claim in the heap table

    clock.advance(Duration.ofMinutes(2));

    for (int i = 0; i < 100; i++) {
      String key = "k" + i;
      if (i % 2 == 0) {
        assertThat(store.peek(key)).as(key).isNull();
        assertThat(store.inspect(key)).as(key).isEmpty();
        assertThat(store.claim(key, null, LEASE).state()).as(key).isEqualTo(Claim.State.ACQUIRED);
      } else {
        assertThat(store.claim(key, null, LEASE).response()).as(key).isEqualTo(response(key));
      }
    }
    clock.advance(Duration.ofMinutes(9));
    assertThat(store.claim("k1", null, LEASE).state()).isEqualTo(Claim.State.ACQUIRED);
    store.close();
  }

  @Test
  void aKeyCompletedAgainAfterItExpiredReplaysItsNewResponse() {
    MemoryStore store = MemoryStore.builder().clock(clock).build();
    Token first = store.claim("again", null, LEASE).token();
    store.complete("again", first, StoredResponse.of(201, List.of(), new byte[] {1}),
        Duration.ofMinutes(1));
    assertThat(store.claim("again", null, LEASE).response().body()).containsExactly(1);
    clock.advance(Duration.ofMinutes(2));

    Token second = store.claim("again", null, LEASE).token();
    store.complete("again", second, StoredResponse.of(200, List.of(), new byte[] {2}), TTL);

    assertThat(store.claim("again", null, LEASE).response().body()).containsExactly(2);
    assertThat(store.size()).isEqualTo(1);
    store.close();
  }

  @Test
  void aFingerprintIsKeptWithTheRecordAndComesBackEqual() {
    MemoryStore store = MemoryStore.builder().clock(clock).build();
    Fingerprint fingerprint = Fingerprint.of("POST", "/pay", "a=1", new byte[] {1, 2, 3});
    Token token = store.claim("fp", fingerprint, LEASE).token();
    store.complete("fp", token, response("fp"), TTL);

    assertThat(store.claim("fp", null, LEASE).fingerprint()).isEqualTo(fingerprint);
    assertThat(store.peek("fp").fingerprint()).isEqualTo(fingerprint);
    store.close();
  }

  @Test
  void manyThreadsClaimingTheSameKeysAcquireEachExactlyOnceAndAllSeeItsResponse()
      throws Exception {
    MemoryStore store = MemoryStore.builder().build();
    int threads = 8;
    int keys = 2_000;
    AtomicInteger acquired = new AtomicInteger();
    LongAdder replayed = new LongAdder();
    LongAdder inProgress = new LongAdder();
    LongAdder wrong = new LongAdder();
    ConcurrentHashMap<String, Integer> owners = new ConcurrentHashMap<>();
    CyclicBarrier start = new CyclicBarrier(threads);
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      List<Future<?>> done = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int thread = t;
        done.add(pool.submit(() -> {
          start.await();
          for (int i = 0; i < keys; i++) {
            // the same keys from every thread, and one key of this thread's own
            for (String key : new String[] {"shared-" + i, "own-" + thread + "-" + i}) {
              Claim claim = store.claim(key, null, LEASE);
              if (claim.state() == Claim.State.ACQUIRED) {
                acquired.incrementAndGet();
                if (owners.putIfAbsent(key, thread) != null) {
                  wrong.increment();
                }
                store.complete(key, claim.token(), response(key), TTL);
              } else if (claim.state() == Claim.State.IN_PROGRESS) {
                inProgress.increment();
              } else if (response(key).equals(claim.response())) {
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
    assertThat(acquired.get()).isEqualTo(keys + threads * keys);
    assertThat(acquired.get() + replayed.sum() + inProgress.sum())
        .isEqualTo(2L * threads * keys);
    assertThat(store.size()).isEqualTo(keys + threads * keys);
    for (int i = 0; i < keys; i++) {
      assertThat(store.claim("shared-" + i, null, LEASE).response())
          .isEqualTo(response("shared-" + i));
    }
    store.close();
  }

  @Test
  void closeGivesEveryBlockBackAndLaterOperationsFail() {
    MemoryStore store = MemoryStore.builder().clock(clock).build();
    for (int i = 0; i < 1000; i++) {
      put(store, "k".repeat(100) + i, response("k" + i));
    }
    assertThat(store.offHeapBytes()).isPositive();

    store.close();

    assertThat(store.offHeapBytes()).isZero();
    assertThat(store.size()).isZero();
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> store.claim("k1", null, LEASE))
        .isInstanceOf(dev.once.spi.StoreException.class);
  }

  @Test
  void chainsCrossingTheArenasGrowingSlabsReadBackAsWritten() {
    // slabs of 8 KiB doubling to 1 MiB, then 1 MiB
    SlabArena arena = new SlabArena(3L << 20, false);
    java.util.Random random = new java.util.Random(17);
    List<byte[]> written = new ArrayList<>();
    List<Integer> chains = new ArrayList<>();
    while (true) {
      byte[] bytes = new byte[random.nextInt(20_000)];
      random.nextBytes(bytes);
      int first = arena.store(bytes);
      if (first < 0) {
        break;
      }
      written.add(bytes);
      chains.add(first);
    }

    assertThat(arena.reservedBytes()).isEqualTo(3L << 20);
    assertThat(arena.usedBytes()).isGreaterThan((3L << 20) - 20_000 - SlabArena.BLOCK_BYTES);
    for (int i = 0; i < written.size(); i++) {
      byte[] read = new byte[written.get(i).length];
      arena.read(chains.get(i), 0, read);
      assertThat(read).as("chain " + i).isEqualTo(written.get(i));
    }
    chains.forEach(arena::free);
    assertThat(arena.usedBytes()).isZero();
  }

  /** @return 2^n keys of 2n chars, each a sequence of "Aa" and "BB", which hash alike */
  private static List<String> collidingKeys(int n) {
    List<String> keys = new ArrayList<>();
    for (int bits = 0; bits < 1 << n; bits++) {
      StringBuilder key = new StringBuilder();
      for (int i = 0; i < n; i++) {
        key.append((bits >>> i & 1) == 0 ? "Aa" : "BB");
      }
      keys.add(key.toString());
    }
    return keys;
  }

  private void put(MemoryStore store, String key, StoredResponse response) {
    Token token = store.claim(key, null, LEASE).token();
    assertThat(store.complete(key, token, response, TTL)).as(key).isTrue();
  }

  /** @return the one response of {@code key}: headers and body made from it */
  private static StoredResponse response(String key) {
    byte[] body = new byte[Math.floorMod(key.hashCode(), 300)];
    for (int i = 0; i < body.length; i++) {
      body[i] = (byte) (key.hashCode() * 31 + i);
    }
    return StoredResponse.of(201, List.of(new Header("X-Key", key.length() + "-" + key.hashCode()),
        new Header("X-N", "\u00e9")), body);
  }
}
