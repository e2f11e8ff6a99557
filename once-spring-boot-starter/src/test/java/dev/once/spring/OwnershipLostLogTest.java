package dev.once.spring;

import static dev.once.testing.Decisions.exchange;
import static org.assertj.core.api.Assertions.assertThat;

import dev.once.Exchange;
import dev.once.MemoryStore;
import dev.once.Once;
import dev.once.spring.OnceAutoConfigurationTest.RefusingStore;
import dev.once.testing.TestRequest;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.Banner;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.ImportAutoConfiguration;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * The engine logs a lost ownership itself (core has no logging dependency: it writes to {@code
 * System.Logger}); in a Spring Boot application that warning reaches the application's log through
 * Spring Boot's {@code java.util.logging} bridge, so the starter adds no log line of its own.
 */
@ExtendWith(OutputCaptureExtension.class)
class OwnershipLostLogTest {

  @Test
  void aRenewalTheStoreRefusesIsAWarningInTheApplicationsLog(CapturedOutput output)
      throws Exception {
    RefusingStore store = new RefusingStore(MemoryStore.create());
    store.refuseRenewals = true;
    try (ConfigurableApplicationContext context = new SpringApplicationBuilder(Application.class)
        .web(WebApplicationType.NONE)
        .bannerMode(Banner.Mode.OFF)
        .properties("once.lease=30ms")
        .initializers(application ->
            application.getBeanFactory().registerSingleton("idempotencyStore", store))
        .run()) {
      Exchange exchange =
          exchange(context.getBean(Once.class).decide(TestRequest.post("lost-key")));

      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (!output.getOut().contains("the renew of the record of key \"lost-key\" was refused")
          && System.nanoTime() < deadline) {
        Thread.sleep(10);
      }
      exchange.failedBeforeCommit(null).toCompletableFuture().join();
    }

    assertThat(output.getOut()).containsPattern(
        "WARN .*dev\\.once\\s*: once: the renew of the record of key \"lost-key\" was refused");
  }

  /** The engine's auto-configuration only. */
  @SpringBootConfiguration
  @ImportAutoConfiguration(OnceAutoConfiguration.class)
  static class Application {}
}
