package dev.once.examples.servlet;

import static org.assertj.core.api.Assertions.assertThat;

import dev.once.examples.kit.ShownWholeExampleTest;
import java.nio.file.Files;
import org.junit.jupiter.api.Test;

/**
 * The example run as its README runs it (the main class in a process of its own, the port from
 * {@code PORT}), holding to the examples' contract and to the README's curl session; the root
 * README shows it whole.
 */
class PaymentsServerTest extends ShownWholeExampleTest {
  PaymentsServerTest() {
    super(PaymentsServer.class);
  }

  @Test
  void itPrintsOneReadyLineWithThePortItWasGiven() throws Exception {
    assertPrintsOnlyItsReadyLine("once servlet example");
  }

  @Test
  void aRetryIsReplayedAChangedBodyGets422AndThePaymentRanOnce() throws Exception {
    assertFirstPaymentRetried(retried -> {});
  }

  @Test
  void theReadmeCoordinatesAreTheBuildsVersions() throws Exception {
    assertThat(Files.readString(README))
        .contains(coordinates("once-servlet", "once.version"))
        .contains(coordinates("jetty-ee10-servlet", "jetty.version"));
  }
}
