package dev.once.spring;

import static org.assertj.core.api.Assertions.assertThat;

import dev.once.MemoryStore;
import dev.once.spi.ForwardingIdempotencyStore;
import dev.once.spi.IdempotencyStore;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

/** The store in use is logged once at start, whichever it is (Redis and JDBC: their own tests). */
@ExtendWith(OutputCaptureExtension.class)
class StoreLogTest {
  private final ApplicationContextRunner runner = new ApplicationContextRunner()
      .withConfiguration(AutoConfigurations.of(OnceAutoConfiguration.class));

  @Test
  void theMemoryStoreChosenForLackOfASharedOneIsLoggedOnceWithWhy(CapturedOutput output) {
    runner.run(context -> assertThat(context).hasNotFailed());

    assertThat(storeLines(output)).containsExactly("once: idempotency records in memory"
        + " (responses up to 64 MB), one instance only: once.store is unset and no shared store"
        + " was found (a Redis client with once-redis, a PostgreSQL table with once-jdbc)");
  }

  @Test
  void theMemoryStoreAskedForIsLoggedOnceWithItsBound(CapturedOutput output) {
    runner.withPropertyValues("once.store=memory", "once.memory.maximum-weight=512KB")
        .run(context -> assertThat(context).hasNotFailed());

    assertThat(storeLines(output)).containsExactly("once: idempotency records in memory"
        + " (responses up to 512 KB), one instance only: once.store=memory");
  }

  @Test
  void theApplicationsOwnStoreBeanIsLoggedOnceByName(CapturedOutput output) {
    MemoryStore memory = MemoryStore.create();
    runner.withBean("paymentsStore", IdempotencyStore.class, () ->
            new ForwardingIdempotencyStore() {
              @Override
              protected IdempotencyStore delegate() {
                return memory;
              }

              @Override
              public String toString() {
                return "PaymentsStore";
              }
            })
        .run(context -> assertThat(context).hasNotFailed());

    assertThat(storeLines(output)).containsExactly("once: idempotency records in PaymentsStore,"
        + " the application's IdempotencyStore bean [paymentsStore]");
  }

  private static List<String> storeLines(CapturedOutput output) {
    return output.getAll().lines()
        .filter(line -> line.contains("once: idempotency records in"))
        .map(line -> line.substring(line.indexOf("once: idempotency records in")))
        .toList();
  }
}
