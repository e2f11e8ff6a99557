package dev.once.examples.spring;

import static org.assertj.core.api.Assertions.assertThat;

import dev.once.examples.kit.ExampleProcess;
import dev.once.examples.kit.PaymentsClient;
import dev.once.examples.kit.PaymentsExampleTest;
import dev.once.examples.kit.RetryScenario;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.boot.json.JsonParserFactory;

/**
 * The example run as its README runs it (the main class in a process of its own, the port from
 * {@code PORT}), holding to the examples' contract, to the README's curl session (in a freshly
 * started example), and to what the docs say the actuator shows.
 */
class PaymentsApplicationTest extends PaymentsExampleTest {
  private static ExampleProcess example;
  private static PaymentsClient payments;

  PaymentsApplicationTest() {
    super(PaymentsApplication.class);
  }

  @BeforeAll
  static void startTheExample() throws Exception {
    example = ExampleProcess.start(PaymentsApplication.class);
    payments = new PaymentsClient(example.uri());
  }

  @AfterAll
  static void stop() throws Exception {
    example.close();
  }

  @Test
  void itStartsWithOneReadyLineAndTheStoreLoggedAndNoWarning() {
    assertReady(example, "once Spring Boot example");
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
    long before = executions();

    RetryScenario retried = RetryScenario.run(payments, UUID.randomUUID().toString());

    retried.assertReplayedRejectedAndRefused("{\"id\":\"pay_" + (before + 1)
        + "\",\"status\":\"created\",\"executions\":" + (before + 1) + "}");
    assertThat(retried.changed().body())
        .contains("https://once.dev/problems/idempotency-key-reused");
    assertThat(executions()).isEqualTo(before + 1);
  }

  @Test
  void withTracingOnAKeyedRequestIsASpanUnderTheHttpOneWithItsStoreCallsUnderIt()
      throws Exception {
    String key = UUID.randomUUID().toString();
    payments.post(key, "{\"amount\": 3}");

    String hash = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
        .digest(key.getBytes(StandardCharsets.UTF_8))).substring(0, 16);
    String request = awaitLine("span once.request ", "once.key.hash=" + hash);
    assertThat(request).contains("outcome=executed").contains("replayed=false")
        .contains("completion=stored").doesNotContain(key);
    String trace = part(request, "trace");
    String http = awaitLine("span http post /payments ", "id=" + part(request, "parent") + " ");
    assertThat(part(http, "trace")).isEqualTo(trace);
    List<String> store = awaitLines("span once.store ", "parent=" + part(request, "id") + " ", 2);
    assertThat(store).allSatisfy(line -> assertThat(part(line, "trace")).isEqualTo(trace))
        .anySatisfy(line -> assertThat(line).contains("operation=claim"))
        .anySatisfy(line -> assertThat(line).contains("operation=complete"));
  }

  /** @return the part {@code name=VALUE} of a span's log line */
  private static String part(String line, String name) {
    Matcher found = Pattern.compile(" " + name + "=(\\S+)").matcher(line);
    assertThat(found.find()).as(name + " in " + line).isTrue();
    return found.group(1);
  }

  private static String awaitLine(String start, String contains) throws InterruptedException {
    return awaitLines(start, contains, 1).get(0);
  }

  /** Waits (10 s at most) for the example to log {@code count} such lines: spans end async. */
  private static List<String> awaitLines(String start, String contains, int count)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    List<String> found;
    do {
      found = example.stdout().stream()
          .filter(line -> line.contains(start) && line.contains(contains)).toList();
      if (found.size() >= count) {
        return found;
      }
      Thread.sleep(20);
    } while (System.nanoTime() < deadline);
    throw new AssertionError(count + " lines with \"" + start + "\" and \"" + contains
        + "\" in\n" + example.output());
  }

  @Test
  void theActuatorShowsTheOnceHealthComponentAndTheMeters() throws Exception {
    payments.post(UUID.randomUUID().toString(), "{\"amount\": 1}");

    Map<String, Object> health =
        JsonParserFactory.getJsonParser().parseMap(payments.get("/actuator/health"));
    assertThat(((Map<?, ?>) health.get("components")).get("once"))
        .isEqualTo(Map.of("status", "UP", "details", Map.of("store", "MemoryStore")));
    assertThat(payments.get("/actuator/metrics")).contains("\"once.requests\"",
        "\"once.executions\"", "\"once.in.flight\"", "\"once.store.operations\"");
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
    assertThat(Files.readString(ROOT.resolve("docs/SPRING.md")))
        .contains("```properties\n" + actuator + "```\n");
    assertThat(Files.readString(ROOT.resolve("README.md")))
        .contains("```properties\n" + actuator + "```\n");
  }

  @Test
  void theReadmeShowsTheControllersOwnLinesAndTheBuildsVersion() throws Exception {
    String readme = Files.readString(README);
    List<String> snippet = javaBlock(readme, 0);

    assertThat(snippet).hasSizeGreaterThan(3);
    assertThat(strippedLines(source(PaymentsController.class))).containsAll(snippet);
    assertThat(readme).contains(coordinates("once-spring-boot-starter", "once.version"));
  }

  private static long executions() throws Exception {
    Map<String, Object> count =
        JsonParserFactory.getJsonParser().parseMap(payments.get("/payments"));
    return ((Number) count.get("executions")).longValue();
  }
}
