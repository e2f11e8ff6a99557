package dev.once.spring;

import static dev.once.spring.OnceAutoConfigurationTest.assertAStoreWithoutItsModuleStopsTheStart;
import static dev.once.spring.OnceAutoConfigurationTest.startupFailure;
import static dev.once.spring.StoreChecks.NOT_CLOSED_BY_THE_CONTEXT;
import static dev.once.spring.StoreChecks.assertRetryIsReplayed;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.once.Fingerprint;
import dev.once.MemoryStore;
import dev.once.Once;
import dev.once.redis.RedisStore;
import dev.once.spi.IdempotencyStore;
import dev.once.spi.StoreException;
import dev.once.testing.FailingStore;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.data.redis.autoconfigure.DataRedisAutoConfiguration;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;

/**
 * {@link OnceRedisStoreAutoConfiguration} against a real Redis ({@link TestServers}): when it
 * defines the store, on which client, with which options, and what stops the start.
 */
@ExtendWith(OutputCaptureExtension.class)
class OnceRedisStoreAutoConfigurationTest {
  private static RedisClient client;

  private final ApplicationContextRunner runner = new ApplicationContextRunner()
      .withConfiguration(AutoConfigurations.of(OnceRedisStoreAutoConfiguration.class,
          OnceJdbcStoreAutoConfiguration.class, OnceAutoConfiguration.class))
      .withPropertyValues("once.redis.command-timeout=10s");

  @BeforeAll
  static void createClient() {
    client = RedisClient.create(TestServers.redisUrl());
  }

  @AfterAll
  static void shutDownClient() {
    client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
  }

  private ApplicationContextRunner withClient() {
    return runner.withBean("redisClient", RedisClient.class, () -> client,
        NOT_CLOSED_BY_THE_CONTEXT);
  }

  @Test
  void onceStoreRedisKeepsTheRecordsInRedisThroughTheApplicationsClient() {
    String prefix = "t-" + UUID.randomUUID() + ":";
    withClient().withPropertyValues("once.store=redis", "once.redis.key-prefix=" + prefix)
        .run(context -> {
          assertThat(context).hasSingleBean(IdempotencyStore.class)
              .doesNotHaveBean(MemoryStore.class);
          Once once = context.getBean(Once.class);
          assertThat(once.store()).isSameAs(context.getBean(RedisStore.class));

          assertRetryIsReplayed(once);

          assertThat(TestServers.redisKeys(prefix)).isEqualTo(1);
        });
  }

  @Test
  void withOnceStoreUnsetALettuceClientBeanChoosesRedis() {
    withClient().run(context -> {
      assertThat(context.getBean(IdempotencyStore.class)).isInstanceOf(RedisStore.class);
      assertRetryIsReplayed(context.getBean(Once.class));
    });
  }

  @Test
  void withOnceStoreUnsetSpringDataRedisLettuceConnectionChoosesRedis() {
    String prefix = "t-" + UUID.randomUUID() + ":";
    runner.withConfiguration(AutoConfigurations.of(DataRedisAutoConfiguration.class))
        .withPropertyValues("spring.data.redis.url=" + TestServers.redisUrl(),
            "once.redis.key-prefix=" + prefix)
        .run(context -> {
          assertThat(context).hasSingleBean(LettuceConnectionFactory.class);
          assertThat(context.getBean(IdempotencyStore.class)).isInstanceOf(RedisStore.class);

          assertRetryIsReplayed(context.getBean(Once.class));

          assertThat(TestServers.redisKeys(prefix)).isEqualTo(1);
        });
  }

  @Test
  void aConnectionFactoryThatStartsLateStillHandsOverItsClient() {
    runner.withBean(LettuceConnectionFactory.class, () -> {
          LettuceConnectionFactory factory = new LettuceConnectionFactory(
              LettuceConnectionFactory.createRedisConfiguration(TestServers.redisUrl()));
          factory.setEarlyStartup(false);
          return factory;
        })
        .run(context -> assertRetryIsReplayed(context.getBean(Once.class)));
  }

  @Test
  void anApplicationsOwnClientIsPreferredToSpringDataRedis() {
    // Spring Data Redis points at a port nothing listens on: only the application's client works
    withClient().withConfiguration(AutoConfigurations.of(DataRedisAutoConfiguration.class))
        .withPropertyValues("spring.data.redis.url=redis://127.0.0.1:" + TestServers.freePort())
        .run(context -> assertRetryIsReplayed(context.getBean(Once.class)));
  }

  @Test
  void withoutALettuceClientOnceStoreUnsetStaysInMemory() {
    runner.run(context ->
        assertThat(context.getBean(IdempotencyStore.class)).isInstanceOf(MemoryStore.class));
  }

  @Test
  void anExplicitStoreBeatsTheDetectedClient() {
    withClient().withPropertyValues("once.store=memory").run(context -> assertThat(context)
        .doesNotHaveBean(RedisStore.class).hasSingleBean(MemoryStore.class));
  }

  @Test
  void aUserStoreBeanWinsOverTheRedisStoreEvenWhenAskedFor() {
    FailingStore own = new FailingStore(MemoryStore.create());
    withClient().withBean(IdempotencyStore.class, () -> own)
        .withPropertyValues("once.store=redis")
        .run(context -> {
          assertThat(context).hasNotFailed().doesNotHaveBean(RedisStore.class);
          assertThat(context.getBean(Once.class).store()).isSameAs(own);
        });
  }

  @Test
  void onceEnabledFalseMakesNoRedisStore() {
    withClient().withPropertyValues("once.enabled=false", "once.store=redis")
        .run(context -> assertThat(context).hasNotFailed()
            .doesNotHaveBean(IdempotencyStore.class));
  }

  @Test
  void withoutTheRedisModuleOnceStoreRedisStopsTheStartNamingTheModule() {
    assertAStoreWithoutItsModuleStopsTheStart(withClient(),
        RedisStore.class, "redis", "dev.once:once-redis");
  }

  @Test
  void withoutTheRedisModuleALettuceClientLeavesTheStoreInMemory() {
    withClient().withClassLoader(new FilteredClassLoader(RedisStore.class)).run(context ->
        assertThat(context.getBean(IdempotencyStore.class)).isInstanceOf(MemoryStore.class));
  }

  @Test
  void onceStoreRedisWithoutAClientStopsTheStartSayingWhatToAdd() {
    runner.withPropertyValues("once.store=redis").run(context -> {
      InvalidOncePropertyException failure = startupFailure(context);
      assertThat(failure.property()).isEqualTo("once.store");
      assertThat(failure.reason()).contains("needs a Lettuce client")
          .contains("RedisClient").contains("spring-boot-starter-data-redis");
    });
  }

  @Test
  void twoClientsWithoutAPrimaryStopTheStartNamingThem() {
    withClient().withBean("otherClient", RedisClient.class, () -> client,
            NOT_CLOSED_BY_THE_CONTEXT)
        .run(context -> assertThat(startupFailure(context).reason())
            .contains("needs one Lettuce client").contains("[redisClient, otherClient]")
            .contains("@Primary"));
  }

  @Test
  void theRedisOptionsReachTheStore() {
    withClient().withPropertyValues("once.redis.command-timeout=250ms",
            "once.redis.near-cache.maximum-weight=1MB", "once.redis.near-cache.max-age=5s")
        .run(context -> assertThat(context.getBean(RedisStore.class).toString())
            .contains("commandTimeout=PT0.25S").contains("nearCache"));
    withClient().run(context -> assertThat(context.getBean(RedisStore.class).toString())
        .contains("keyPrefix=once:").contains("nearCache=tracked").doesNotContain("replicas"));
    withClient().withPropertyValues("once.redis.near-cache.maximum-weight=0B")
        .run(context -> assertThat(context.getBean(RedisStore.class).toString())
            .doesNotContain("nearCache"));
    withClient().withPropertyValues("once.redis.replicas=2", "once.redis.replica-timeout=250ms")
        .run(context -> assertThat(context.getBean(RedisStore.class).toString())
            .contains("replicas=2 within 250ms"));
    withClient().withPropertyValues("once.redis.record-format=1")
        .run(context -> assertThat(context.getBean(RedisStore.class).toString())
            .contains("recordFormat=1"));
  }

  @Test
  void aRedisOptionTheStoreRefusesStopsTheStartWithTheStoresReason() {
    withClient().withPropertyValues("once.redis.command-timeout=0s").run(context -> {
      InvalidOncePropertyException failure = startupFailure(context);
      assertThat(failure.property()).isEqualTo("once.redis.command-timeout");
      assertThat(failure.value()).isEqualTo("0s");
      assertThat(failure.reason()).isEqualTo("commandTimeout must be positive, but was PT0S");
    });
    withClient().withPropertyValues("once.redis.near-cache.maximum-weight=1MB",
            "once.redis.near-cache.max-age=-1s")
        .run(context -> {
          InvalidOncePropertyException failure = startupFailure(context);
          assertThat(failure.property()).isEqualTo("once.redis.near-cache.max-age");
          assertThat(failure.reason())
              .isEqualTo("nearCache maxAge must be positive, but was PT-1S");
        });
    withClient().withPropertyValues("once.redis.near-cache.max-age=30s",
            "once.redis.near-cache.maximum-weight=0B")
        .run(context -> assertThat(startupFailure(context).reason())
            .contains("the near cache is off (once.redis.near-cache.maximum-weight=0)"));
    withClient().withPropertyValues("once.redis.replicas=-1")
        .run(context -> assertThat(startupFailure(context).reason())
            .isEqualTo("replicas must not be negative, but was -1"));
    withClient().withPropertyValues("once.redis.replica-timeout=1s")
        .run(context -> assertThat(startupFailure(context).reason())
            .contains("writes wait for no replica unless once.redis.replicas is set too"));
    withClient().withPropertyValues("once.redis.record-format=3")
        .run(context -> assertThat(startupFailure(context).reason())
            .isEqualTo("recordFormat must be 1 or 2, but was 3"));
    withClient().withPropertyValues("once.redis.command-timeout=soon")
        .run(context -> assertThat(context.getStartupFailure())
            .hasStackTraceContaining("once.redis.command-timeout"));
  }

  @Test
  void aRedisThatCannotBeReachedStopsTheStartWithAnAnalysis() {
    RedisClient nowhere = RedisClient.create(RedisURI.builder().withHost("127.0.0.1")
        .withPort(TestServers.freePort()).withTimeout(Duration.ofSeconds(2)).build());
    try {
      runner.withBean(RedisClient.class, () -> nowhere, NOT_CLOSED_BY_THE_CONTEXT)
          .run(context -> {
            assertThat(context).hasFailed();
            FailureAnalysis analysis =
                new StoreFailureAnalyzer().analyze(context.getStartupFailure());
            assertThat(analysis.getDescription())
                .startsWith("The once idempotency store could not be opened:")
                .contains("cannot connect to Redis");
            assertThat(analysis.getAction()).contains("once.store");
          });
    } finally {
      nowhere.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
  }

  @Test
  void closingTheContextClosesTheStoreButNotTheApplicationsClient() {
    AtomicReference<RedisStore> store = new AtomicReference<>();
    withClient().run(context -> store.set(context.getBean(RedisStore.class)));

    assertThatThrownBy(() -> store.get().claim("k", fingerprint(), Duration.ofSeconds(1)))
        .isInstanceOf(StoreException.class);
    try (StatefulRedisConnection<String, String> connection = client.connect()) {
      assertThat(connection.sync().ping()).isEqualTo("PONG");
    }
  }

  @Test
  void withSpringDataRedisTheStoreIsClosedBeforeTheFactoryShutsItsClientDown(
      CapturedOutput output) {
    AtomicReference<RedisStore> store = new AtomicReference<>();
    runner.withConfiguration(AutoConfigurations.of(DataRedisAutoConfiguration.class))
        .withPropertyValues("spring.data.redis.url=" + TestServers.redisUrl())
        .run(context -> store.set(context.getBean(RedisStore.class)));

    assertThatThrownBy(() -> store.get().claim("k", fingerprint(), Duration.ofSeconds(1)))
        .isInstanceOf(StoreException.class);
    // closed after the client, the store's connections would already be gone: Lettuce says so
    assertThat(output).doesNotContain("Connection is already closed");
  }

  private static Fingerprint fingerprint() {
    return Fingerprint.fromBytes(new byte[32]);
  }
}
