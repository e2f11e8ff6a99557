package dev.once.examples.kit;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/**
 * What every example's test holds it to, run from the example's directory: the README's curl
 * session is what a freshly started example answers. A subclass names the example's main class
 * and adds the tests that are its own, with the helpers here: the ready line, the coordinates and
 * the code its READMEs show.
 */
public abstract class PaymentsExampleTest {
  /** The example's README. */
  protected static final Path README = Path.of("README.md");
  /** The repository's root, where the root README and docs are. */
  protected static final Path ROOT = Path.of("..", "..");

  /** The example's main class. */
  protected final Class<?> main;

  /** For the example whose program is {@code main}. */
  protected PaymentsExampleTest(Class<?> main) {
    this.main = main;
  }

  /** In a process started for it alone: the session's first payment is the example's first. */
  @Test
  public void theReadmeCurlSessionIsWhatTheExampleAnswers() throws Exception {
    CurlSession session = CurlSession.in(README);
    assertThat(session.exchanges()).hasSizeGreaterThanOrEqualTo(4);

    try (ExampleProcess example = start()) {
      assertThat(session.differencesFrom(example.uri())).isEmpty();
    }
  }

  /** The example's main class run as its README runs it, once it printed its ready line. */
  protected ExampleProcess start() throws Exception {
    return ExampleProcess.start(main);
  }

  /**
   * Asserts that {@code example} listens on a port of 127.0.0.1 it was given, and said so once:
   * {@code "<name> listening on http://127.0.0.1:<port>"}.
   */
  protected static void assertReady(ExampleProcess example, String name) {
    assertThat(example.uri().toString()).matches("http://127\\.0\\.0\\.1:[1-9][0-9]*");
    assertThat(example.stdout()).filteredOn(line -> line.contains("listening on"))
        .containsExactly(name + " listening on " + example.uri());
  }

  /**
   * Asserts that the example, freshly started, prints its ready line ({@link #assertReady}) and
   * nothing else, on either stream.
   */
  protected void assertPrintsOnlyItsReadyLine(String name) throws Exception {
    try (ExampleProcess example = start()) {
      assertReady(example, name);
      assertThat(example.stdout()).as(example.output()).hasSize(1);
      assertThat(example.stderr()).as("nothing but the ready line is printed").isEmpty();
    }
  }

  /**
   * Runs the {@link RetryScenario} with {@code key-1} on the freshly started example and asserts
   * that it holds to the examples' contract as the first payment, {@code pay_1}, ran once; hands it
   * to {@code ownChecks}; then asserts that another key runs again.
   */
  protected void assertFirstPaymentRetried(Consumer<RetryScenario> ownChecks) throws Exception {
    try (ExampleProcess example = start()) {
      PaymentsClient payments = new PaymentsClient(example.uri());

      RetryScenario retried = RetryScenario.run(payments, "key-1");

      retried.assertReplayedRejectedAndRefused(
          "{\"id\":\"pay_1\",\"status\":\"created\",\"executions\":1}\n");
      assertThat(payments.get("/payments")).isEqualTo("{\"executions\":1}\n");
      ownChecks.accept(retried);
      RetryScenario.assertAnotherKeyRunsAgain(payments, "key-2");
    }
  }

  /**
   * A Maven dependency as the READMEs show it, at the version the build passes in the system
   * property {@code versionProperty}.
   */
  protected static String coordinates(String artifactId, String versionProperty) {
    return "<artifactId>" + artifactId + "</artifactId>\n  <version>"
        + System.getProperty(versionProperty) + "</version>";
  }

  /** The source file of {@code type}, under {@code src/main/java}. */
  protected static Path source(Class<?> type) {
    return Path.of("src", "main", "java", type.getName().replace('.', '/') + ".java");
  }

  /** The lines of {@code file}, stripped of their indentation. */
  protected static List<String> strippedLines(Path file) throws IOException {
    return Files.readAllLines(file).stream().map(String::strip).toList();
  }

  /**
   * The lines of the first {@code ```java} block of {@code markdown} at or after {@code from},
   * stripped of their indentation, blank lines left out: what a README shows of a program.
   */
  protected static List<String> javaBlock(String markdown, int from) {
    int start = markdown.indexOf("```java\n", from) + "```java\n".length();
    return markdown.substring(start, markdown.indexOf("```\n", start)).lines()
        .map(String::strip).filter(line -> !line.isEmpty()).toList();
  }
}
