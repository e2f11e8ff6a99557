package dev.once.examples.jaxrs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.once.examples.kit.ExampleProcess;
import dev.once.examples.kit.PaymentsClient;
import dev.once.examples.kit.ShownWholeExampleTest;
import dev.once.testing.Concurrently;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.util.List;
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
    assertPrintsOnlyItsReadyLine("once jaxrs example");
  }

  @Test
  void aRetryIsReplayedAChangedBodyGets422AndThePaymentRanOnce() throws Exception {
    assertFirstPaymentRetried(retried -> assertThat(retried.first().headers()
        .firstValue("Location")).hasValue("/payments/pay_1"));
  }

  @Test
  void ofFiftyConcurrentRetriesOfOnePaymentItRunsOnce() throws Exception {
    try (ExampleProcess example = start()) {
      PaymentsClient payments = new PaymentsClient(example.uri());

      List<HttpResponse<String>> responses = Concurrently.run(50,
          i -> payments.post("same-payment", "{\"amount\": 100}"));

      assertThat(responses).filteredOn(r -> r.statusCode() == 201).isNotEmpty()
          .allSatisfy(r -> assertThat(r.body()).isEqualTo(
              "{\"id\":\"pay_1\",\"status\":\"created\",\"executions\":1}\n"));
      assertThat(responses).filteredOn(r -> r.statusCode() != 201)
          .allSatisfy(r -> assertThat(r.statusCode()).isEqualTo(409));
      assertThat(payments.get("/payments")).isEqualTo("{\"executions\":1}\n");
    }
  }

  @Test
  void theReadmeCoordinatesAreTheBuildsVersions() throws Exception {
    assertThat(Files.readString(README))
        .contains(coordinates("once-jaxrs", "once.version"))
        .contains(coordinates("jersey-container-grizzly2-http", "jersey.version"))
        .contains(coordinates("jersey-hk2", "jersey.version"));
  }
}
