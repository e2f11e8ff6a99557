package dev.once.redis;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.once.spi.MalformedStoreUrlException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;

/**
 * Fuzzes the parsing of Redis store URLs ({@link RedisUrl#parse}, on {@link
 * dev.once.spi.StoreUrl}, which {@code Stores.open} and {@code RedisStore.open} call before they
 * connect): any text is a URL or a {@link MalformedStoreUrlException}, and the message of that
 * never holds the password.
 *
 * <p>Input: its last byte chooses. Odd: the rest is the URL. Even: a URL is put together from
 * parts (scheme, user, password, hosts, path and the query, which takes the rest), so the fuzzer
 * can vary each part and the target knows the password. Seeds in {@code
 * RedisUrlFuzzTestInputs/storeUrls}; docs/FUZZING.md says how to run it.
 */
class RedisUrlFuzzTest {
  private static final String[] SCHEMES = {
      "redis", "rediss", "redis-cluster", "rediss-cluster", "REDIS", "memory", "none",
      "redis-sentinel", "rediss-sentinel"};

  @FuzzTest
  void storeUrls(FuzzedDataProvider data) {
    if (data.consumeBoolean()) {
      parse(data.consumeRemainingAsString(), null);
      return;
    }
    String scheme = SCHEMES[data.consumeInt(0, SCHEMES.length - 1)];
    String user = data.consumeString(20);
    String password = data.consumeString(40);
    String hosts = data.consumeString(80);
    String path = data.consumeString(10);
    String query = data.consumeRemainingAsString();
    String url = scheme + "://" + user + ":" + password + "@" + hosts + path
        + (query.isEmpty() ? "" : "?" + query);
    parse(url, password);
  }

  private static void parse(String url, String password) {
    try {
      RedisUrl parsed = RedisUrl.parse(url);
      assertThat(parsed.nodes).isNotEmpty();
      assertThat(parsed.nodes).allSatisfy(node -> {
        if (node.getSentinels().isEmpty()) {
          assertThat(node.getHost()).isNotEmpty();
        } else {
          assertThat(node.getSentinelMasterId()).isNotBlank();
          assertThat(node.getSentinels()).allSatisfy(s -> assertThat(s.getHost()).isNotEmpty());
        }
      });
    } catch (MalformedStoreUrlException e) {
      assertThat(e.getMessage()).isNotBlank();
      if (password != null) {
        assertNotIn(e.getMessage(), url, password);
      }
    }
  }

  /**
   * Fails if {@code message} shows the password as written or as decoded: unless it is too short
   * to tell, shows elsewhere in the URL too (a password {@code redis} in {@code redis://}), or in
   * the message for the same URL with other letters and digits in the password (where it is the
   * message's own text).
   */
  private static void assertNotIn(String message, String url, String password) {
    // the same punctuation, so the same parse, but other letters and digits
    String other = password.replaceAll("[\\p{L}\\p{N}]", "x");
    String elsewhere = url.replace(":" + password + "@", ":" + other + "@");
    String otherMessage;
    try {
      RedisUrl.parse(elsewhere);
      otherMessage = "";
    } catch (MalformedStoreUrlException e) {
      otherMessage = e.getMessage();
    }
    for (String secret : new String[] {password, decoded(password)}) {
      if (secret.length() >= 4 && !elsewhere.contains(secret) && !otherMessage.contains(secret)) {
        assertThat(message).as("the message of the URL %s", url).doesNotContain(secret);
      }
    }
  }

  private static String decoded(String text) {
    try {
      return URLDecoder.decode(text, StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      return text;
    }
  }
}
