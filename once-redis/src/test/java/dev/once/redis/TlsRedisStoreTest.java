package dev.once.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.once.Stores;
import dev.once.spi.Claim;
import dev.once.spi.IdempotencyStore;
import dev.once.spi.IdempotencyStoreContract;
import dev.once.spi.StoreException;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SslOptions;
import java.time.Duration;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The core store contract against a real Redis that speaks only TLS, through an application's own
 * Lettuce client that verifies the server's certificate (the peer's name and its chain); and that
 * an unverified server is refused.
 */
class TlsRedisStoreTest extends IdempotencyStoreContract {
  private static TestCertificate certificate;
  private static TestRedis redis;
  private static RedisClient client;
  private static RedisStore store;

  @BeforeAll
  static void start() {
    certificate = TestCertificate.create();
    redis = TestRedis.startTls(certificate);
    client = trustingClient(redis, certificate);
    store = RedisStore.builder(client).keyPrefix("tls:").commandTimeout(TestRedis.PATIENT)
        .build();
  }

  static RedisClient trustingClient(TestRedis redis, TestCertificate certificate) {
    RedisClient client = RedisClient.create(RedisURI.create(redis.url()));
    client.setOptions(ClientOptions.builder()
        .sslOptions(SslOptions.builder()
            .jdkSslProvider()
            .trustManager(certificate.certificatePem().toFile())
            .build())
        .build());
    return client;
  }

  @AfterAll
  static void stop() {
    store.close();
    client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    redis.close();
    certificate.close();
  }

  @Override
  protected IdempotencyStore store() {
    return store;
  }

  @Test
  void aServerWhoseCertificateIsNotTrustedIsRefused() {
    RedisClient untrusting = RedisClient.create(RedisURI.create(redis.url()));
    try {
      assertThatThrownBy(() -> RedisStore.builder(untrusting).build())
          .isInstanceOf(StoreException.class)
          .hasMessageStartingWith("cannot connect to Redis");
    } finally {
      untrusting.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
    assertThatThrownBy(() -> RedisStore.open(redis.url()))
        .isInstanceOf(StoreException.class)
        .hasMessageStartingWith("cannot connect to " + redis.url());
  }

  @Test
  void aRedissUrlOpensAStoreOverTls() {
    try (IdempotencyStore opened = Stores.open(redis.url() + "?verifyPeer=NONE")) {
      opened.ping();
      assertThat(opened.claim("tls-url-" + UUID.randomUUID(), null, Duration.ofMinutes(1)).state())
          .isEqualTo(Claim.State.ACQUIRED);
    }
  }
}
