package dev.once.examples.webflux;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
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
      assertThat(example.stdout()).as(example.output())
          .containsExactly("once WebFlux example listening on " + example.uri());
      assertThat(example.stderr()).as("nothing but the ready line is printed").isEmpty();
    }
  }

  @Test
  void aRetryIsReplayedWithoutRunningAgainAChangedBodyGets422AndNoKey400() throws Exception {
    try (ExampleProcess example = ExampleProcess.start(PaymentsServer.class)) {
      URI payments = example.uri().resolve("/payments");

      HttpResponse<String> first = post(payments, "key-1", "{\"amount\": 100}");
      HttpResponse<String> retry = post(payments, "key-1", "{\"amount\": 100}");
      HttpResponse<String> changed = post(payments, "key-1", "{\"amount\": 500}");
      HttpResponse<String> noKey = post(payments, null, "{\"amount\": 100}");
      HttpResponse<String> second = post(payments, "key-2", "{\"amount\": 100}");

      assertThat(first.statusCode()).isEqualTo(201);
      assertThat(first.headers().firstValue("Location")).hasValue("/payments/pay_1");
      assertThat(first.body()).isEqualTo(
          "{\"id\":\"pay_1\",\"status\":\"created\",\"executions\":1}\n");
      assertThat(retry.statusCode()).isEqualTo(201);
      assertThat(retry.headers().firstValue("Idempotent-Replayed")).hasValue("true");
      assertThat(retry.headers().firstValue("Location")).hasValue("/payments/pay_1");
      assertThat(retry.body()).isEqualTo(first.body());
      assertThat(changed.statusCode()).isEqualTo(422);
      assertThat(changed.headers().firstValue("Content-Type"))
          .hasValue("application/problem+json");
      assertThat(noKey.statusCode()).isEqualTo(400);
      assertThat(second.body()).isEqualTo(
          "{\"id\":\"pay_2\",\"status\":\"created\",\"executions\":2}\n");
      assertThat(CLIENT.send(HttpRequest.newBuilder(payments).build(),
          HttpResponse.BodyHandlers.ofString()).body()).isEqualTo("{\"executions\":2}\n");
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
  void theReadmesShowTheServersOwnLinesAndTheBuildsVersions() throws Exception {
    List<String> source = Files.readAllLines(
            Path.of("src/main/java/dev/once/examples/webflux/PaymentsServer.java")).stream()
        .map(String::strip).toList();
    Map<Path, String> sections = Map.of(README, "## The code",
        Path.of("..", "..", "README.md"), "## Spring WebFlux");
    for (Map.Entry<Path, String> section : sections.entrySet()) {
      Path readme = section.getKey();
      String text = Files.readString(readme);
      assertThat(text).contains(section.getValue());
      int start = text.indexOf("```java\n", text.indexOf(section.getValue()));
      List<String> snippet = text.substring(start + 8, text.indexOf("```\n", start + 8))
          .lines().map(String::strip).filter(line -> !line.isEmpty()).toList();

      assertThat(snippet).as(readme.toString()).hasSizeGreaterThan(5);
      assertThat(source).as(readme.toString()).containsAll(snippet);
    }
    assertThat(Files.readString(README))
        .contains("<artifactId>once-webflux</artifactId>\n  <version>"
            + System.getProperty("once.version") + "</version>")
        .contains("<artifactId>spring-webflux</artifactId>\n  <version>"
            + System.getProperty("spring-framework.version") + "</version>");
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
