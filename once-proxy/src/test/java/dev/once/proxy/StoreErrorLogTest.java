package dev.once.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.once.spi.StoreException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** What the operator is told when the store fails or a request loses its key. */
class StoreErrorLogTest {
  private static final String KEY = "secret-scope 4f1c-key";

  private final List<String> lines = new ArrayList<>();
  private final AtomicLong nanoTime = new AtomicLong();
  private final StoreErrorLog log =
      new StoreErrorLog("redis://***@cache:6379/0", lines::add, nanoTime::get);

  @Test
  void aStoreFailureIsOneLineThatNamesTheOperationButNotTheKey() {
    log.onStoreError("complete", KEY, new StoreException("complete failed", KEY,
        new IllegalStateException("connection reset\nby peer")));

    assertThat(lines).singleElement().asString()
        .isEqualTo("store redis://***@cache:6379/0 failed (complete of 1 failure since the last"
            + " line): complete failed: connection reset by peer")
        .doesNotContain("4f1c");
  }

  @Test
  void aLostKeyIsOneLineThatSaysWhatItMeansButNotTheKey() {
    log.onOwnershipLost(KEY, "renew");

    assertThat(lines).singleElement().asString()
        .startsWith("store redis://***@cache:6379/0: a request lost its key (renew refused; 1"
            + " time since the last line): ")
        .contains("may have run beside another")
        .doesNotContain("4f1c")
        .doesNotContain("\n");
  }

  @Test
  void eachKindIsSaidAtMostOnceASecondAndTheNextLineCountsWhatItStandsFor() {
    for (int i = 0; i < 50; i++) {
      log.onOwnershipLost(KEY, "complete");
      log.onStoreError("renew", KEY, new StoreException("renew failed", KEY, null));
    }
    assertThat(lines).hasSize(2);

    nanoTime.addAndGet(TimeUnit.MILLISECONDS.toNanos(999));
    log.onOwnershipLost(KEY, "complete");
    assertThat(lines).hasSize(2);
    nanoTime.addAndGet(TimeUnit.MILLISECONDS.toNanos(1));
    log.onOwnershipLost(KEY, "complete");

    assertThat(lines).hasSize(3);
    assertThat(lines.get(2)).contains("(complete refused; 51 times since the last line)");
  }
}
