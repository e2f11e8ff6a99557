package dev.once.benchmarks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class BenchTableTest {
  private static final String HEADER = "\"Benchmark\",\"Mode\",\"Threads\",\"Samples\",\"Score\","
      + "\"Score Error (99.9%)\",\"Unit\",\"Param: requestHashCheck\"";

  @Test
  void tablePutsOurFiguresBesideTheSeedsAndJudgesTheGoals() {
    String table = BenchTable.table(List.of(HEADER,
        "\"dev.once.benchmarks.MemoryStoreBenchmark.MemoryStore_Get\",\"avgt\",1,10,42.5,1.5,"
            + "\"ns/op\",",
        "\"dev.once.benchmarks.MemoryStoreBenchmark.MemoryStore_Get:gc.alloc.rate.norm\","
            + "\"avgt\",1,10,0.001,0.001,\"B/op\",",
        "\"dev.once.benchmarks.MiddlewareBenchmark.Middleware_CacheHit\",\"avgt\",1,10,1800,20,"
            + "\"ns/op\",true",
        "\"dev.once.benchmarks.MiddlewareBenchmark.Middleware_CacheHit:gc.alloc.rate.norm\","
            + "\"avgt\",1,10,1200,1,\"B/op\",true"));
    assertThat(table).contains(
        "| MemoryStore_Get |  | 1 | 42.5 | 1.5 | 0.0 | 50 | 0 | ≤ 50 ns: met |");
    assertThat(table).contains("| Middleware_CacheHit | requestHashCheck=true | 1 | 1,800 | 20 |"
        + " 1,200 | 2,834 | 5,747 | ≤ 1,500 ns, < 2 KiB: missed |");
  }

  @Test
  void parallelBenchmarksAreGivenAsWallTimePerOperationLikeTheSeeds() {
    String table = BenchTable.table(List.of(HEADER,
        "\"dev.once.benchmarks.MemoryStoreBenchmark.MemoryStore_Get_Parallel\",\"avgt\",2,10,"
            + "60,4,\"ns/op\","));
    assertThat(table).contains("| MemoryStore_Get_Parallel |  | 2 | 30 (60 per thread) | 2 |");
  }

  @Test
  void aFileThatIsNotAJmhCsvIsRefused() {
    assertThatThrownBy(() -> BenchTable.table(List.of("{\"json\": true}")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("-rf csv");
  }
}
