package dev.once.spring;

import dev.once.redis.RedisStore;
import dev.once.spi.IdempotencyStore;
import io.lettuce.core.AbstractRedisClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;
import org.springframework.beans.factory.ListableBeanFactory;
import org.springframework.beans.factory.config.ConfigurableListableBeanFactory;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionMessage;
import org.springframework.boot.autoconfigure.condition.ConditionOutcome;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.context.SmartLifecycle;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.ConditionContext;
import org.springframework.context.annotation.Conditional;
import org.springframework.core.env.Environment;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;
import org.springframework.util.ClassUtils;
import org.springframework.util.unit.DataSize;

/**
 * The {@link RedisStore} as the {@link IdempotencyStore}, when {@code dev.once:once-redis} is on
 * the class path and either {@code once.store=redis}, or {@code once.store} is unset and the
 * application has a Lettuce client: a {@code RedisClient} or {@code RedisClusterClient} bean, or
 * else Spring Data Redis's {@code LettuceConnectionFactory} (whose client Spring Boot configures
 * from {@code spring.data.redis.*}). An {@code IdempotencyStore} bean of the application wins.
 *
 * <p>The store opens its own connections from the application's client and closes them with the
 * context; the client stays the application's, never shut down by the store. It connects at start,
 * so a Redis that cannot be reached then stops the start. Options: {@code once.redis.*}.
 * With Spring Data Redis's Sentinel settings ({@code spring.data.redis.sentinel.*}) the factory's
 * client carries a Sentinel {@code RedisURI}, and the store, connecting through that client,
 * reaches the primary through the sentinels and follows failovers.
 *
 * <p>Ordered before {@link OnceJdbcStoreAutoConfiguration}, so that with {@code once.store} unset
 * an application with both a Lettuce client and a {@code DataSource} gets the Redis store.
 */
@AutoConfiguration(
    before = {OnceJdbcStoreAutoConfiguration.class, OnceAutoConfiguration.class},
    afterName = "org.springframework.boot.data.redis.autoconfigure.DataRedisAutoConfiguration")
@ConditionalOnClass(RedisStore.class)
@ConditionalOnBooleanProperty(name = "once.enabled", matchIfMissing = true)
public final class OnceRedisStoreAutoConfiguration {
  private static final Log LOG = LogFactory.getLog(OnceRedisStoreAutoConfiguration.class);
  private static final String CONNECTION_FACTORY =
      "org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory";
  private static final String STOPPER = "onceRedisStoreClosedBeforeTheConnectionFactoryStops";

  /** Created by Spring. */
  public OnceRedisStoreAutoConfiguration() {}

  @Bean
  @ConditionalOnMissingBean(IdempotencyStore.class)
  @Conditional(RedisStoreCondition.class)
  RedisStore onceRedisStore(Environment environment, ConfigurableListableBeanFactory beans) {
    OnceBinding binding = new OnceBinding(environment);
    String[] clients = beans.getBeanNamesForType(AbstractRedisClient.class, true, false);
    if (clients.length == 0
        && ClassUtils.isPresent(CONNECTION_FACTORY, beans.getBeanClassLoader())) {
      return SpringDataRedis.store(beans, binding);
    }
    if (clients.length == 0) {
      throw noClient(binding);
    }
    AbstractRedisClient client = beans.getBeanProvider(AbstractRedisClient.class).getIfUnique();
    if (client == null) {
      throw binding.invalid("store", "the Redis store needs one Lettuce client, but the"
          + " application has " + clients.length + " " + Arrays.toString(clients) + ": mark"
          + " one @Primary, or define the IdempotencyStore bean yourself");
    }
    return storeOn(client, binding);
  }

  /**
   * @return a store on {@code client} with the {@code once.redis.*} options
   * @throws InvalidOncePropertyException if the builder refuses a value
   * @throws dev.once.spi.StoreException if Redis cannot be reached
   */
  private static RedisStore storeOn(AbstractRedisClient client, OnceBinding binding) {
    RedisStore.Builder builder = RedisStore.builder(client);
    configure(builder, binding);
    RedisStore store = builder.build();
    LOG.info("once: idempotency records in " + store + ", through the application's "
        + client.getClass().getSimpleName());
    return store;
  }

  /**
   * Binds {@code once.redis.*} onto the builder.
   *
   * @throws InvalidOncePropertyException if the builder refuses a value
   */
  static void configure(RedisStore.Builder builder, OnceBinding binding) {
    binding.bind("redis.key-prefix", Bindable.of(String.class), builder::keyPrefix);
    binding.bind("redis.command-timeout", Bindable.of(Duration.class), builder::commandTimeout);
    Duration[] maxAge = {RedisStore.DEFAULT_NEAR_CACHE_MAX_AGE};
    boolean ageSet = binding.bind("redis.near-cache.max-age", Bindable.of(Duration.class), age -> {
      // the builder's own check, so the message is the store's; the size is set just below
      builder.nearCache(1, age);
      maxAge[0] = age;
    });
    long[] weight = {RedisStore.DEFAULT_NEAR_CACHE_BYTES};
    boolean weightSet = binding.bind("redis.near-cache.maximum-weight",
        Bindable.of(DataSize.class), size -> {
          weight[0] = size.toBytes();
          if (weight[0] == 0) {
            builder.noNearCache();
          } else {
            builder.nearCache(weight[0], maxAge[0]);
          }
        });
    if (ageSet && weight[0] == 0) {
      throw binding.invalid("redis.near-cache.max-age", "the near cache is off"
          + " (once.redis.near-cache.maximum-weight=0)");
    }
    if (ageSet && !weightSet) {
      builder.nearCache(RedisStore.DEFAULT_NEAR_CACHE_BYTES, maxAge[0]);
    }
    Duration[] replicaTimeout = {RedisStore.DEFAULT_REPLICA_TIMEOUT};
    boolean timeoutSet = binding.bind("redis.replica-timeout", Bindable.of(Duration.class),
        timeout -> {
          builder.replicas(1, timeout); // the builder's own check; the count is set just below
          replicaTimeout[0] = timeout;
        });
    boolean durable = binding.bind("redis.replicas", Bindable.of(Integer.class),
        replicas -> builder.replicas(replicas, replicaTimeout[0]));
    if (timeoutSet && !durable) {
      throw binding.invalid("redis.replica-timeout", "writes wait for no replica unless"
          + " once.redis.replicas is set too");
    }
    binding.bind("redis.record-format", Bindable.of(Integer.class), builder::recordFormat);
  }

  private static InvalidOncePropertyException noClient(OnceBinding binding) {
    return binding.invalid("store", "the Redis store needs a Lettuce client, and the application"
        + " has none: define a RedisClient or RedisClusterClient bean, or add Spring Data Redis"
        + " with Lettuce (spring-boot-starter-data-redis) and configure spring.data.redis.*");
  }

  /** @return the names of the beans the store could take its client from */
  static List<String> clientBeanNames(ListableBeanFactory beans, @Nullable ClassLoader loader) {
    List<String> names = new ArrayList<>(
        Arrays.asList(beans.getBeanNamesForType(AbstractRedisClient.class, true, false)));
    if (ClassUtils.isPresent(CONNECTION_FACTORY, loader)) {
      names.addAll(Arrays.asList(beans.getBeanNamesForType(
          ClassUtils.resolveClassName(CONNECTION_FACTORY, loader), true, false)));
    }
    return names;
  }

  /**
   * Matches when {@code once.store} is {@code redis}, or unset while the application has a
   * Lettuce client bean (a bean definition: nothing is created to decide).
   */
  static final class RedisStoreCondition extends StoreCondition {
    RedisStoreCondition() {
      super("redis");
    }

    @Override
    ConditionOutcome whenUnset(ConditionContext context, ConditionMessage.Builder message) {
      ListableBeanFactory beans = Objects.requireNonNull(
          context.getBeanFactory(), "an application context's condition has its bean factory");
      List<String> clients = clientBeanNames(beans, context.getClassLoader());
      return clients.isEmpty()
          ? ConditionOutcome.noMatch(message.because("once.store is unset and no Lettuce client"
              + " bean was found"))
          : ConditionOutcome.match(message.because("once.store is unset and the application"
              + " has Lettuce client beans " + clients));
    }
  }

  /** Spring Data Redis, referenced only when it is on the class path. */
  private static final class SpringDataRedis {
    private SpringDataRedis() {}

    /**
     * A store on the client of the application's Lettuce connection factory. The factory shuts
     * its client down when the context stops its lifecycle beans, before any bean is destroyed;
     * so the store is closed then too, just before the factory, instead of finding its
     * connections already gone when its own bean is destroyed.
     */
    static RedisStore store(ConfigurableListableBeanFactory beans, OnceBinding binding) {
      String[] names = beans.getBeanNamesForType(LettuceConnectionFactory.class, true, false);
      if (names.length == 0) {
        throw noClient(binding);
      }
      LettuceConnectionFactory factory =
          beans.getBeanProvider(LettuceConnectionFactory.class).getIfUnique();
      if (factory == null) {
        throw binding.invalid("store", "the Redis store needs one Lettuce connection factory, but"
            + " the application has " + names.length + " " + Arrays.toString(names) + ": mark"
            + " one @Primary, or define the IdempotencyStore bean yourself");
      }
      if (!factory.isRunning()) {
        // a factory that is not started early (setEarlyStartup(false)) makes its client when the
        // context starts its lifecycle beans, after this bean; starting it sooner is what it would
        // do anyway, and the context's start then finds it running
        factory.start();
      }
      RedisStore store = storeOn(factory.getRequiredNativeClient(), binding);
      String factoryName = names.length == 1 ? names[0] : primary(beans, names);
      beans.registerSingleton(STOPPER, new ClosedWhenStopped(store, factory.getPhase()));
      // the context stops a lifecycle bean's dependents first, whatever their phase
      beans.registerDependentBean(factoryName, STOPPER);
      return store;
    }

    private static String primary(ConfigurableListableBeanFactory beans, String[] names) {
      for (String name : names) {
        if (beans.containsBeanDefinition(name) && beans.getBeanDefinition(name).isPrimary()) {
          return name;
        }
      }
      return names[0];
    }
  }

  /** Closes a store when the context stops, in the phase of what it depends on. */
  private static final class ClosedWhenStopped implements SmartLifecycle {
    private final AutoCloseable store;
    private final int phase;
    private volatile boolean running;

    ClosedWhenStopped(AutoCloseable store, int phase) {
      this.store = store;
      this.phase = phase;
    }

    @Override
    public void start() {
      running = true;
    }

    @Override
    public void stop() {
      running = false;
      try {
        store.close();
      } catch (Exception e) {
        LOG.warn("once: closing " + store + " failed", e);
      }
    }

    @Override
    public boolean isRunning() {
      return running;
    }

    @Override
    public int getPhase() {
      return phase;
    }
  }
}
