package dev.once.redis;

import static dev.once.testing.Refusals.refusalOf;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.once.Stores;
import dev.once.UnknownStoreException;
import dev.once.spi.MalformedStoreUrlException;
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
    assertThat(url.settings.keyPrefix).isEqualTo(RedisStore.DEFAULT_KEY_PREFIX);
    assertThat(url.settings.commandTimeout).isEqualTo(RedisStore.DEFAULT_COMMAND_TIMEOUT);
    assertThat(url.settings.nearCacheBytes).isEqualTo(RedisStore.DEFAULT_NEAR_CACHE_BYTES);
    assertThat(url.settings.nearCacheConfigured).as("on by default, where it can be tracked")
        .isFalse();
  }

  @Test
  void nearCacheBytesZeroTurnsTheNearCacheOffAndAMaxAgeAloneKeepsTheDefaultSize() {
    RedisUrl off = RedisUrl.parse("redis://h?nearCacheBytes=0");
    assertThat(off.settings.nearCacheBytes).isZero();
    assertThat(off.settings.nearCacheConfigured).isTrue();

    RedisUrl aged = RedisUrl.parse("redis://h?nearCacheMaxAge=10m");
    assertThat(aged.settings.nearCacheBytes).isEqualTo(RedisStore.DEFAULT_NEAR_CACHE_BYTES);
    assertThat(aged.settings.nearCacheMaxAge).isEqualTo(Duration.ofMinutes(10));
    assertThat(aged.settings.nearCacheConfigured).isTrue();
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

    assertThat(url.settings.keyPrefix).isEqualTo("orders:prod:");
    assertThat(url.settings.commandTimeout).isEqualTo(Duration.ofMillis(250));
    assertThat(url.settings.nearCacheBytes).isEqualTo(16L << 20);
    assertThat(url.settings.nearCacheMaxAge).isEqualTo(Duration.ofSeconds(30));
    assertThat(url.nodes.get(0).getTimeout()).isEqualTo(Duration.ofSeconds(5));
  }

  /** The one grammar of durations and sizes, as the proxy's flags take it. */
  @Test
  void parametersTakeEveryFormOfTheOneGrammar() {
    RedisUrl url = RedisUrl.parse("redis://h?commandTimeout=1m30s&nearCacheBytes=64KB"
        + "&nearCacheMaxAge=2d");

    assertThat(url.settings.commandTimeout).isEqualTo(Duration.ofSeconds(90));
    assertThat(url.settings.nearCacheBytes).isEqualTo(64_000);
    assertThat(url.settings.nearCacheMaxAge).isEqualTo(Duration.ofDays(2));
  }

  @Test
  void aMisspeltParameterIsRefusedNotIgnored() {
    refusalOf(() -> RedisUrl.parse("redis://:pw@h:1?keyprefix=x"))
        .isEqualTo("unknown parameter \"keyprefix\" in store URL redis://***@h:1?keyprefix=x"
            + " (known: keyPrefix, commandTimeout, nearCacheBytes, nearCacheMaxAge, replicas,"
            + " replicaTimeout, recordFormat, master, and Lettuce's"
            + " clientName, database, db, libraryName, libraryVersion, timeout, verifyPeer)")
        .doesNotContain("pw");
  }

  @Test
  void badValuesAreRefusedWithTheParameterAndValueNamed() {
    refusalOf(() -> RedisUrl.parse("redis://h?commandTimeout=soon"))
        .isEqualTo("commandTimeout: \"soon\" is not a duration (use 500ms, 30s, 5m, 24h, 1h30m or"
            + " ISO-8601 like PT30S) in store URL redis://h?commandTimeout=soon");
    refusalOf(() -> RedisUrl.parse("redis://h?commandTimeout=0ms"))
        .isEqualTo("commandTimeout=0ms in store URL redis://h?commandTimeout=0ms: commandTimeout"
            + " must be positive, but was PT0S");
    refusalOf(() -> RedisUrl.parse("redis://h?nearCacheBytes=lots"))
        .startsWith("nearCacheBytes: \"lots\" is not a size");
    refusalOf(() -> RedisUrl.parse("redis://h?nearCacheBytes=-1"))
        .startsWith("nearCacheBytes: \"-1\" is not a size");
    refusalOf(() -> RedisUrl.parse("redis://h?nearCacheMaxAge=1m&nearCacheBytes=0"))
        .isEqualTo("nearCacheMaxAge with nearCacheBytes=0 (the near cache is off) in store URL"
            + " redis://h?nearCacheMaxAge=1m&nearCacheBytes=0");
  }

  @Test
  void aClusterHasOnlyDatabaseZeroAndNoEmptyHosts() {
    assertThat(RedisUrl.parse("redis-cluster://a:1,b:2/0").nodes).hasSize(2);
    refusalOf(() -> RedisUrl.parse("redis-cluster://a:1,b:2/3"))
        .isEqualTo("a Redis Cluster has only database 0, but there is database 3 in store URL"
            + " redis-cluster://a:1,b:2/3");
    refusalOf(() -> RedisUrl.parse("redis-cluster://a:1,,b:2"))
        .startsWith("an empty host (list the seed nodes as");
  }

  @Test
  void sentinelUrlListsTheSentinelsAndNamesThePrimaryWithItsCredentials() {
    RedisUrl url = RedisUrl.parse(
        "redis-sentinel://app:s3cret@s1:26380,s2,s3:26382/2?master=orders&clientName=svc");

    assertThat(url.cluster).isFalse();
    RedisURI primary = url.nodes.get(0);
    assertThat(primary.getSentinelMasterId()).isEqualTo("orders");
    assertThat(primary.getSentinels()).extracting(RedisURI::getHost)
        .containsExactly("s1", "s2", "s3");
    assertThat(primary.getSentinels()).extracting(RedisURI::getPort)
        .containsExactly(26380, 26379, 26382);
    assertThat(primary.getDatabase()).isEqualTo(2);
    assertThat(credentials(primary).getUsername()).isEqualTo("app");
    assertThat(new String(credentials(primary).getPassword())).isEqualTo("s3cret");
    assertThat(primary.getClientName()).isEqualTo("svc");
    assertThat(primary.isSsl()).isFalse();
    assertThat(RedisUrl.parse("rediss-sentinel://s1?master=m").nodes.get(0).isSsl()).isTrue();
  }

  @Test
  void aSentinelUrlNeedsItsMasterAndOnlyItHasOne() {
    refusalOf(() -> RedisUrl.parse("redis-sentinel://:pw@s1:26379"))
        .isEqualTo("a Sentinel URL names the primary the sentinels watch:"
            + " redis-sentinel://host1:port1,host2:port2/0?master=NAME in store URL"
            + " redis-sentinel://***@s1:26379");
    refusalOf(() -> RedisUrl.parse("redis://h?master=m"))
        .startsWith("master is a Sentinel URL's");
    refusalOf(() -> RedisUrl.parse("redis-sentinel://s1,,s2?master=m"))
        .startsWith("an empty host (list the sentinels as");
  }

  @Test
  void replicasAndReplicaTimeoutAreBoundOntoTheBuilder() {
    RedisUrl url = RedisUrl.parse("redis://h?replicas=2&replicaTimeout=250ms");
    assertThat(url.settings.replicas).isEqualTo(2);
    assertThat(url.settings.replicaTimeout).isEqualTo(Duration.ofMillis(250));
    RedisUrl defaults = RedisUrl.parse("redis://h?replicas=1");
    assertThat(defaults.settings.replicaTimeout).isEqualTo(RedisStore.DEFAULT_REPLICA_TIMEOUT);
    assertThat(RedisUrl.parse("redis://h").settings.replicas).isZero();

    refusalOf(() -> RedisUrl.parse("redis://h?replicaTimeout=1s"))
        .isEqualTo("replicaTimeout needs replicas in store URL redis://h?replicaTimeout=1s");
    refusalOf(() -> RedisUrl.parse("redis://h?replicas=-1"))
        .endsWith(": replicas must not be negative, but was -1");
    refusalOf(() -> RedisUrl.parse("redis://h?replicas=1&replicaTimeout=0s"))
        .endsWith(": replicaTimeout must be positive, but was PT0S");
  }

  @Test
  void recordFormatIsBoundOntoTheBuilderAndIsOneOrTwo() {
    assertThat(RedisUrl.parse("redis://h?recordFormat=1").settings.recordFormat)
        .isEqualTo(RecordCodec.VERSION_1);
    assertThat(RedisUrl.parse("redis://h").settings.recordFormat).isEqualTo(RecordCodec.VERSION);

    refusalOf(() -> RedisUrl.parse("redis://h?recordFormat=3"))
        .endsWith(": recordFormat must be 1 or 2, but was 3");
  }

  @Test
  void onlyRedisSchemesAreAccepted() {
    assertThat(RedisUrl.parse("REDISS://h").nodes.get(0).isSsl()).isTrue();
    refusalOf(() -> RedisUrl.parse("http://h"))
        .isEqualTo("the scheme http is not Redis's (redis://, rediss://, redis-cluster://,"
            + " rediss-cluster://, redis-sentinel://, rediss-sentinel://) in store URL http://h");
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
        .isInstanceOf(MalformedStoreUrlException.class)
        .satisfies(e -> assertThat(e.getMessage()).doesNotContain("pa55", "w0rd"))
        .satisfies(e -> assertThat(e.getCause()).isNull());
  }

  /** Found by RedisUrlFuzzTest: past a long of seconds, ArithmeticException escaped. */
  @ParameterizedTest
  @ValueSource(strings = {"0111111111111111111h", "9223372036854775807m",
      "99999999999999999999ms"})
  void aDurationTooLongForJavaIsRefusedAsTooLong(String value) {
    refusalOf(() -> RedisUrl.parse("redis://:pw@h?commandTimeout=" + value))
        .isEqualTo("commandTimeout: \"" + value + "\" is too long a duration in store URL"
            + " redis://***@h?commandTimeout=" + value);
    refusalOf(() -> RedisUrl.parse("redis://h?nearCacheBytes=1&nearCacheMaxAge=" + value))
        .startsWith("nearCacheMaxAge: \"" + value + "\" is too long a duration");
  }

  @Test
  void anAtAfterTheQuestionMarkIsRefusedAsAmbiguous() {
    refusalOf(() -> RedisUrl.parse("redis://host?keyPrefix=a@b"))
        .isEqualTo("an '@' after the '?' (percent-encode an '@' in a parameter as %40, and a '?'"
            + " in a password as %3F) in store URL redis://***@b");
    assertThat(RedisUrl.parse("redis://host?keyPrefix=a%40b").settings.keyPrefix)
        .isEqualTo("a@b");
  }

  @Test
  void theProviderOpensRedisUrlsThroughStoresOpen() {
    refusalOf(() -> Stores.open("redis://h?bogus=1"))
        .startsWith("unknown parameter \"bogus\"");
    assertThatThrownBy(() -> Stores.open("mongodb://h"))
        .isInstanceOf(UnknownStoreException.class)
        .hasMessageContaining(
            "redis, redis-cluster, redis-sentinel, rediss, rediss-cluster, rediss-sentinel");
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
