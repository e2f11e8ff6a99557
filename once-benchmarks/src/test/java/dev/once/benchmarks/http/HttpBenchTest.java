package dev.once.benchmarks.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HttpBenchTest {

  @Test
  void shortRunMeasuresEveryModeAndWorkloadAndWritesTheReport(@TempDir Path dir)
      throws Exception {
    Path out = dir.resolve("http-bench.json");
    HttpBench.main(new String[] {"--generator", "java", "--duration", "1", "--warmup", "1",
        "--rounds", "1", "--connections", "2", "--out", out.toString()});

    String json = Files.readString(out, StandardCharsets.UTF_8);
    assertThat(json).contains("\"generator\": \"built-in Java load generator (2 connections)\"");
    Matcher rows = Pattern.compile("\"mode\": \"(\\w+)\",\\s*\"workload\": \"(\\w+)\",\\s*"
        + "\"rps\": ([\\d.]+),\\s*\"p50_us\": ([\\d.]+),\\s*\"p99_us\": ([\\d.]+),\\s*"
        + "\"ratio_to_bare\": ([\\d.]+),\\s*\"errors\": (\\d+)").matcher(json);
    StringBuilder seen = new StringBuilder();
    while (rows.find()) {
      seen.append(rows.group(1)).append('/').append(rows.group(2)).append(' ');
      assertThat(Double.parseDouble(rows.group(3))).as("rps").isPositive();
      assertThat(Double.parseDouble(rows.group(5)))
          .as("p99").isGreaterThanOrEqualTo(Double.parseDouble(rows.group(4)));
      assertThat(rows.group(7)).as("errors and unexpected statuses").isEqualTo("0");
      if (rows.group(1).equals("bare")) {
        assertThat(Double.parseDouble(rows.group(6))).isEqualTo(1.0);
      }
    }
    // once-redis is on the class path, so the harness adds two modes on an embedded Redis: with
    // the near cache (the default) and without
    assertThat(seen.toString().trim().split(" ")).containsExactly(
        "bare/nokey", "memory/nokey", "redis/nokey", "redisnocache/nokey",
        "bare/hit", "memory/hit", "redis/hit", "redisnocache/hit",
        "bare/unique", "memory/unique", "redis/unique", "redisnocache/unique");
  }

  @Test
  void onJerseyTheBareServerAndTheOnceServerAnswerEveryWorkload(@TempDir Path dir)
      throws Exception {
    Path out = dir.resolve("http-bench.json");
    HttpBench.main(new String[] {"--server", "jersey", "--store", "memory", "--generator", "java",
        "--duration", "1", "--warmup", "1", "--rounds", "1", "--connections", "2",
        "--out", out.toString()});

    String json = Files.readString(out, StandardCharsets.UTF_8);
    assertThat(json).contains("\"server\": \"jersey\"");
    Matcher rows = Pattern.compile("\"mode\": \"(\\w+)\",\\s*\"workload\": \"(\\w+)\",[^}]*?"
        + "\"errors\": (\\d+)").matcher(json);
    StringBuilder seen = new StringBuilder();
    while (rows.find()) {
      seen.append(rows.group(1)).append('/').append(rows.group(2)).append(' ');
      assertThat(rows.group(3)).as("errors and unexpected statuses").isEqualTo("0");
    }
    assertThat(seen.toString().trim().split(" ")).containsExactly(
        "bare/nokey", "memory/nokey", "bare/hit", "memory/hit", "bare/unique", "memory/unique");
  }

  @Test
  void onSpringBootEachModeIsAnApplicationOfItsOwnWhoseCollectionsAreReported(@TempDir Path dir)
      throws Exception {
    Path out = dir.resolve("http-bench.json");
    HttpBench.main(new String[] {"--server", "springboot", "--generator", "java",
        "--workloads", "nokey,unique", "--duration", "1", "--warmup", "1", "--rounds", "2",
        "--connections", "2", "--app-java-options", "-Xmx256m -XX:+UseSerialGC",
        "--out", out.toString()});

    String json = Files.readString(out, StandardCharsets.UTF_8);
    assertThat(json).contains("\"server\": \"springboot\"")
        .contains("\"app_java_options\": \"-Xmx256m -XX:+UseSerialGC\"");
    Matcher rows = Pattern.compile("\"mode\": \"(\\w+)\",\\s*\"workload\": \"(\\w+)\",[^}]*?"
        + "\"errors\": (\\d+),[^\\]]*\\],\\s*"
        + "\"gc_over_rounds\": \\{\\s*\"young_collections\": (\\d+)")
        .matcher(json);
    StringBuilder seen = new StringBuilder();
    while (rows.find()) {
      seen.append(rows.group(1)).append('/').append(rows.group(2)).append(' ');
      assertThat(rows.group(3)).as("errors and unexpected statuses").isEqualTo("0");
    }
    assertThat(seen.toString().trim().split(" ")).containsExactly(
        "bare/nokey", "memory/nokey", "bare/unique", "memory/unique");
    // each application's processor time per request, read from its process
    Matcher cpu = Pattern.compile("\"cpu_us_per_request\": ([\\d.]+)").matcher(json);
    int withCpu = 0;
    while (cpu.find()) {
      assertThat(Double.parseDouble(cpu.group(1))).isPositive();
      withCpu++;
    }
    assertThat(withCpu).isEqualTo(4);
    // each application wrote its own GC log next to the report
    assertThat(dir.resolve("springboot-bare-gc.log")).content().contains("Using Serial");
    assertThat(dir.resolve("springboot-memory-gc.log")).content().contains("Using Serial");
  }

  @Test
  void gcPausesAreSummedByKindFromTheLogLines() {
    GcPauses pauses = GcPauses.parse(List.of(
        "[0.008s][info][gc] Using Serial",
        "[4.401s][info][gc] GC(0) Pause Young (Allocation Failure) 100M->11M(365M) 38.690ms",
        "[4.793s][info][gc] GC(1) Pause Full (Metadata GC Threshold) 20M->11M(365M) 41.388ms",
        "[5.001s][info][gc] GC(2) Pause Young (Normal) (G1 Evacuation Pause) 24M->3M(64M) 1.5ms",
        "[6.000s][info][gc] GC(3) Pause Young (Allocation Fail"));
    assertThat(pauses.young()).isEqualTo(2);
    assertThat(pauses.youngMillis()).isCloseTo(40.19, org.assertj.core.data.Offset.offset(1e-9));
    assertThat(pauses.full()).isEqualTo(1);
    assertThat(pauses.fullMillis()).isEqualTo(41.388);
    assertThat(pauses.maxMillis()).isEqualTo(41.388);
    assertThat(GcPauses.parse(List.of())).isEqualTo(GcPauses.NONE);
  }

  @Test
  void springBootModesTakeTheMemoryStoresOptionsAsStarterProperties() {
    assertThat(SpringBootBenchServer.starterProperties("memory"))
        .containsExactly("--once.store=memory", "--once.ttl=10m");
    assertThat(SpringBootBenchServer.starterProperties(
        "memory?maximumRecords=4000000&maximumWeightBytes=1048576"))
        .containsExactly("--once.store=memory", "--once.ttl=10m",
            "--once.memory.maximum-records=4000000", "--once.memory.maximum-weight=1048576B");
  }

  @Test
  void badOptionsAreRefusedWithMessagesNamingThem() {
    assertThatThrownBy(() -> HttpBench.Options.parse(new String[] {"--rounds", "0"}))
        .hasMessage("--rounds must be a positive integer, but was \"0\"");
    assertThatThrownBy(() -> HttpBench.Options.parse(new String[] {"--generator", "ab"}))
        .hasMessage("--generator must be auto, wrk or java, but was \"ab\"");
    assertThatThrownBy(() -> HttpBench.Options.parse(new String[] {"--server", "tomcat"}))
        .hasMessage("--server must be jetty, webflux, jersey or springboot, but was \"tomcat\"");
    assertThatThrownBy(() -> HttpBench.Options.parse(
        new String[] {"--server", "springboot", "--store", "redis://127.0.0.1:6379"}))
        .hasMessage("--server springboot runs the memory store only, but --store was"
            + " \"redis://127.0.0.1:6379\"");
    assertThatThrownBy(() -> HttpBench.Options.parse(
        new String[] {"--server", "springboot", "--store", "memory?clock=x"}))
        .hasMessage("--server springboot: the memory store's option \"clock\" has no once.*"
            + " property here");
    assertThatThrownBy(() -> HttpBench.Options.parse(new String[] {"--workloads", "hit,miss"}))
        .hasMessage("--workloads takes nokey, hit and unique, but held \"miss\"");
    assertThatThrownBy(() -> HttpBench.Options.parse(new String[] {"--duration"}))
        .hasMessage("--duration needs a value");
    assertThatThrownBy(() -> HttpBench.Options.parse(new String[] {"--colour", "red"}))
        .hasMessage("unknown option \"--colour\"");
    assertThatThrownBy(() -> HttpBench.Options.parse(
        new String[] {"--threads", "4", "--connections", "2"}))
        .hasMessage("--threads (4) must not exceed --connections (2)");
  }

  @Test
  void optionsTakeStoresAndWorkloadsInOrder() {
    HttpBench.Options options = HttpBench.Options.parse(new String[] {
        "--store", "memory", "--store", "redis://127.0.0.1:6379", "--workloads", "unique,hit"});
    assertThat(options.stores).containsExactly("memory", "redis://127.0.0.1:6379");
    assertThat(options.workloads).containsExactly(Workload.UNIQUE, Workload.HIT);
  }

  @Test
  void modesAreNamedByStoreScheme() {
    assertThat(HttpBench.modeName("memory", List.of())).isEqualTo("memory");
    assertThat(HttpBench.modeName("memory?maximumRecords=9", List.of())).isEqualTo("memory");
    assertThat(HttpBench.modeName("redis://h:1", List.of("memory"))).isEqualTo("redis");
    assertThat(HttpBench.modeName("redis://h:2", List.of("redis"))).isEqualTo("redis2");
    assertThat(HttpBench.modeName("redis://h:1?nearCacheBytes=0", List.of("redis")))
        .isEqualTo("redisnocache");
    assertThat(HttpBench.modeName("jdbc:postgresql://h/db", List.of())).isEqualTo("jdbc");
    assertThat(HttpBench.modeName("bare", List.of())).isEqualTo("store");
  }

  @Test
  void medianOfEvenCountIsTheMeanOfTheMiddleTwo() {
    assertThat(HttpBench.median(new double[] {3, 1, 2})).isEqualTo(2.0);
    assertThat(HttpBench.median(new double[] {4, 1, 3, 2})).isEqualTo(2.5);
  }

  @Test
  void wrkScriptOfUniqueWorkloadSendsANewKeyPerRequest() {
    String unique = WrkLoadGenerator.script(Workload.UNIQUE);
    assertThat(unique).contains("function request()")
        .contains("headers[\"Idempotency-Key\"] = prefix .. \"-\" .. thread_index .. \"-\" .."
            + " counter")
        .contains("ONCE_RESULT");
    String hit = WrkLoadGenerator.script(Workload.HIT);
    assertThat(hit).doesNotContain("function request()")
        .contains("wrk.headers[\"Idempotency-Key\"] = prefix .. \"-hit\"");
    assertThat(WrkLoadGenerator.script(Workload.NO_KEY)).doesNotContain("Idempotency-Key\"] =");
  }
}
