package dev.once.spring;

import dev.once.micrometer.MeteredStore;
import dev.once.micrometer.OnceMeters;
import io.micrometer.core.instrument.MeterRegistry;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.context.annotation.Bean;
import org.springframework.core.annotation.Order;

/**
 * Micrometer meters for once, when the application has a {@link MeterRegistry} (Spring Boot's
 * actuator makes one): the request outcomes, the handlers in flight and the store failures from
 * the engine's listener, and the latency of the store's operations: once-micrometer's {@link
 * OnceMeters} and {@link MeteredStore}, the meters of README's table.
 */
@AutoConfiguration(
    before = OnceAutoConfiguration.class,
    afterName = {
        "org.springframework.boot.micrometer.metrics.autoconfigure.MetricsAutoConfiguration",
        "org.springframework.boot.micrometer.metrics.autoconfigure"
            + ".CompositeMeterRegistryAutoConfiguration",
        "org.springframework.boot.micrometer.metrics.autoconfigure.export.simple"
            + ".SimpleMetricsExportAutoConfiguration"})
@ConditionalOnClass({MeterRegistry.class, OnceMeters.class})
@ConditionalOnBean(MeterRegistry.class)
@ConditionalOnBooleanProperty(name = "once.enabled", matchIfMissing = true)
public final class OnceMetricsAutoConfiguration {

  /** Created by Spring. */
  public OnceMetricsAutoConfiguration() {}

  @Bean
  OnceMeters onceMeters(MeterRegistry registry) {
    return OnceMeters.bind(registry);
  }

  /** The innermost decorator: the store's own operations are timed, not the traces'. */
  @Bean
  @Order(0)
  OnceStoreDecorator onceStoreTimers(MeterRegistry registry) {
    return store -> MeteredStore.wrap(store, registry);
  }
}
