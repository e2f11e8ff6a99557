package dev.once.examples.kit;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An example's main class run as its README runs it: in a process of its own, with {@code PORT}
 * in its environment, ready once it printed {@code ... listening on http://HOST:PORT}.
 */
public final class ExampleProcess implements AutoCloseable {
  private static final Pattern READY = Pattern.compile("listening on (http://\\S+)$");

  private final Process process;
  private final List<String> stdout = new CopyOnWriteArrayList<>();
  private final List<String> stderr = new CopyOnWriteArrayList<>();
  private final CompletableFuture<URI> ready = new CompletableFuture<>();

  private ExampleProcess(Class<?> main, String port, Map<String, String> environment)
      throws IOException {
    ProcessBuilder builder = new ProcessBuilder(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), main.getName());
    builder.environment().putAll(environment);
    builder.environment().put("PORT", port);
    process = builder.start();
    drain(process.getInputStream(), stdout, true);
    drain(process.getErrorStream(), stderr, false);
    process.onExit().thenRun(() -> ready.completeExceptionally(new IllegalStateException(
        main.getSimpleName() + " exited with " + process.exitValue() + " before it was ready:\n"
            + output())));
  }

  /** Starts {@code main} with {@code PORT=0} and waits for its ready line. */
  public static ExampleProcess start(Class<?> main) throws Exception {
    return start(main, Map.of());
  }

  /** Starts {@code main} with {@code PORT=0} and {@code environment}; waits for its ready line. */
  public static ExampleProcess start(Class<?> main, Map<String, String> environment)
      throws Exception {
    ExampleProcess example = new ExampleProcess(main, "0", environment);
    try {
      example.ready.get(90, TimeUnit.SECONDS);
      return example;
    } catch (TimeoutException e) {
      example.close();
      throw new IllegalStateException("no ready line within 90 s:\n" + example.output(), e);
    }
  }

  /** The address of its ready line. */
  public URI uri() {
    return ready.join();
  }

  public List<String> stdout() {
    return stdout;
  }

  public List<String> stderr() {
    return stderr;
  }

  public String output() {
    return "stdout:\n" + String.join("\n", stdout) + "\nstderr:\n" + String.join("\n", stderr);
  }

  private void drain(InputStream stream, List<String> lines, boolean watchForReady) {
    Thread reader = new Thread(() -> {
      try (BufferedReader in =
          new BufferedReader(new InputStreamReader(stream, StandardCharsets.UTF_8))) {
        for (String line; (line = in.readLine()) != null; ) {
          lines.add(line);
          Matcher matcher = READY.matcher(line);
          if (watchForReady && matcher.find()) {
            ready.complete(URI.create(matcher.group(1)));
          }
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }, "example output");
    reader.setDaemon(true);
    reader.start();
  }

  /**
   * Waits for the process to end by itself (the example halted, as asked).
   *
   * @return its exit code
   */
  public int awaitExit() throws InterruptedException {
    if (!process.waitFor(60, TimeUnit.SECONDS)) {
      throw new IllegalStateException("still running after 60 s:\n" + output());
    }
    return process.exitValue();
  }

  /** Stops it as Ctrl-C would (SIGTERM), or kills it after 20 s. */
  @Override
  public void close() {
    process.destroy();
    try {
      if (!process.waitFor(20, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(20, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }
}
