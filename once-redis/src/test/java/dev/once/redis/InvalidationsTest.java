package dev.once.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.once.StoredResponse;
import dev.once.spi.Claim;
import dev.once.spi.Ticker;
import io.lettuce.core.api.push.PushMessage;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

/**
 * The near cache's bookkeeping against the orders in which a read's answer and an invalidation can
 * arrive, without a server: pushes are handed to it as Lettuce would.
 */
class InvalidationsTest {
  private static final Claim DONE =
      Claim.completed(null, StoredResponse.of(200, List.of(), new byte[10]));

  private final NearCache cache = new NearCache(1 << 20, Duration.ofHours(1), Ticker.system());
  private final Invalidations tracked =
      Invalidations.detached(cache, utf8("t:"), true, false);

  @Test
  void anAnswerKeptBeforeItsKeysInvalidationIsForgottenByIt() {
    long ticket = tracked.ticket("k");
    tracked.keep("k", ticket, DONE, 60_000);
    assertThat(cache.get("k")).isSameAs(DONE);

    tracked.onPushMessage(invalidate("t:k"));

    assertThat(cache.get("k")).isNull();
  }

  @Test
  void anAnswerArrivingAfterItsKeysInvalidationIsNotKept() {
    long ticket = tracked.ticket("k");
    tracked.onPushMessage(invalidate("t:k"));

    tracked.keep("k", ticket, DONE, 60_000);

    assertThat(cache.get("k")).isNull();
  }

  @Test
  void anInvalidationOfAnotherKeyLeavesAnAnswerKept() {
    long ticket = tracked.ticket("k");
    tracked.onPushMessage(invalidate("t:other", "elsewhere:k"));

    tracked.keep("k", ticket, DONE, 60_000);

    assertThat(cache.get("k")).isSameAs(DONE);
  }

  @Test
  void keysOutsideThePrefixAreIgnoredAndUtf8KeysAreMatched() {
    tracked.keep("k", tracked.ticket("k"), DONE, 60_000);
    tracked.keep("ключ", tracked.ticket("ключ"), DONE, 60_000);

    tracked.onPushMessage(invalidate("k", "x:k", "t"));
    assertThat(cache.get("k")).isSameAs(DONE);

    tracked.onPushMessage(invalidate("t:ключ"));
    assertThat(cache.get("ключ")).isNull();
    assertThat(cache.get("k")).isSameAs(DONE);
  }

  @Test
  void aFlushForgetsEverythingAndEveryReadInFlight() {
    tracked.keep("a", tracked.ticket("a"), DONE, 60_000);
    long inFlight = tracked.ticket("b");

    tracked.onPushMessage(new Push("invalidate", Arrays.asList(utf8Buffer("invalidate"), null)));
    tracked.keep("b", inFlight, DONE, 60_000);

    assertThat(cache.get("a")).isNull();
    assertThat(cache.get("b")).isNull();
  }

  @Test
  void aLostConnectionForgetsEverythingAndKeepsNothingUntilTrackingIsOnAgain() {
    tracked.keep("a", tracked.ticket("a"), DONE, 60_000);
    long inFlight = tracked.ticket("b");

    tracked.connectionLost();
    tracked.keep("b", inFlight, DONE, 60_000);
    tracked.keep("c", tracked.ticket("c"), DONE, 60_000);

    assertThat(cache.get("a")).isNull();
    assertThat(cache.get("b")).isNull();
    assertThat(cache.get("c")).isNull();
  }

  @Test
  void otherPushMessagesChangeNothing() {
    tracked.keep("k", tracked.ticket("k"), DONE, 60_000);

    tracked.onPushMessage(new Push("message", List.of(utf8Buffer("message"), utf8Buffer("t:k"))));

    assertThat(cache.get("k")).isSameAs(DONE);
  }

  @Test
  void whereTrackingIsRefusedADefaultCacheKeepsNothingAndAConfiguredOneKeepsUnchecked() {
    Invalidations byDefault = Invalidations.detached(cache, utf8("t:"), false, false);
    byDefault.keep("a", byDefault.ticket("a"), DONE, 60_000);
    assertThat(cache.get("a")).isNull();

    Invalidations configured = Invalidations.detached(cache, utf8("t:"), false, true);
    long ticket = configured.ticket("a");
    configured.onPushMessage(invalidate("t:a"));
    configured.keep("a", ticket, DONE, 60_000);
    assertThat(cache.get("a")).isSameAs(DONE);
  }

  @Test
  void aClosedTrackerKeepsNothing() {
    tracked.close();

    tracked.keep("k", tracked.ticket("k"), DONE, 60_000);

    assertThat(cache.get("k")).isNull();
  }

  private static PushMessage invalidate(String... keys) {
    List<Object> list = Arrays.stream(keys).map(InvalidationsTest::utf8Buffer)
        .map(Object.class::cast).toList();
    return new Push("invalidate", List.of(utf8Buffer("invalidate"), list));
  }

  private static byte[] utf8(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }

  private static ByteBuffer utf8Buffer(String text) {
    return ByteBuffer.wrap(utf8(text));
  }

  /** A push message as Lettuce hands it over: its type, then its content's elements. */
  private record Push(String type, List<@Nullable Object> content) implements PushMessage {
    @Override
    public String getType() {
      return type;
    }

    @Override
    public List<Object> getContent() {
      return content;
    }

    @Override
    public List<Object> getContent(Function<ByteBuffer, Object> decodeFunction) {
      return content;
    }
  }
}
