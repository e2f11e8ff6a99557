package dev.once.examples.jaxrs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.once.testing.Concurrently;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The example run as its README runs it (the main class in a process of its own, the port from
 * {@code PORT}), holding to the examples' contract and to the README's curl session.
 */
class PaymentsServerTest {
  private static final Path README = Path.of("README.md");
  private static final HttpClient CLIENT =
      HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  @Test
  void itPrintsOneReadyLineWithThePortItWasGiven() throws Exception {
    try (ExampleProcess example = ExampleProcess.start(PaymentsServer.class)) {
      assertThat(example.uri().toString()).matches("http://127\\.0\\.0\\.1:[1-9][0-9]*");
      assertThat(example.stdout()).filteredOn(line -> line.contains("listening on"))
          .containsExactly("once jaxrs example listening on " + example.uri());
      assertThat(example.stderr()).as("nothing but the ready line is printed").isEmpty();
    }
  }

  @Test
  void aRetryIsReplayedAChangedBodyGets422AndThePaymentRanOnce() throws Exception {
    try (ExampleProcess example = ExampleProcess.start(PaymentsServer.class)) {
      URI payments = example.uri().resolve("/payments");

      HttpResponse<String> first = post(payments, "key-1", "{\"amount\": 100}");
      HttpResponse<String> retry = post(payments, "key-1", "{\"amount\": 100}");
      HttpResponse<String> changed = post(payments, "key-1", "{\"amount\": 500}");
      HttpResponse<String> noKey = post(payments, null, "{\"amount\": 100}");
      HttpResponse<String> second = post(payments, "key-2", "{\"amount\": 100}");

      assertThat(first.statusCode()).isEqualTo(201);
      assertThat(first.body()).isEqualTo(
          "{\"id\":\"pay_1\",\"status\":\"created\",\"executions\":1}\n");
      assertThat(first.headers().firstValue("Location")).hasValue("/payments/pay_1");
      assertThat(retry.statusCode()).isEqualTo(201);
      assertThat(retry.headers().firstValue("Idempotent-Replayed")).hasValue("true");
      assertThat(retry.body()).isEqualTo(first.body());
      assertThat(changed.statusCode()).isEqualTo(422);
      assertThat(noKey.statusCode()).isEqualTo(400);
      assertThat(second.body()).isEqualTo(
          "{\"id\":\"pay_2\",\"status\":\"created\",\"executions\":2}\n");
      assertThat(executions(payments)).isEqualTo("{\"executions\":2}\n");
    }
  }

  @Test
  void ofFiftyConcurrentRetriesOfOnePaymentItRunsOnce() throws Exception {
    try (ExampleProcess example = ExampleProcess.start(PaymentsServer.class)) {
      URI payments = example.uri().resolve("/payments");

      List<HttpResponse<String>> responses = Concurrently.run(50,
          i -> post(payments, "same-payment", "{\"amount\": 100}"));

      assertThat(responses).filteredOn(r -> r.statusCode() == 201).isNotEmpty()
          .allSatisfy(r -> assertThat(r.body()).isEqualTo(
              "{\"id\":\"pay_1\",\"status\":\"created\",\"executions\":1}\n"));
      assertThat(responses).filteredOn(r -> r.statusCode() != 201)
          .allSatisfy(r -> assertThat(r.statusCode()).isEqualTo(409));
      assertThat(executions(payments)).isEqualTo("{\"executions\":1}\n");
    }
  }

  @Test
  void theReadmeCurlSessionIsWhatTheExampleAnswers() throws Exception {
    CurlSession session = CurlSession.in(README);
    assertThat(session.exchanges()).hasSizeGreaterThanOrEqualTo(4);

    try (ExampleProcess example = ExampleProcess.start(PaymentsServer.class)) {
      assertThat(session.differencesFrom(example.uri())).isEmpty();
    }
  }

  @Test
  void theRootReadmeShowsThisExampleWhole() throws Exception {
    String source = Files.readString(
        Path.of("src/main/java/dev/once/examples/jaxrs/PaymentsServer.java"));

    assertThat(Files.readString(Path.of("..", "..", "README.md")))
        .contains("```java\n" + source + "```\n");
  }

  @Test
  void theReadmeCoordinatesAreTheBuildsVersions() throws Exception {
    String readme = Files.readString(README);

    assertThat(readme)
        .contains("<artifactId>once-jaxrs</artifactId>\n  <version>"
            + System.getProperty("once.version") + "</version>")
        .contains("<artifactId>jersey-container-grizzly2-http</artifactId>\n  <version>"
            + System.getProperty("jersey.version") + "</version>")
        .contains("<artifactId>jersey-hk2</artifactId>\n  <version>"
            + System.getProperty("jersey.version") + "</version>");
  }

  private static String executions(URI payments) throws Exception {
    return CLIENT.send(HttpRequest.newBuilder(payments).build(),
        HttpResponse.BodyHandlers.ofString()).body();
  }

  private static HttpResponse<String> post(URI uri, String key, String body) throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(uri)
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body));
    if (key != null) {
      request.header("Idempotency-Key", key);
    }
    return CLIENT.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }
}
