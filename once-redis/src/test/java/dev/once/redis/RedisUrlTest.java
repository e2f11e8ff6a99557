package dev.once.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.once.spi.IdempotencyStore;
import dev.once.spi.StoreException;
import io.lettuce.core.RedisCredentials;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SslVerifyMode;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class RedisUrlTest {
  private static RedisCredentials credentials(RedisURI uri) {
    return uri.getCredentialsProvider().resolveCredentials().block();
  }

  @Test
  void standaloneUrlKeepsHostPortDatabaseAndPassword() {
    RedisUrl url = RedisUrl.parse("redis://:s3cret@cache.internal:6380/3");

    assertThat(url.cluster).isFalse();
    RedisURI node = url.nodes.get(0);
    assertThat(node.getHost()).isEqualTo("cache.internal");
    assertThat(node.getPort()).isEqualTo(6380);
    assertThat(node.getDatabase()).isEqualTo(3);
    assertThat(new String(credentials(node).getPassword())).isEqualTo("s3cret");
    assertThat(node.isSsl()).isFalse();
    assertThat(url.keyPrefix).isNull();
    assertThat(url.commandTimeout).isNull();
    assertThat(url.nearCacheBytes).isZero();
  }

  @Test
  void redissIsTlsAndVerifiesThePeerUnlessTold() {
    assertThat(RedisUrl.parse("rediss://cache:6380").nodes.get(0).isSsl()).isTrue();
    assertThat(RedisUrl.parse("rediss://cache:6380").nodes.get(0).getVerifyMode())
        .isEqualTo(SslVerifyMode.FULL);
    assertThat(RedisUrl.parse("rediss://cache:6380?verifyPeer=CA").nodes.get(0).getVerifyMode())
        .isEqualTo(SslVerifyMode.CA);
  }

  @Test
  void clusterUrlListsEverySeedWithTheSameCredentialsAndTls() {
    RedisUrl url = RedisUrl.parse("rediss-cluster://user:pw@a:7000,b:7001, c:7002?clientName=svc");

    assertThat(url.cluster).isTrue();
    assertThat(url.nodes).extracting(RedisURI::getHost).containsExactly("a", "b", "c");
    assertThat(url.nodes).extracting(RedisURI::getPort).containsExactly(7000, 7001, 7002);
    assertThat(url.nodes).allSatisfy(node -> {
      assertThat(node.isSsl()).isTrue();
      assertThat(credentials(node).getUsername()).isEqualTo("user");
      assertThat(new String(credentials(node).getPassword())).isEqualTo("pw");
      assertThat(node.getClientName()).isEqualTo("svc");
    });
  }

  @Test
  void theStoresOwnParametersAreReadAndNotPassedOn() {
    RedisUrl url = RedisUrl.parse("redis://h:1?keyPrefix=orders%3Aprod%3A&commandTimeout=250ms"
        + "&nearCacheBytes=16MiB&nearCacheMaxAge=PT30S&timeout=5s");

    assertThat(url.keyPrefix).isEqualTo("orders:prod:");
    assertThat(url.commandTimeout).isEqualTo(Duration.ofMillis(250));
    assertThat(url.nearCacheBytes).isEqualTo(16L << 20);
    assertThat(url.nearCacheMaxAge).isEqualTo(Duration.ofSeconds(30));
    assertThat(url.nodes.get(0).getTimeout()).isEqualTo(Duration.ofSeconds(5));
  }

  @Test
  void aMisspeltParameterIsRefusedNotIgnored() {
    assertThatThrownBy(() -> RedisUrl.parse("redis://:pw@h:1?keyprefix=x"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("unknown parameter \"keyprefix\" in store URL redis://***@h:1")
        .hasMessageContaining("keyPrefix")
        .hasMessageNotContaining("pw");
  }

  @Test
  void badValuesAreRefusedWithTheParameterAndValueNamed() {
    assertThatThrownBy(() -> RedisUrl.parse("redis://h?commandTimeout=soon"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("commandTimeout must be a positive duration")
        .hasMessageContaining("\"soon\"");
    assertThatThrownBy(() -> RedisUrl.parse("redis://h?commandTimeout=0ms"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("\"0ms\"");
    assertThatThrownBy(() -> RedisUrl.parse("redis://h?nearCacheBytes=lots"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("nearCacheBytes must be a positive number of bytes");
    assertThatThrownBy(() -> RedisUrl.parse("redis://h?nearCacheMaxAge=1m"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("nearCacheMaxAge needs nearCacheBytes");
  }

  @Test
  void aClusterHasOnlyDatabaseZeroAndNoEmptyHosts() {
    assertThat(RedisUrl.parse("redis-cluster://a:1,b:2/0").nodes).hasSize(2);
    assertThatThrownBy(() -> RedisUrl.parse("redis-cluster://a:1,b:2/3"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("a Redis Cluster has only database 0");
    assertThatThrownBy(() -> RedisUrl.parse("redis-cluster://a:1,,b:2"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("an empty host in store URL");
  }

  @Test
  void onlyRedisSchemesAreAccepted() {
    assertThat(RedisUrl.accepts("redis://h")).isTrue();
    assertThat(RedisUrl.accepts("REDISS://h")).isTrue();
    assertThat(RedisUrl.accepts("redis-cluster://h:1")).isTrue();
    assertThat(RedisUrl.accepts("rediss-cluster://h:1")).isTrue();
    assertThat(RedisUrl.accepts("memory")).isFalse();
    assertThat(RedisUrl.accepts("jdbc:postgresql://h/db")).isFalse();
    assertThatThrownBy(() -> RedisUrl.parse("http://h"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("a Redis store URL starts with one of redis://, rediss://");
  }

  @Test
  void credentialsNeverAppearInMessages() {
    assertThat(RedisUrl.redact("redis://user:pa55@h:1/0 and rediss://:x@y"))
        .isEqualTo("redis://***@h:1/0 and rediss://***@y");
  }

  /** Found by RedisUrlFuzzTest: a password holding "://", "?", "/" or a space was quoted. */
  @ParameterizedTest
  @ValueSource(strings = {
      "rediss-cluster://app:pa55://h?nearCacheB w0rd=999999999999@99999999GiBtery-",
      "redis://:pa55?w0rd@host:6379",
      "redis://:pa55/w0rd@host:6379",
      "redis://:pa55 w0rd@host:6379?bogus=1",
      "redis-cluster://user:pa55/w0rd@a:1,,b:2",
      "redis-cluster://user:pa55/w0rd@a:1,b:2",
      "redis://:pa55%2Fw0rd/x@host:6379/0"})
  void aPasswordHoldingWhatEndsUserInformationElsewhereIsNeverQuoted(String url) {
    assertThatThrownBy(() -> RedisUrl.parse(url))
        .isInstanceOf(IllegalArgumentException.class)
        .satisfies(e -> assertThat(e.getMessage()).doesNotContain("pa55", "w0rd"))
        .satisfies(e -> assertThat(e.getCause()).isNull());
  }

  /** Found by RedisUrlFuzzTest: past a long of seconds, ArithmeticException escaped. */
  @ParameterizedTest
  @ValueSource(strings = {"0111111111111111111h", "9223372036854775807m",
      "99999999999999999999ms"})
  void aDurationTooLongForJavaIsRefusedAsTooLong(String value) {
    assertThatThrownBy(() -> RedisUrl.parse("redis://:pw@h?commandTimeout=" + value))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("commandTimeout is too long a duration: \"" + value
            + "\" in store URL redis://***@h?commandTimeout=" + value);
    assertThatThrownBy(() -> RedisUrl.parse("redis://h?nearCacheBytes=1&nearCacheMaxAge=" + value))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("nearCacheMaxAge is too long a duration");
  }

  @Test
  void anAtAfterTheQuestionMarkIsRefusedAsAmbiguous() {
    assertThatThrownBy(() -> RedisUrl.parse("redis://host?keyPrefix=a@b"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("the store URL redis://***@b has an '@' after its '?': percent-encode an '@'"
            + " in a parameter (%40), and a '?' in a password (%3F)");
    assertThat(RedisUrl.parse("redis://host?keyPrefix=a%40b").keyPrefix).isEqualTo("a@b");
  }

  @Test
  void theProviderOpensRedisUrlsThroughIdempotencyStoreOpen() {
    assertThatThrownBy(() -> IdempotencyStore.open("redis://h?bogus=1"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("unknown parameter \"bogus\"");
    assertThatThrownBy(() -> IdempotencyStore.open("mongodb://h"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("redis://, rediss://, redis-cluster://, rediss-cluster://");
  }

  @Test
  void anUnreachableServerIsAStoreExceptionWithoutThePassword() {
    int closedPort = TestRedis.freePort();

    assertThatThrownBy(() -> RedisStore.open("redis://:topsecret@127.0.0.1:" + closedPort))
        .isInstanceOf(StoreException.class)
        .hasMessageStartingWith("cannot connect to redis://***@127.0.0.1:" + closedPort)
        .hasMessageNotContaining("topsecret");
  }
}
