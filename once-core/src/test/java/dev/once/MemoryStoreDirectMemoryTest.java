package dev.once;

import static org.assertj.core.api.Assertions.assertThat;

import dev.once.spi.Claim;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A memory store in a JVM whose direct memory runs out ({@code -XX:MaxDirectMemorySize=1m}) while
 * a flood of keys completes: every record that ran is kept and found again, none completion fails;
 * the responses past the direct memory are kept without their bodies, so their retries get 409,
 * never a second run. Run in a JVM of its own, since the limit is the JVM's.
 */
class MemoryStoreDirectMemoryTest {
  private static final int THREADS = 4;
  private static final int KEYS_PER_THREAD = 25_000;
  private static final int BODY_BYTES = 300;
  private static final Duration LEASE = Duration.ofMinutes(1);
  private static final Duration TTL = Duration.ofHours(1);

  @Test
  void aStoreWithoutDirectMemoryLeftKeepsEveryRecordThatRan() throws Exception {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Path log = Files.createTempFile("once-flood", ".log");
    Process child = new ProcessBuilder(java, "-XX:MaxDirectMemorySize=1m", "-Xmx512m", "-cp",
        System.getProperty("java.class.path"), Flood.class.getName())
        .redirectErrorStream(true)
        .redirectOutput(log.toFile())
        .start();
    String output;
    try {
      boolean ended = child.waitFor(3, TimeUnit.MINUTES);
      output = Files.readString(log, StandardCharsets.UTF_8);
      assertThat(ended).as("the flood ended: %s", output).isTrue();
    } finally {
      child.destroyForcibly();
      Files.deleteIfExists(log);
    }

    int total = THREADS * KEYS_PER_THREAD;
    assertThat(output).as(output).contains("completed=" + total + " ", "kept=" + total + " ");
    assertThat(child.exitValue()).as(output).isZero();
    long withoutBody = Long.parseLong(output.replaceAll("(?s).*withoutBody=(\\d+).*", "$1"));
    long replayable = Long.parseLong(output.replaceAll("(?s).*replayable=(\\d+).*", "$1"));
    assertThat(withoutBody).as("responses past the direct memory, kept without bodies")
        .isPositive();
    assertThat(replayable).as("responses within it").isPositive();
    assertThat(withoutBody + replayable).isEqualTo(total);
  }

  /** The flood, in the child JVM: prints what it found; exits 1 on any failure. */
  static final class Flood {
    private Flood() {}

    public static void main(String[] args) throws Exception {
      MemoryStore store = MemoryStore.builder().build();
      byte[] body = new byte[BODY_BYTES];
      ExecutorService pool = Executors.newFixedThreadPool(THREADS);
      List<Future<Integer>> runs = new ArrayList<>();
      for (int t = 0; t < THREADS; t++) {
        int thread = t;
        runs.add(pool.submit(() -> {
          int completed = 0;
          for (int i = 0; i < KEYS_PER_THREAD; i++) {
            String key = key(thread, i);
            Claim claim = store.claim(key, null, LEASE);
            if (claim.state() != Claim.State.ACQUIRED) {
              throw new AssertionError(key + " was " + claim.state());
            }
            if (store.complete(key, claim.token(), StoredResponse.of(201, List.of(), body), TTL)) {
              completed++;
            }
          }
          return completed;
        }));
      }
      int completed = 0;
      int failed = 0;
      for (Future<Integer> run : runs) {
        try {
          completed += run.get();
        } catch (ExecutionException e) {
          e.getCause().printStackTrace(System.out);
          failed++;
        }
      }
      pool.shutdown();
      int kept = 0;
      int replayable = 0;
      for (int t = 0; t < THREADS; t++) {
        for (int i = 0; i < KEYS_PER_THREAD; i++) {
          Claim claim = store.claim(key(t, i), null, LEASE);
          if (claim.state() == Claim.State.COMPLETED) {
            kept++;
            if (claim.response().isReplayable()) {
              replayable++;
              if (claim.response().body().length != BODY_BYTES) {
                failed++;
              }
            }
          }
        }
      }
      System.out.println("completed=" + completed + " kept=" + kept + " replayable=" + replayable
          + " withoutBody=" + store.withoutResponseCount() + " size=" + store.size());
      store.close();
      System.exit(failed == 0 ? 0 : 1);
    }

    /** Half the keys longer than a slot holds inline, so the keys' arena fills too. */
    private static String key(int thread, int i) {
      String key = "flood-" + thread + "-" + i;
      return i % 2 == 0 ? key : key + "-".repeat(64);
    }
  }
}
