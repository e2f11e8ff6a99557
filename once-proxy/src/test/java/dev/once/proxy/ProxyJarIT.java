package dev.once.proxy;

import static dev.once.proxy.Http.assertProblem;
import static dev.once.proxy.Http.newKey;
import static dev.once.proxy.Http.post;
import static dev.once.proxy.Http.postKeyed;
import static org.assertj.core.api.Assertions.assertThat;

import dev.once.ProblemType;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.ConnectException;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandlers;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The packaged jar, run as a process the way the README runs it. */
class ProxyJarIT {
  private static final Pattern READY =
      Pattern.compile("once-proxy listening on http://127\\.0\\.0\\.1:(\\d+)");

  private final List<Process> processes = new ArrayList<>();

  @AfterEach
  void killLeftovers() {
    processes.forEach(Process::destroyForcibly);
  }

  /** The jar as a process, with its standard output and error read into lists as they come. */
  private final class Jar {
    final Process process;
    final List<String> out = new ArrayList<>();
    final List<String> err = new ArrayList<>();
    final CompletableFuture<String> firstLine = new CompletableFuture<>();
    private final Thread outReader;
    private final Thread errReader;

    Jar(String... args) throws IOException {
      Path jar = Paths.get(System.getProperty("once.proxy.jar", "target/once-proxy.jar"));
      assertThat(jar).as("the jar is built by mvn package").exists();
      List<String> command = new ArrayList<>(List.of(
          Paths.get(System.getProperty("java.home"), "bin", "java").toString(),
          "-jar", jar.toString()));
      command.addAll(List.of(args));
      ProcessBuilder builder = new ProcessBuilder(command);
      builder.environment().keySet().removeIf(name -> name.startsWith("ONCE_"));
      process = builder.start();
      processes.add(process);
      outReader = reader(process.getInputStream(), out, true);
      errReader = reader(process.getErrorStream(), err, false);
    }

    private Thread reader(java.io.InputStream stream, List<String> into, boolean first) {
      Thread thread = new Thread(() -> {
        try (BufferedReader lines = new BufferedReader(
            new InputStreamReader(stream, StandardCharsets.UTF_8))) {
          for (String line; (line = lines.readLine()) != null; ) {
            synchronized (into) {
              into.add(line);
            }
            if (first) {
              firstLine.complete(line);
            }
          }
        } catch (IOException e) {
          // the process ended
        }
        firstLine.complete(null);
      });
      thread.setDaemon(true);
      thread.start();
      return thread;
    }

    /** @return the port from the ready line */
    int awaitReady() throws Exception {
      String line = firstLine.get(120, TimeUnit.SECONDS);
      assertThat(line).as("stdout's first line (stderr: %s)", err).isNotNull();
      Matcher ready = READY.matcher(line);
      assertThat(ready.matches()).as("the ready line: %s", line).isTrue();
      return Integer.parseInt(ready.group(1));
    }

    /**
     * Sends SIGTERM. Not {@link Process#destroy()}: it closes the streams, so what the process
     * writes while it stops would be lost.
     */
    void sigterm() {
      assertThat(process.toHandle().supportsNormalTermination()).isTrue();
      assertThat(process.toHandle().destroy()).isTrue();
    }

    /** Waits for the process to end and its output to be read. */
    int awaitExit() throws Exception {
      assertThat(process.waitFor(60, TimeUnit.SECONDS)).as("the process ended").isTrue();
      outReader.join(10_000);
      errReader.join(10_000);
      return process.exitValue();
    }
  }

  @Test
  void withoutAnUpstreamItServesTheDemoAndTheReadmeSessionHoldsThenSigtermExits0()
      throws Exception {
    Jar jar = new Jar("--listen", "127.0.0.1:0");
    int port = jar.awaitReady();
    URI payments = URI.create("http://127.0.0.1:" + port + "/payments");

    HttpResponse<String> first = postKeyed(payments, "unique-request-id", "{\"amount\": 100}");
    HttpResponse<String> retry = postKeyed(payments, "unique-request-id", "{\"amount\": 100}");
    HttpResponse<String> changed = postKeyed(payments, "unique-request-id", "{\"amount\": 500}");
    HttpResponse<String> count = Http.send(HttpRequest.newBuilder(payments).GET());
    HttpResponse<String> health = Http.send(HttpRequest.newBuilder(
        URI.create("http://127.0.0.1:" + port + "/_once/health")).GET());

    assertThat(first.statusCode()).isEqualTo(201);
    assertThat(first.body().trim())
        .isEqualTo("{\"id\":\"pay_1\",\"status\":\"created\",\"executions\":1}");
    assertThat(retry.statusCode()).isEqualTo(201);
    assertThat(retry.headers().firstValue("Idempotent-Replayed")).hasValue("true");
    assertThat(retry.body()).isEqualTo(first.body());
    assertProblem(changed, 422, ProblemType.KEY_REUSED.uri());
    assertThat(count.body().trim()).isEqualTo("{\"executions\":1}");
    assertThat(health.statusCode()).isEqualTo(200);

    jar.sigterm();
    assertThat(jar.awaitExit()).isZero();
    assertThat(jar.out).as("stdout").hasSize(1);
    assertThat(jar.err).containsExactly(
        "once-proxy: no --upstream given: forwarding to the built-in demo upstream (POST /payments)",
        "once-proxy: SIGTERM: no new connections; finishing the requests in flight",
        "once-proxy: stopped");
  }

  @Test
  void sigtermRefusesNewConnectionsAndLetsTheRequestInFlightFinishThenExits0() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    try (Upstream upstream = Upstream.start().handle("/slow", (exchange, run) -> {
      release.await(30, TimeUnit.SECONDS);
      Upstream.respond(exchange, 201, "{\"slow\":" + run + "}");
    })) {
      Jar jar = new Jar("--listen", "127.0.0.1:0", "--upstream", upstream.uri().toString(),
          "--upstream-timeout", "20s");
      int port = jar.awaitReady();
      CompletableFuture<HttpResponse<String>> inFlight = Http.CLIENT.sendAsync(
          post(URI.create("http://127.0.0.1:" + port + "/slow"), newKey(), "{}").build(),
          BodyHandlers.ofString());
      for (int i = 0; i < 2000 && upstream.hits("/slow") == 0; i++) {
        Thread.sleep(10);
      }
      assertThat(upstream.hits("/slow")).isEqualTo(1);

      jar.sigterm();
      awaitConnectionRefused(port);
      assertThat(jar.process.isAlive()).as("still finishing the request in flight").isTrue();
      release.countDown();

      HttpResponse<String> response = inFlight.get(30, TimeUnit.SECONDS);
      assertThat(response.statusCode()).isEqualTo(201);
      assertThat(response.body()).isEqualTo("{\"slow\":1}");
      assertThat(jar.awaitExit()).isZero();
      assertThat(jar.err).containsExactly(
          "once-proxy: SIGTERM: no new connections; finishing the requests in flight",
          "once-proxy: stopped");
    } finally {
      release.countDown();
    }
  }

  @Test
  void aBadFlagExitsNonZeroWithOneLineOnStandardError() throws Exception {
    Jar jar = new Jar("--ttl", "5x");

    assertThat(jar.awaitExit()).isEqualTo(2);
    assertThat(jar.out).isEmpty();
    assertThat(jar.err).containsExactly("once-proxy: --ttl: \"5x\" is not a duration (use 500ms,"
        + " 30s, 5m, 24h, 1h30m or ISO-8601 like PT30S)");
  }

  @Test
  void aStoreThisBuildLacksExitsNonZeroWithOneLineOnStandardError() throws Exception {
    Jar jar = new Jar("--listen", "127.0.0.1:0", "--store", "nosuchstore://:secret@db:1");

    assertThat(jar.awaitExit()).isEqualTo(2);
    assertThat(jar.out).isEmpty();
    assertThat(jar.err).singleElement().asString()
        .startsWith("once-proxy: --store nosuchstore://***@db:1: the nosuchstore store is not"
            + " available in this build (available: memory, ")
        // the shaded jar kept every store module's service registration
        .contains("redis://", "rediss://", "redis-cluster://", "jdbc:postgresql://");
  }

  @Test
  void anUnreachableSharedStoreExitsNonZeroWithOneLineOnStandardError() throws Exception {
    Jar redis = new Jar("--listen", "127.0.0.1:0", "--store", "redis://:secret@127.0.0.1:1");
    Jar postgres = new Jar("--listen", "127.0.0.1:0", "--store",
        "jdbc:postgresql://127.0.0.1:1/db?user=once&password=secret");

    assertThat(redis.awaitExit()).isEqualTo(1);
    assertThat(redis.out).isEmpty();
    assertThat(redis.err).singleElement().asString()
        .startsWith("once-proxy: ").contains("127.0.0.1:1").doesNotContain("secret");
    assertThat(postgres.awaitExit()).isEqualTo(1);
    assertThat(postgres.out).isEmpty();
    assertThat(postgres.err).singleElement().asString()
        .startsWith("once-proxy: ").contains("127.0.0.1:1").doesNotContain("secret");
  }

  @Test
  void helpListsTheFlagsAndExits0() throws Exception {
    Jar jar = new Jar("--help");

    assertThat(jar.awaitExit()).isZero();
    assertThat(String.join("\n", jar.out)).isEqualTo(ProxyOptions.help().stripTrailing());
    assertThat(jar.err).isEmpty();
  }

  private static void awaitConnectionRefused(int port) throws Exception {
    for (int i = 0; i < 1000; i++) {
      try (Socket socket = new Socket("127.0.0.1", port)) {
        Thread.sleep(10);
      } catch (ConnectException refused) {
        return;
      }
    }
    throw new AssertionError("the proxy still accepted connections 10 s after SIGTERM");
  }
}
