package dev.once.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ProxyOptionsTest {

  private static ProxyOptions parse(String... args) {
    return ProxyOptions.parse(args, Map.of());
  }

  private static void assertRefused(Map<String, String> env, String message, String... args) {
    assertThatThrownBy(() -> ProxyOptions.parse(args, env))
        .isInstanceOf(UsageException.class)
        .hasMessage(message);
  }

  private static void assertRefused(String message, String... args) {
    assertRefused(Map.of(), message, args);
  }

  @Test
  void withNoFlagsEveryOptionHasItsDocumentedDefault() {
    ProxyOptions options = parse();

    assertThat(options.listenHost).isEqualTo("127.0.0.1");
    assertThat(options.listenPort).isEqualTo(8080);
    assertThat(options.upstream).isNull();
    assertThat(options.store).isEqualTo("memory");
    assertThat(options.ttl).isEqualTo(Duration.ofHours(24));
    assertThat(options.lease).isEqualTo(Duration.ofSeconds(60));
    assertThat(options.maxWait).isEqualTo(Duration.ZERO);
    assertThat(options.requireKey).isFalse();
    assertThat(options.header).isEqualTo("Idempotency-Key");
    assertThat(options.methods).containsExactly("POST", "PATCH");
    assertThat(options.cacheable).containsExactly(200, 201, 204);
    assertThat(options.maxBody).isEqualTo(1 << 20);
    assertThat(options.maxResponse).isEqualTo(1 << 20);
    assertThat(options.failOpen).isFalse();
    assertThat(options.scopeHeader).isNull();
    assertThat(options.upstreamTimeout).isEqualTo(Duration.ofSeconds(30));
    assertThat(options.help).isFalse();
  }

  @Test
  void everyFlagIsRead() {
    ProxyOptions options = parse("--listen", "0.0.0.0:0", "--upstream", "https://api.internal:8443/v1",
        "--store", "memory", "--ttl", "1h", "--lease", "2m", "--max-wait", "500ms", "--require-key",
        "--header", "X-Request-Id", "--methods", "post, put", "--cacheable", "200,201",
        "--max-body", "512KiB", "--max-response", "2MiB", "--fail-open", "--scope-header",
        "Authorization", "--upstream-timeout", "PT10S");

    assertThat(options.listenHost).isEqualTo("0.0.0.0");
    assertThat(options.listenPort).isZero();
    assertThat(options.upstream).isEqualTo(URI.create("https://api.internal:8443/v1"));
    assertThat(options.ttl).isEqualTo(Duration.ofHours(1));
    assertThat(options.lease).isEqualTo(Duration.ofMinutes(2));
    assertThat(options.maxWait).isEqualTo(Duration.ofMillis(500));
    assertThat(options.requireKey).isTrue();
    assertThat(options.header).isEqualTo("X-Request-Id");
    assertThat(options.methods).containsExactly("POST", "PUT");
    assertThat(options.cacheable).containsExactly(200, 201);
    assertThat(options.maxBody).isEqualTo(512 * 1024);
    assertThat(options.maxResponse).isEqualTo(2 << 20);
    assertThat(options.failOpen).isTrue();
    assertThat(options.scopeHeader).isEqualTo("Authorization");
    assertThat(options.upstreamTimeout).isEqualTo(Duration.ofSeconds(10));
  }

  @Test
  void flagsTakeTheirValueAfterAnEqualsSignToo() {
    ProxyOptions options = parse("--ttl=5m", "--fail-open=false", "--require-key=true",
        "--listen=[::1]:9000");

    assertThat(options.ttl).isEqualTo(Duration.ofMinutes(5));
    assertThat(options.failOpen).isFalse();
    assertThat(options.requireKey).isTrue();
    assertThat(options.listenHost).isEqualTo("::1");
    assertThat(options.listenPort).isEqualTo(9000);
  }

  @Test
  void theEnvironmentSetsWhatNoFlagDoesAndAFlagWins() {
    Map<String, String> env = Map.of(
        "ONCE_UPSTREAM", "http://upstream:9000",
        "ONCE_TTL", "2h",
        "ONCE_MAX_WAIT", "3s",
        "ONCE_REQUIRE_KEY", "true",
        "ONCE_SCOPE_HEADER", "Authorization",
        "ONCE_LISTEN", "",
        "ONCE_TEST_REDIS_URL", "redis://not-ours:6379",
        "PATH", "/usr/bin");

    ProxyOptions options = ProxyOptions.parse(new String[] {"--ttl", "10m"}, env);

    assertThat(options.upstream).isEqualTo(URI.create("http://upstream:9000"));
    assertThat(options.ttl).isEqualTo(Duration.ofMinutes(10));
    assertThat(options.maxWait).isEqualTo(Duration.ofSeconds(3));
    assertThat(options.requireKey).isTrue();
    assertThat(options.scopeHeader).isEqualTo("Authorization");
    assertThat(options.listenPort).as("an empty variable is unset").isEqualTo(8080);
  }

  @Test
  void aBadValueIsNamedByWhereItCameFrom() {
    assertRefused("--ttl: \"5x\" is not a duration (use 500ms, 30s, 5m, 24h, 1h30m or ISO-8601"
        + " like PT30S)", "--ttl", "5x");
    assertRefused(Map.of("ONCE_TTL", "5x"), "ONCE_TTL: \"5x\" is not a duration (use 500ms,"
        + " 30s, 5m, 24h, 1h30m or ISO-8601 like PT30S)");
    assertRefused(Map.of("ONCE_FAIL_OPEN", "maybe"), "ONCE_FAIL_OPEN: \"maybe\" is not true or false");
    assertRefused("--max-body: \"1.5MiB\" is not a size (use 512KiB, 1MiB, 1GiB or a number of"
        + " bytes)", "--max-body", "1.5MiB");
    assertRefused("--max-response: must be at most 2147483639 bytes, but was \"4GiB\"",
        "--max-response", "4GiB");
    assertRefused("--ttl: must be at least 1ms, but was \"0s\"", "--ttl", "0s");
    assertRefused("--cacheable: \"2xx\" is not an HTTP status (100 to 599)", "--cacheable", "2xx");
    assertRefused("--cacheable: \"600\" is not an HTTP status (100 to 599)", "--cacheable", "600");
    assertRefused("--methods: needs at least one value, comma-separated (POST,PATCH)",
        "--methods", " , ");
    assertRefused("--methods: \"PO ST\" is not an HTTP method", "--methods", "PO ST");
    assertRefused("--header: \"Idempotency Key\" is not a header name", "--header",
        "Idempotency Key");
    assertRefused("--scope-header: \"\" is not a header name", "--scope-header=");
  }

  @Test
  void aBadListenAddressOrUpstreamIsRefused() {
    String listen = " is not HOST:PORT (such as 127.0.0.1:8080, 0.0.0.0:0 or [::1]:8080; port 0"
        + " picks a free port)";
    for (String bad : List.of("8080", ":8080", "localhost", "host:99999", "host:x", "::1:8080")) {
      assertRefused("--listen: \"" + bad + "\"" + listen, "--listen", bad);
    }
    assertRefused("--upstream: \"ftp://files\" must be an http:// or https:// URL", "--upstream",
        "ftp://files");
    assertRefused("--upstream: \"localhost:9000\" must be an http:// or https:// URL",
        "--upstream", "localhost:9000");
    assertRefused("--upstream: \"http:///path\" has no host", "--upstream", "http:///path");
    assertRefused("--upstream: \"http://u:p@api/x?y=1\" must have no query, fragment or user info",
        "--upstream", "http://u:p@api/x?y=1");
    assertThatThrownBy(() -> parse("--upstream", "http://api/a b"))
        .hasMessageStartingWith("--upstream: \"http://api/a b\" is not a URL: ");
  }

  @Test
  void unknownRepeatedValuelessOrStrayArgumentsAreRefused() {
    assertRefused("unknown flag --port (see --help)", "--port", "8080");
    assertRefused("--ttl was given more than once", "--ttl", "1h", "--ttl=2h");
    assertRefused("--upstream needs a value: --upstream URL", "--upstream");
    assertRefused("unexpected argument \"http://upstream\" (flags start with --; see --help)",
        "http://upstream");
    assertRefused("unexpected argument \"-v\" (flags start with --; see --help)", "-v");
  }

  @Test
  void theLeaseMustOutlastTheUpstreamTimeout() {
    assertRefused("--lease 30s must be longer than --upstream-timeout 30s, or a retry could run"
        + " while the first request is still at the upstream", "--lease", "30s");
    assertRefused(Map.of("ONCE_UPSTREAM_TIMEOUT", "2m"), "--lease 1m must be longer than"
        + " ONCE_UPSTREAM_TIMEOUT 2m, or a retry could run while the first request is still at"
        + " the upstream");
    assertThat(parse("--lease", "31s").lease).isEqualTo(Duration.ofSeconds(31));
  }

  @Test
  void helpWinsOverAnythingElseOnTheLine() {
    assertThat(parse("--ttl", "5x", "--help").help).isTrue();
    assertThat(parse("-h").help).isTrue();
  }

  @Test
  void theHelpListsEveryFlagWithItsEnvironmentRuleAndDefaults() {
    String help = ProxyOptions.help();

    for (ProxyOptions.Flag flag : ProxyOptions.Flag.values()) {
      assertThat(help).contains(flag.flag());
      if (flag.defaultValue != null && !flag.isSwitch()) {
        assertThat(help.replaceAll("\\s+", " ")).contains("(default " + flag.defaultValue + ")");
      }
    }
    assertThat(help).contains("ONCE_UPSTREAM");
    assertThat(help.lines()).allSatisfy(line -> assertThat(line.length()).isLessThanOrEqualTo(100));
  }
}
