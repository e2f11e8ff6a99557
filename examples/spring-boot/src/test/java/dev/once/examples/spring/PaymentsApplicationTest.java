package dev.once.examples.spring;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.boot.json.JsonParserFactory;

/**
 * The example run as its README runs it (the main class in a process of its own, the port from
 * {@code PORT}), holding to the examples' contract, to the README's curl session, and to what the
 * docs say the actuator shows.
 */
class PaymentsApplicationTest {
  private static final Path README = Path.of("README.md");
  private static final HttpClient CLIENT =
      HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  private static ExampleProcess example;

  @BeforeAll
  static void start() throws Exception {
    example = ExampleProcess.start(PaymentsApplication.class);
  }

  @AfterAll
  static void stop() throws Exception {
    example.close();
  }

  @Test
  void itStartsWithOneReadyLineAndTheStoreLoggedAndNoWarning() {
    assertThat(example.uri().toString()).matches("http://127\\.0\\.0\\.1:[1-9][0-9]*");
    assertThat(example.stdout()).filteredOn(line -> line.contains("listening on"))
        .containsExactly("once Spring Boot example listening on " + example.uri());
    List<String> output = Stream.concat(example.stdout().stream(), example.stderr().stream())
        .toList();
    assertThat(output).filteredOn(line -> line.contains("once: idempotency records in memory"))
        .hasSize(1);
    assertThat(output).as(example.output())
        .noneMatch(line -> line.contains(" WARN ") || line.contains(" ERROR ")
            || line.contains("was not registered"));
  }

  @Test
  void aRetryIsReplayedAChangedBodyGets422AndThePaymentRanOnce() throws Exception {
    String key = UUID.randomUUID().toString();
    long before = executions();

    HttpResponse<String> first = pay(key, "{\"amount\": 100}");
    HttpResponse<String> retry = pay(key, "{\"amount\": 100}");
    HttpResponse<String> changed = pay(key, "{\"amount\": 500}");
    HttpResponse<String> noKey = pay(null, "{\"amount\": 100}");

    assertThat(first.statusCode()).isEqualTo(201);
    assertThat(first.body()).isEqualTo("{\"id\":\"pay_" + (before + 1)
        + "\",\"status\":\"created\",\"executions\":" + (before + 1) + "}");
    assertThat(retry.statusCode()).isEqualTo(201);
    assertThat(retry.headers().firstValue("Idempotent-Replayed")).hasValue("true");
    assertThat(retry.body()).isEqualTo(first.body());
    assertThat(changed.statusCode()).isEqualTo(422);
    assertThat(changed.body()).contains("https://once.dev/problems/idempotency-key-reused");
    assertThat(noKey.statusCode()).isEqualTo(400);
    assertThat(executions()).isEqualTo(before + 1);
  }

  @Test
  void theActuatorShowsTheOnceHealthComponentAndTheMeters() throws Exception {
    pay(UUID.randomUUID().toString(), "{\"amount\": 1}");

    Map<String, Object> health = JsonParserFactory.getJsonParser().parseMap(get("/actuator/health"));
    assertThat(((Map<?, ?>) health.get("components")).get("once"))
        .isEqualTo(Map.of("status", "UP", "details", Map.of("store", "MemoryStore")));
    assertThat(get("/actuator/metrics")).contains("\"once.requests\"", "\"once.executions\"",
        "\"once.in.flight\"", "\"once.store.operations\"");
  }

  @Test
  void theReadmeCurlSessionIsWhatAFreshlyStartedExampleAnswers() throws Exception {
    CurlSession session = CurlSession.in(README);
    assertThat(session.exchanges()).hasSizeGreaterThanOrEqualTo(4);

    try (ExampleProcess fresh = ExampleProcess.start(PaymentsApplication.class)) {
      assertThat(session.differencesFrom(fresh.uri())).isEmpty();
    }
  }

  @Test
  void theReadmesAndSpringMdShowTheApplicationPropertiesAsTheyAre() throws Exception {
    String properties =
        Files.readString(Path.of("src/main/resources/application.properties"));
    String actuator = properties.lines()
        .filter(line -> line.startsWith("management."))
        .reduce("", (all, line) -> all + line + "\n");

    assertThat(Files.readString(README)).contains("```properties\n" + properties + "```\n");
    assertThat(actuator).isNotEmpty();
    assertThat(Files.readString(Path.of("..", "..", "docs", "SPRING.md")))
        .contains("```properties\n" + actuator + "```\n");
    assertThat(Files.readString(Path.of("..", "..", "README.md")))
        .contains("```properties\n" + actuator + "```\n");
  }

  @Test
  void theReadmeShowsTheControllersOwnLinesAndTheBuildsVersion() throws Exception {
    String readme = Files.readString(README);
    String controller = Files.readString(
        Path.of("src/main/java/dev/once/examples/spring/PaymentsController.java"));
    int start = readme.indexOf("```java\n") + "```java\n".length();
    List<String> snippet = readme.substring(start, readme.indexOf("```\n", start)).lines()
        .map(String::strip).filter(line -> !line.isEmpty()).toList();
    List<String> source = controller.lines().map(String::strip).toList();

    assertThat(snippet).hasSizeGreaterThan(3);
    assertThat(source).containsAll(snippet);
    assertThat(readme).contains("<artifactId>once-spring-boot-starter</artifactId>\n  <version>"
        + System.getProperty("once.version") + "</version>");
  }

  private static long executions() throws Exception {
    Map<String, Object> count = JsonParserFactory.getJsonParser().parseMap(get("/payments"));
    return ((Number) count.get("executions")).longValue();
  }

  private static HttpResponse<String> pay(String key, String body) throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(example.uri().resolve("/payments"))
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body));
    if (key != null) {
      request.header("Idempotency-Key", key);
    }
    return CLIENT.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static String get(String path) throws Exception {
    return CLIENT.send(HttpRequest.newBuilder(example.uri().resolve(path)).build(),
        HttpResponse.BodyHandlers.ofString()).body();
  }
}
