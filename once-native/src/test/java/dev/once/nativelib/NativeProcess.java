package dev.once.nativelib;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs the C programs of once-native (built into {@code target/c} by {@code make tests}) in
 * processes of their own, each with a clean environment: the {@code ONCE_*} variables of the
 * caller removed, {@code JAVA_HOME} set to the JDK the build runs on, and a small JVM heap.
 * The harness for every test that crosses into C, the Redis sharing test included: it gives the
 * embedded JVM this test's class path ({@link #testClassPath()}) to find store modules.
 */
final class NativeProcess {
  static final Path TARGET = Path.of(System.getProperty("once.native.target", "target"));
  static final String JAVA_HOME =
      System.getProperty("once.native.javaHome", System.getProperty("java.home"));
  /** Keeps the many JVMs the tests start small; a test may set its own. */
  static final String JVM_OPTIONS = "-Xmx128m -XX:+UseSerialGC";

  private static final long TIMEOUT_SECONDS = 180;

  private NativeProcess() {}

  /** @return a program of target/c */
  static Path program(String name) {
    return TARGET.resolve("c").resolve(name);
  }

  /** @return the class path of this test JVM: the bridge, once-core, the test store providers */
  static String testClassPath() {
    return System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
  }

  /**
   * Runs a command to its end.
   *
   * @param environment variables to set (a null value removes one), as name, value pairs
   * @param command the program and its arguments
   * @return what it did
   */
  static Result run(Map<String, String> environment, List<String> command) throws Exception {
    Path out = Files.createTempFile("once-native-", ".out");
    Path err = Files.createTempFile("once-native-", ".err");
    try {
      ProcessBuilder builder = builder(environment, command)
          .redirectOutput(out.toFile())
          .redirectError(err.toFile())
          .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
      Process process = builder.start();
      if (!process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor();
        throw new AssertionError(command + " did not finish within " + TIMEOUT_SECONDS
            + " seconds; its output: " + Files.readString(out) + Files.readString(err));
      }
      return new Result(command, process.exitValue(), Files.readString(out), Files.readString(err));
    } finally {
      Files.deleteIfExists(out);
      Files.deleteIfExists(err);
    }
  }

  /**
   * Starts a command whose standard input and output the test talks to, a line at a time.
   *
   * @param environment as for {@link #run}
   * @param command the program and its arguments
   * @return the running program
   */
  static Interactive start(Map<String, String> environment, List<String> command)
      throws IOException {
    Process process = builder(environment, command)
        .redirectError(ProcessBuilder.Redirect.INHERIT)
        .start();
    return new Interactive(process);
  }

  private static ProcessBuilder builder(Map<String, String> environment, List<String> command) {
    ProcessBuilder builder = new ProcessBuilder(command);
    Map<String, String> env = builder.environment();
    env.keySet().removeIf(name -> name.startsWith("ONCE_"));
    env.put("JAVA_HOME", JAVA_HOME);
    env.put("ONCE_JVM_OPTIONS", JVM_OPTIONS);
    environment.forEach((name, value) -> {
      if (value == null) {
        env.remove(name);
      } else {
        env.put(name, value);
      }
    });
    return builder;
  }

  /**
   * A finished process.
   *
   * @param command what ran
   * @param exitCode its exit status
   * @param stdout its standard output
   * @param stderr its standard error
   */
  record Result(List<String> command, int exitCode, String stdout, String stderr) {
    /** @return everything, for assertion messages */
    String describe() {
      return String.join(" ", command) + " exited " + exitCode + "\n--- stdout\n" + stdout
          + "--- stderr\n" + stderr;
    }
  }

  /** A running program spoken to a line at a time. */
  static final class Interactive implements AutoCloseable {
    private final Process process;
    private final Writer in;
    private final BufferedReader out;

    private Interactive(Process process) {
      this.process = process;
      this.in = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
      this.out = new BufferedReader(
          new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
    }

    /** @return the next line the program writes */
    String readLine() throws IOException {
      String line = out.readLine();
      if (line == null) {
        throw new AssertionError("the program ended; exit status "
            + (process.isAlive() ? "unknown" : process.exitValue()));
      }
      return line;
    }

    /** Sends one line and returns the program's one-line answer. */
    String send(String line) throws IOException {
      in.write(line + "\n");
      in.flush();
      return readLine();
    }

    /** Closes the program's input, and waits for it to end. */
    @Override
    public void close() throws Exception {
      in.close();
      if (!process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor();
      }
    }
  }
}
