package dev.once.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The main class's answers when it cannot start: one line on standard error, nothing on standard
 * output, a non-zero status. (Its start, stop and SIGTERM are tested on the jar, in ProxyJarIT.)
 */
class OnceProxyRunTest {
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  private int run(Map<String, String> env, String... args) {
    return OnceProxy.run(args, env, new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8), false);
  }

  private int run(String... args) {
    return run(Map.of(), args);
  }

  private String err() {
    return err.toString(StandardCharsets.UTF_8);
  }

  private void assertOneLineOnStderr(String line) {
    assertThat(err()).isEqualTo(line + System.lineSeparator());
    assertThat(out.toString(StandardCharsets.UTF_8)).isEmpty();
  }

  @Test
  void helpGoesToStandardOutputAndExitsZero() {
    assertThat(run("--help")).isZero();
    assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo(ProxyOptions.help());
    assertThat(err()).isEmpty();
  }

  @Test
  void aBadFlagExitsWithStatus2AndOneLine() {
    assertThat(run("--ttl", "5x")).isEqualTo(2);
    assertOneLineOnStderr("once-proxy: --ttl: \"5x\" is not a duration (use 500ms, 30s, 5m, 24h,"
        + " 1h30m or ISO-8601 like PT30S)");
  }

  @Test
  void aBadEnvironmentVariableIsNamed() {
    assertThat(run(Map.of("ONCE_MAX_BODY", "lots"))).isEqualTo(2);
    assertOneLineOnStderr("once-proxy: ONCE_MAX_BODY: \"lots\" is not a size (use 512KiB, 1MiB,"
        + " 1GiB or a number of bytes)");
  }

  @Test
  void aStoreSchemeThisBuildLacksExitsWithStatus2AndSaysSo() {
    assertThat(run("--listen", "127.0.0.1:0", "--store", "nosuchstore://:pw@host:1/0"))
        .isEqualTo(2);
    assertThat(err()).startsWith("once-proxy: --store nosuchstore://***@host:1/0: the nosuchstore"
        + " store is not available in this build (available: ")
        .contains("unreachable", "redis", "rediss", "redis-cluster", "jdbc:postgresql")
        .endsWith(")" + System.lineSeparator())
        .hasLineCount(1);
    assertThat(out.toString(StandardCharsets.UTF_8)).isEmpty();
  }

  @Test
  void aMalformedUrlOfAStoreInThisBuildIsReportedAsSuch() {
    assertThat(run("--listen", "127.0.0.1:0", "--store", "unreachable://user@host")).isEqualTo(2);
    assertOneLineOnStderr("once-proxy: --store: user info is not accepted in store URL"
        + " unreachable://***@host");
  }

  @Test
  void anUnreachableStoreExitsWithStatus1AndOneLine() {
    assertThat(run("--listen", "127.0.0.1:0", "--store", "unreachable://db:1")).isEqualTo(1);
    assertOneLineOnStderr("once-proxy: cannot open the store unreachable://db:1: connection"
        + " refused: unreachable://db:1");
  }

  @Test
  void anAddressInUseExitsWithStatus1AndOneLine() throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      String listen = "127.0.0.1:" + taken.getLocalPort();

      assertThat(run("--listen", listen, "--upstream", "http://127.0.0.1:9")).isEqualTo(1);
      assertThat(err()).startsWith("once-proxy: cannot listen on " + listen + ": ")
          .containsIgnoringCase("address already in use").hasLineCount(1);
    }
  }
}
