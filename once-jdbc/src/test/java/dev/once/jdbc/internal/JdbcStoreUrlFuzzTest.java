package dev.once.jdbc.internal;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.once.spi.MalformedStoreUrlException;
import dev.once.spi.StoreUrl;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Fuzzes the parsing of {@code jdbc:postgresql:} store URLs ({@link JdbcStoreProvider}'s, on
 * {@link StoreUrl}, which takes once's own options out before the URL reaches the driver; the
 * target never connects): any text is a URL with options in their ranges or a {@link
 * MalformedStoreUrlException}, and the message of that never holds the password.
 *
 * <p>Input: its last byte chooses. Odd: the rest follows {@code jdbc:postgresql:}. Even: a URL is
 * put together from a host and database, then parameters one a line, among which a {@code
 * password} parameter goes where the input says, so the target knows the password. Seeds in
 * {@code JdbcStoreUrlFuzzTestInputs/storeUrls}; docs/FUZZING.md says how to run it.
 */
class JdbcStoreUrlFuzzTest {
  private static final String PREFIX = "jdbc:postgresql:";

  @FuzzTest
  void storeUrls(FuzzedDataProvider data) {
    if (data.consumeBoolean()) {
      parse(PREFIX + data.consumeRemainingAsString(), null);
      return;
    }
    int passwordAt = data.consumeInt(0, 8);
    String password = data.consumeString(40).replace("&", "");
    // the driver's parameters start at the first '?': a later one is part of a value
    String base = data.consumeString(60).replace("?", "");
    List<String> parameters = new ArrayList<>(List.of(data.consumeRemainingAsString().split("\n")));
    parameters.add(Math.min(passwordAt, parameters.size()), "password=" + password);
    parse(PREFIX + "//" + base + "?" + String.join("&", parameters), password);
  }

  /**
   * Fails if {@code message} shows the password: unless it is too short to tell, or shows in the
   * message for the same URL with other letters and digits in the password (where it is the
   * message's own text, or another part of the URL).
   */
  private static void assertNotIn(String message, String url, String password) {
    String other = url.replace("password=" + password,
        "password=" + password.replaceAll("[\\p{L}\\p{N}]", "x"));
    String otherMessage;
    try {
      JdbcStoreProvider.JdbcUrl.parse(StoreUrl.parse(other));
      otherMessage = "";
    } catch (MalformedStoreUrlException e) {
      otherMessage = e.getMessage();
    }
    if (password.length() >= 4 && !other.contains(password) && !otherMessage.contains(password)) {
      assertThat(message).as("the message of the URL %s", url).doesNotContain(password);
    }
  }

  private static void parse(String url, String password) {
    JdbcStoreProvider.JdbcUrl parsed;
    try {
      parsed = JdbcStoreProvider.JdbcUrl.parse(StoreUrl.parse(url));
    } catch (MalformedStoreUrlException e) {
      assertThat(e.getMessage()).isNotBlank();
      if (password != null) {
        assertNotIn(e.getMessage(), url, password);
      }
      return;
    }
    assertThat(parsed.jdbcUrl).startsWith(PREFIX);
    int question = parsed.jdbcUrl.indexOf('?');
    if (question >= 0) {
      assertThat(parsed.jdbcUrl.substring(question + 1).split("&"))
          .noneMatch(parameter -> parameter.startsWith("once."));
    }
    assertThat(parsed.poolSize).isBetween(1, 1000);
    assertThat(parsed.asyncThreads()).isBetween(1, parsed.poolSize);
    assertThat(parsed.asyncQueueCapacity).isBetween(1, 1_000_000);
    assertThat(parsed.queryTimeout).isBetween(Duration.ofSeconds(1), Duration.ofHours(1));
    assertThat(parsed.poolConfig().getJdbcUrl()).isEqualTo(parsed.jdbcUrl);
    assertThat(StoreUrl.redact(parsed.jdbcUrl)).doesNotContainPattern("(?i)password=[^&*]");
    assertThat(parsed.url.redacted()).doesNotContainPattern("(?i)password=[^&*]");
  }
}
