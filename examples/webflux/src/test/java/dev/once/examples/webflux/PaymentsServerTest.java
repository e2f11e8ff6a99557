package dev.once.examples.webflux;

import static org.assertj.core.api.Assertions.assertThat;

import dev.once.examples.kit.PaymentsExampleTest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The example run as its README runs it (the main class in a process of its own, the port from
 * {@code PORT}), holding to the examples' contract and to the README's curl session.
 */
class PaymentsServerTest extends PaymentsExampleTest {
  PaymentsServerTest() {
    super(PaymentsServer.class);
  }

  @Test
  void itPrintsOneReadyLineWithThePortItWasGiven() throws Exception {
    assertPrintsOnlyItsReadyLine("once WebFlux example");
  }

  @Test
  void aRetryIsReplayedWithoutRunningAgainAChangedBodyGets422AndNoKey400() throws Exception {
    assertFirstPaymentRetried(retried -> {
      assertThat(retried.first().headers().firstValue("Location")).hasValue("/payments/pay_1");
      assertThat(retried.retry().headers().firstValue("Location")).hasValue("/payments/pay_1");
      assertThat(retried.changed().headers().firstValue("Content-Type"))
          .hasValue("application/problem+json");
    });
  }

  @Test
  void theReadmesShowTheServersOwnLinesAndTheBuildsVersions() throws Exception {
    List<String> source = strippedLines(source(PaymentsServer.class));
    Map<Path, String> sections = Map.of(README, "## The code",
        ROOT.resolve("README.md"), "## Spring WebFlux");
    for (Map.Entry<Path, String> section : sections.entrySet()) {
      Path readme = section.getKey();
      String text = Files.readString(readme);
      assertThat(text).contains(section.getValue());
      List<String> snippet = javaBlock(text, text.indexOf(section.getValue()));

      assertThat(snippet).as(readme.toString()).hasSizeGreaterThan(5);
      assertThat(source).as(readme.toString()).containsAll(snippet);
    }
    assertThat(Files.readString(README))
        .contains(coordinates("once-webflux", "once.version"))
        .contains(coordinates("spring-webflux", "spring-framework.version"));
  }
}
