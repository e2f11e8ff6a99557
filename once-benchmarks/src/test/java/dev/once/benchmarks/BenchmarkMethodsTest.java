package dev.once.benchmarks;

import static org.assertj.core.api.Assertions.assertThat;

import dev.once.spi.Claim;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Each benchmark measures the path it claims to: called directly here (not through JMH), a few
 * operations each, with the result each operation must have.
 */
class BenchmarkMethodsTest {

  @Test
  void storeGetReadsTheCompletedRecordAndLockAndSetSucceedEveryTime() {
    MemoryStoreBenchmark bench = new MemoryStoreBenchmark();
    bench.setUp();
    MemoryStoreBenchmark.WriteKeys writeKeys = new MemoryStoreBenchmark.WriteKeys();
    writeKeys.setUp();
    MemoryStoreBenchmark.LockKeys lockKeys = new MemoryStoreBenchmark.LockKeys();
    lockKeys.setUp();
    try {
      for (int i = 0; i < 3000; i++) {
        assertThat(bench.MemoryStore_Get().state()).isEqualTo(Claim.State.COMPLETED);
        assertThat(bench.MemoryStore_Get_Parallel().state()).isEqualTo(Claim.State.COMPLETED);
        assertThat(bench.MemoryStore_Set(writeKeys)).isTrue();
        assertThat(bench.MemoryStore_Lock(lockKeys)).isTrue();
      }
    } finally {
      bench.tearDown();
    }
  }

  @Test
  void middlewareBenchmarksAnswer200OnTheirPath() throws Exception {
    MiddlewareBenchmark bench = new MiddlewareBenchmark();
    MiddlewareBenchmark.Client client = new MiddlewareBenchmark.Client();
    client.setUp();
    MiddlewareBenchmark.Default defaults = new MiddlewareBenchmark.Default();
    defaults.setUp();
    try {
      for (boolean hashCheck : new boolean[] {true, false}) {
        MiddlewareBenchmark.Configured configured = new MiddlewareBenchmark.Configured();
        configured.requestHashCheck = hashCheck;
        configured.setUp();
        try {
          for (int i = 0; i < 100; i++) {
            assertThat(bench.Middleware_CacheHit(configured, client)).isEqualTo(200);
            assertThat(client.exchange.response.getHeader("Idempotent-Replayed"))
                .isEqualTo("true");
            assertThat(bench.Middleware_CacheHit_Parallel(configured, client)).isEqualTo(200);
            assertThat(bench.Middleware_CacheMiss(configured, client)).isEqualTo(200);
            assertThat(client.exchange.response.getHeader("Idempotent-Replayed")).isNull();
          }
          assertThat(configured.store.size()).isEqualTo(2 + 100);
        } finally {
          configured.tearDown();
        }
      }
      for (int i = 0; i < 100; i++) {
        assertThat(bench.Middleware_NoKey(defaults, client)).isEqualTo(200);
        assertThat(bench.Middleware_WithBodyHash(defaults, client)).isEqualTo(200);
        assertThat(client.exchange.response.getHeader("Idempotent-Replayed")).isNull();
      }
    } finally {
      defaults.tearDown();
    }
  }

  @ParameterizedTest(name = "maxWaitSeconds={0}")
  @ValueSource(longs = {0, 5})
  void thunderingHerdRunsTheHandlerOncePerHerdOf100(long maxWaitSeconds) throws Exception {
    ThunderingHerdBenchmark bench = new ThunderingHerdBenchmark();
    bench.maxWaitSeconds = maxWaitSeconds;
    bench.setUp();
    try {
      // each herd checks its answers itself: 200 or 409, or with a wait 200 and 99 replays
      for (int herd = 0; herd < 20; herd++) {
        assertThat(bench.ThunderingHerd()).isEqualTo(1);
      }
    } finally {
      bench.tearDown();
    }
  }

  @Test
  void storeRenewExtendsTheLeaseOfTheKeyEachThreadHolds() {
    MemoryStoreBenchmark bench = new MemoryStoreBenchmark();
    bench.setUp();
    MemoryStoreBenchmark.HeldKey held = new MemoryStoreBenchmark.HeldKey();
    held.setUp(bench);
    try {
      for (int i = 0; i < 3000; i++) {
        assertThat(bench.MemoryStore_Renew(held)).isTrue();
      }
    } finally {
      bench.tearDown();
    }
  }

  @Test
  void mixedWorkloadWritesOneOperationInTen() {
    MixedWorkloadBenchmark bench = new MixedWorkloadBenchmark();
    bench.setUp();
    MixedWorkloadBenchmark.Counter counter = new MixedWorkloadBenchmark.Counter();
    counter.setUp();
    int writes = 0;
    try {
      for (int i = 0; i < 1000; i++) {
        Object result = bench.MixedWorkload(counter);
        if (result instanceof Boolean) {
          assertThat(result).isEqualTo(true);
          writes++;
        } else {
          assertThat(((Claim) result).state()).isEqualTo(Claim.State.COMPLETED);
        }
      }
    } finally {
      bench.tearDown();
    }
    assertThat(writes).isEqualTo(100);
  }
}
