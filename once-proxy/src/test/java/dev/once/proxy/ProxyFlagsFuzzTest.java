package dev.once.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.once.MemoryStore;
import dev.once.Once;
import dev.once.config.ConfigText;
import dev.once.spi.MalformedStoreUrlException;
import dev.once.spi.StoreUrl;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Function;

/**
 * Fuzzes what the proxy reads from its command line and environment: whole command lines ({@link
 * ProxyOptions#parse}, whose only failure is a {@link UsageException}, and whose every accepted
 * configuration builds an engine), durations and sizes ({@link ConfigText}, the one grammar: an
 * {@link IllegalArgumentException} or a value in range, durations read back from their own form),
 * and store URLs as messages show them ({@link StoreUrl#redact}: never the password).
 *
 * <p>Input: its last byte chooses; the text is at the start (a command line one argument a line).
 * Seeds in {@code ProxyFlagsFuzzTestInputs/flags}; docs/FUZZING.md says how to run it.
 */
class ProxyFlagsFuzzTest {
  private static final ProxyOptions.Flag[] FLAGS = ProxyOptions.Flag.values();

  @FuzzTest
  void flags(FuzzedDataProvider data) {
    switch (data.consumeInt(0, 3)) {
      case 0 -> commandLine(data);
      case 1 -> duration(data.consumeRemainingAsString());
      case 2 -> size(data.consumeRemainingAsString());
      default -> storeUrl(data);
    }
  }

  private static void commandLine(FuzzedDataProvider data) {
    Map<String, String> env = new HashMap<>();
    for (int i = data.consumeInt(0, 3); i > 0; i--) {
      env.put(FLAGS[data.consumeInt(0, FLAGS.length - 1)].env(), data.consumeString(40));
    }
    String line = data.consumeRemainingAsString();
    String[] args = line.isEmpty() ? new String[0] : line.split("\n", -1);
    ProxyOptions options;
    try {
      options = ProxyOptions.parse(args, env);
    } catch (UsageException e) {
      assertThat(e.getMessage()).isNotBlank();
      return;
    }
    if (options.help) {
      return;
    }
    assertThat(options.listenPort).isBetween(0, 65535);
    assertThat(options.listenHost).isNotEmpty();
    if (options.upstream != null) {
      assertThat(options.upstream.getScheme()).matches("(?i)https?");
      assertThat(options.upstream.getHost()).isNotNull();
    }
    assertThat(options.upstreamTimeout).isPositive().isLessThanOrEqualTo(Once.Builder.MAX_DURATION);
    assertThat(options.upstreamDeadline).isPositive()
        .isLessThanOrEqualTo(Once.Builder.MAX_DURATION);
    try (MemoryStore store = MemoryStore.create()) {
      assertThat(options.engine(store).build()).isNotNull();
    }
  }

  /** @return what {@code parse} makes of {@code text}, or null when it refused it with a message */
  private static <T> T parsedOrNull(Function<String, T> parse, String text) {
    try {
      return parse.apply(text);
    } catch (IllegalArgumentException e) {
      assertThat(e.getMessage()).isNotBlank();
      return null;
    }
  }

  private static void duration(String text) {
    Duration duration = parsedOrNull(ConfigText::duration, text);
    if (duration == null) {
      return;
    }
    assertThat(duration.isNegative()).isFalse();
    if (duration.compareTo(Once.Builder.MAX_DURATION) <= 0) {
      Duration millis = Duration.ofMillis(duration.toMillis());
      assertThat(ConfigText.duration(ConfigText.format(duration))).isEqualTo(millis);
    }
  }

  private static void size(String text) {
    Long size = parsedOrNull(ConfigText::size, text);
    if (size != null) {
      assertThat(size).isNotNegative();
    }
  }

  /** Whatever the password holds, the URL as shown does not hold it. */
  private static void storeUrl(FuzzedDataProvider data) {
    String scheme = data.consumeString(20);
    String user = data.consumeString(20);
    String password = data.consumeString(40);
    String rest = data.consumeRemainingAsString();
    String url = scheme + "://" + user + ":" + password + "@" + rest;
    String shown = StoreUrl.redact(url);
    String elsewhere = url.replace(":" + password + "@", ":@");
    // what is meant to be shown: a password that is part of it (of "://***@" and what follows
    // the last '@') is no leak (found by a 10-minute run: the password "://***@")
    String skeleton = url.substring(0, url.indexOf("://") + 3) + "***"
        + url.substring(url.lastIndexOf('@'));
    if (password.length() >= 4 && !elsewhere.contains(password) && !skeleton.contains(password)) {
      assertThat(shown).as("the URL %s as shown", url).doesNotContain(password);
    }
    try {
      StoreUrl parsed = StoreUrl.parse(url);
      assertThat(parsed.scheme()).isNotEmpty();
      assertThat(parsed.redacted()).isEqualTo(shown);
    } catch (MalformedStoreUrlException e) {
      assertThat(e.getMessage()).isNotBlank();
      // the message's own words are no leak either: the hint names jdbc:postgresql://, so a
      // password "resql" is in it (found by CI's short run); they are what the same URL without
      // the password is told
      if (password.length() >= 4 && !elsewhere.contains(password)
          && !skeleton.contains(password) && !refusalOf(elsewhere).contains(password)) {
        assertThat(e.getMessage()).doesNotContain(password);
      }
    }
  }

  /** What parsing {@code url} is told, or nothing when it parses. */
  private static String refusalOf(String url) {
    try {
      StoreUrl.parse(url);
      return "";
    } catch (MalformedStoreUrlException e) {
      return e.getMessage();
    }
  }
}
