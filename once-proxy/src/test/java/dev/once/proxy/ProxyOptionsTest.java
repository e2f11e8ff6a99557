package dev.once.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import dev.once.MemoryStore;
import dev.once.Once;
import dev.once.UnknownOutcome;
import dev.once.testing.TestRequest;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

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

  /** The engine the options configure, over a store that is never used. */
  private static Once engine(ProxyOptions options) {
    return options.engine(MemoryStore.create()).build();
  }

  @Test
  void withNoFlagsEveryOptionHasItsDocumentedDefault() {
    ProxyOptions options = parse();
    Once engine = engine(options);

    assertThat(options.listenHost).isEqualTo("127.0.0.1");
    assertThat(options.listenPort).isEqualTo(8080);
    assertThat(options.upstream).isNull();
    assertThat(options.store.text()).isEqualTo("memory");
    assertThat(options.upstreamTimeout).isEqualTo(Duration.ofSeconds(30));
    assertThat(options.upstreamDeadline).isEqualTo(Duration.ofMinutes(5));
    assertThat(options.help).isFalse();
    assertThat(engine.ttl()).isEqualTo(Duration.ofHours(24));
    assertThat(engine.lease()).isEqualTo(Duration.ofSeconds(30));
    assertThat(engine.maxWait()).isEqualTo(Duration.ZERO);
    assertThat(engine.requireKey()).isFalse();
    assertThat(engine.header()).isEqualTo("Idempotency-Key");
    assertThat(engine.methods()).containsExactlyInAnyOrder("POST", "PATCH");
    assertThat(engine.cacheableStatuses()).containsExactly(200, 201, 204);
    assertThat(engine.maxBodyBytes()).isEqualTo(1 << 20);
    assertThat(engine.bodyTimeout()).isEqualTo(Duration.ofSeconds(30));
    assertThat(engine.maxResponseBytes()).isEqualTo(1 << 20);
    assertThat(engine.failOpen()).isFalse();
    assertThat(engine.unknownOutcome()).isEqualTo(UnknownOutcome.RETRY);
    assertThat(engine.keyScope().scopeOf(TestRequest.post("k").header("Authorization", "a")))
        .as("keys are global by default").isEmpty();
    assertThat(options.isMemoryStore()).isTrue();
  }

  @Test
  void theDefaultsTheHelpShowsAreTheEnginesOwn() {
    List<String> args = new ArrayList<>();
    for (ProxyOptions.Flag flag : ProxyOptions.Flag.values()) {
      if (flag.defaultValue != null && flag != ProxyOptions.Flag.LISTEN) {
        args.add(flag.flag() + "=" + flag.defaultValue);
      }
    }

    Once shown = engine(parse(args.toArray(new String[0])));
    Once unset = engine(parse());

    assertThat(settings(shown)).isEqualTo(settings(unset));
  }

  /** @return the engine's settings that a flag sets, in the order of its accessors */
  private static List<Object> settings(Once engine) {
    return List.of(engine.header(), engine.ttl(), engine.lease(), engine.maxWait(),
        engine.requireKey(), Set.copyOf(engine.methods()), engine.cacheableStatuses(),
        engine.maxBodyBytes(), engine.bodyTimeout(), engine.maxResponseBytes(), engine.failOpen(),
        engine.unknownOutcome());
  }

  @Test
  void everyFlagIsRead() {
    ProxyOptions options = parse("--listen", "0.0.0.0:0",
        "--upstream", "https://api.internal:8443/v1",
        "--store", "memory", "--ttl", "1h", "--lease", "2m", "--max-wait", "500ms", "--require-key",
        "--header", "X-Request-Id", "--methods", "post, put", "--cacheable", "200,201",
        "--max-body", "512KiB", "--max-response", "2MiB", "--fail-open", "--scope-header",
        "Authorization", "--unknown-outcome", "keep", "--upstream-timeout", "PT10S",
        "--upstream-deadline", "1h", "--body-timeout", "5s", "--memory-max-bytes", "8MiB",
        "--memory-max-records", "1000");
    Once engine = engine(options);

    assertThat(options.listenHost).isEqualTo("0.0.0.0");
    assertThat(options.listenPort).isZero();
    assertThat(options.upstream).isEqualTo(URI.create("https://api.internal:8443/v1"));
    assertThat(options.upstreamTimeout).isEqualTo(Duration.ofSeconds(10));
    assertThat(options.upstreamDeadline).isEqualTo(Duration.ofHours(1));
    assertThat(engine.ttl()).isEqualTo(Duration.ofHours(1));
    assertThat(engine.lease()).isEqualTo(Duration.ofMinutes(2));
    assertThat(engine.maxWait()).isEqualTo(Duration.ofMillis(500));
    assertThat(engine.requireKey()).isTrue();
    assertThat(engine.header()).isEqualTo("X-Request-Id");
    assertThat(engine.methods()).containsExactly("POST", "PUT");
    assertThat(engine.cacheableStatuses()).containsExactly(200, 201);
    assertThat(engine.maxBodyBytes()).isEqualTo(512 * 1024);
    assertThat(engine.bodyTimeout()).isEqualTo(Duration.ofSeconds(5));
    assertThat(engine.maxResponseBytes()).isEqualTo(2 << 20);
    assertThat(engine.failOpen()).isTrue();
    assertThat(engine.unknownOutcome()).isEqualTo(UnknownOutcome.KEEP);
    assertThat(options.isMemoryStore()).isTrue();
    assertThat(engine.keyScope().scopeOf(TestRequest.post("k").header("Authorization", "a")))
        .isNotEqualTo(engine.keyScope().scopeOf(
            TestRequest.post("k").header("Authorization", "b")));
  }

  @Test
  void flagsTakeTheirValueAfterAnEqualsSignToo() {
    ProxyOptions options = parse("--ttl=5m", "--fail-open=false", "--require-key=true",
        "--listen=[::1]:9000");

    assertThat(engine(options).ttl()).isEqualTo(Duration.ofMinutes(5));
    assertThat(engine(options).failOpen()).isFalse();
    assertThat(engine(options).requireKey()).isTrue();
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
    assertThat(engine(options).ttl()).isEqualTo(Duration.ofMinutes(10));
    assertThat(engine(options).maxWait()).isEqualTo(Duration.ofSeconds(3));
    assertThat(engine(options).requireKey()).isTrue();
    assertThat(options.listenPort).as("an empty variable is unset").isEqualTo(8080);
  }

  @Test
  void aBadValueIsNamedByWhereItCameFrom() {
    assertRefused("--ttl: \"5x\" is not a duration (use 500ms, 30s, 5m, 24h, 1h30m or ISO-8601"
        + " like PT30S)", "--ttl", "5x");
    assertRefused(Map.of("ONCE_TTL", "5x"), "ONCE_TTL: \"5x\" is not a duration (use 500ms,"
        + " 30s, 5m, 24h, 1h30m or ISO-8601 like PT30S)");
    assertRefused(Map.of("ONCE_FAIL_OPEN", "maybe"),
        "ONCE_FAIL_OPEN: \"maybe\" is not true or false");
    assertRefused("--max-body: \"1.5MiB\" is not a size (use 512KiB, 1MiB, 1GiB or a number of"
        + " bytes)", "--max-body", "1.5MiB");
    assertRefused("--cacheable: \"2xx\" is not an HTTP status (100 to 599)", "--cacheable", "2xx");
    assertRefused("--methods: needs at least one value, comma-separated (POST,PATCH)",
        "--methods", " , ");
    assertRefused("--scope-header needs a value: --scope-header NAME", "--scope-header=");
    assertRefused("--ttl needs a value: --ttl DURATION", "--ttl= ");
    assertRefused("--store: a store URL must not be empty; use \"memory\"", "--store", " ");
    assertRefused("--store: the store URL ://***@host has no scheme (such as memory,"
        + " redis://host:6379 or jdbc:postgresql://host/database)", "--store", "://pw@host");
    assertRefused("--store: the memory store's bounds are the flags --memory-max-bytes and"
        + " --memory-max-records, not parameters of its URL", "--store", "memory?maximumRecords=1");
    assertRefused("--unknown-outcome: \"never\" is not retry or keep", "--unknown-outcome",
        "never");
    assertRefused("--memory-max-records: \"many\" is not a whole number",
        "--memory-max-records", "many");
    assertRefused(Map.of("ONCE_BODY_TIMEOUT", "soon"), "ONCE_BODY_TIMEOUT: \"soon\" is not a"
        + " duration (use 500ms, 30s, 5m, 24h, 1h30m or ISO-8601 like PT30S)");
  }

  @Test
  void theMemoryStoreIsBuiltWithTheRecordBoundGiven() {
    MemoryStore store = parse("--memory-max-records", "2").memoryStore();
    try {
      store.claim("a", null, Duration.ofMinutes(1));
      store.claim("b", null, Duration.ofMinutes(1));

      assertThatThrownBy(() -> store.claim("c", null, Duration.ofMinutes(1)))
          .isInstanceOf(dev.once.spi.StoreFullException.class);
    } finally {
      store.close();
    }
  }

  /** The memory store's bounds mean nothing to a shared store: given with one, they are refused. */
  @Test
  void theMemoryStoresBoundsAreRefusedWithAnotherStore() {
    assertRefused("--memory-max-bytes: applies only to --store memory, but the store is"
        + " redis://***@cache:6379/0", "--store", "redis://:secret@cache:6379/0",
        "--memory-max-bytes", "1GiB");
    assertRefused(Map.of("ONCE_STORE", "jdbc:postgresql://db/once?password=secret",
        "ONCE_MEMORY_MAX_RECORDS", "10"), "ONCE_MEMORY_MAX_RECORDS: applies only to --store"
        + " memory, but the store is jdbc:postgresql://db/once?password=***");
    assertThat(parse("--store", "memory", "--memory-max-records", "10").isMemoryStore()).isTrue();
  }

  /**
   * Every value is held to what the engine accepts, with the builder's own reason and the flag or
   * variable it came from, before the proxy opens its store.
   */
  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("valuesTheEngineRefuses")
  void aValueTheEngineRefusesIsNamedWithTheBuildersReason(String flagOrVariable, String value,
      String message) {
    if (flagOrVariable.startsWith("--")) {
      assertRefused(message, flagOrVariable, value);
    } else {
      assertRefused(Map.of(flagOrVariable, value), message);
    }
  }

  /** @return a flag or an {@code ONCE_*} variable, a value the engine refuses, the message */
  static Stream<Arguments> valuesTheEngineRefuses() {
    return Stream.of(
        arguments("--ttl", "200000d",
            "--ttl 200000d: ttl must be at most 36500 days (100 years), but was PT4800000H"),
        arguments("ONCE_TTL", "200000d",
            "ONCE_TTL=200000d: ttl must be at most 36500 days (100 years), but was PT4800000H"),
        arguments("--max-wait", "200000000000d",
            "--max-wait 200000000000d: maxWait must be at most 36500 days (100 years), but was"
                + " PT4800000000000H"),
        arguments("--lease", "1ms",
            "--lease 1ms: lease must be at least 3 milliseconds (it is renewed every third),"
                + " but was PT0.001S"),
        arguments("--lease", "0s",
            "--lease 0s: lease must be positive, but was PT0S"),
        arguments("--ttl", "0",
            "--ttl 0: ttl must be positive, but was PT0S"),
        arguments("--ttl", "PT0.0001S",
            "--ttl PT0.0001S: ttl must be at least 1 millisecond, but was PT0.0001S"),
        arguments("--max-body", "2GiB",
            "--max-body 2GiB: maxBodyBytes must be between 0 and 2147483639, but was 2147483648"),
        arguments("--max-response", "4GiB",
            "--max-response 4GiB: maxResponseBytes must be between 0 and 2147483639, but was"
                + " 4294967296"),
        arguments("--cacheable", "200,600",
            "--cacheable 200,600: cacheableStatuses must be HTTP statuses from 100 to 599, but"
                + " held 600"),
        arguments("--methods", "PO ST",
            "--methods PO ST: methods must be HTTP method names, but held \"PO ST\""),
        arguments("--header", "Idempotency Key",
            "--header Idempotency Key: header must be a valid header name, but was"
                + " \"Idempotency Key\""),
        arguments("--scope-header", "Authori zation",
            "--scope-header Authori zation: headerName must be a valid header name, but was"
                + " \"Authori zation\""),
        arguments("--upstream-timeout", "0s",
            "--upstream-timeout 0s: upstream-timeout must be at least 1 millisecond, but was"
                + " PT0S"),
        arguments("--upstream-deadline", "36501d",
            "--upstream-deadline 36501d: upstream-deadline must be at most 36500 days (100"
                + " years), but was PT876024H"),
        arguments("ONCE_UPSTREAM_DEADLINE", "0",
            "ONCE_UPSTREAM_DEADLINE=0: upstream-deadline must be at least 1 millisecond, but"
                + " was PT0S"),
        arguments("--ttl", "99999999999999999999d",
            "--ttl: \"99999999999999999999d\" is too long a duration"),
        arguments("--body-timeout", "0s",
            "--body-timeout 0s: bodyTimeout must be positive, but was PT0S"),
        arguments("--body-timeout", "36501d",
            "--body-timeout 36501d: bodyTimeout must be at most 36500 days (100 years), but was"
                + " PT876024H"),
        arguments("--memory-max-bytes", "0",
            "--memory-max-bytes 0: maximumWeightBytes must be positive, but was 0"),
        arguments("ONCE_MEMORY_MAX_RECORDS", "-5",
            "ONCE_MEMORY_MAX_RECORDS=-5: maximumRecords must be positive, but was -5"),
        // found by ProxyFlagsFuzzTest: past a long of milliseconds, ArithmeticException escaped
        arguments("--upstream-timeout", "200000000000d",
            "--upstream-timeout 200000000000d: upstream-timeout must be at most 36500 days (100"
                + " years), but was PT4800000000000H"),
        arguments("ONCE_UPSTREAM_DEADLINE", "PT4800000000000H",
            "ONCE_UPSTREAM_DEADLINE=PT4800000000000H: upstream-deadline must be at most 36500"
                + " days (100 years), but was PT4800000000000H"));
  }

  @Test
  void valuesAtTheEdgeOfEveryRangeAreAccepted() {
    ProxyOptions options = parse("--ttl", "36500d", "--lease", "3ms", "--max-wait", "36500d",
        "--max-body", "2147483639", "--max-response", "0", "--cacheable", "100,599",
        "--upstream-timeout", "1ms", "--upstream-deadline", "36500d", "--body-timeout", "1ms",
        "--memory-max-bytes", "1", "--memory-max-records", "9223372036854775807");
    Once engine = engine(options);
    assertThat(options.memoryStore()).isNotNull();
    assertThat(engine(parse("--body-timeout", "36500d")).bodyTimeout())
        .isEqualTo(Duration.ofDays(36_500));
    assertThat(engine.bodyTimeout()).isEqualTo(Duration.ofMillis(1));

    assertThat(engine.ttl()).isEqualTo(Duration.ofDays(36_500));
    assertThat(engine.lease()).isEqualTo(Duration.ofMillis(3));
    assertThat(engine.maxWait()).isEqualTo(Duration.ofDays(36_500));
    assertThat(engine.maxBodyBytes()).isEqualTo(Integer.MAX_VALUE - 8);
    assertThat(engine.maxResponseBytes()).isZero();
    assertThat(engine.cacheableStatuses()).containsExactly(100, 599);
  }

  /** The lease is renewed while a request runs, so it needs no relation to the upstream timeout. */
  @Test
  void theLeaseMayBeShorterThanTheUpstreamTimeout() {
    assertThat(engine(parse("--lease", "1s", "--upstream-timeout", "1m")).lease())
        .isEqualTo(Duration.ofSeconds(1));
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
