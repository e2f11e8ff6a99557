package dev.once.spring;

import io.micrometer.core.instrument.MeterRegistry;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.context.annotation.Bean;

/**
 * Micrometer meters for once, when the application has a {@link MeterRegistry} (Spring Boot's
 * actuator makes one): the request outcomes, the handlers in flight and the store failures from
 * the engine's listener, and the latency of the store's operations. The meter names are listed in
 * docs/SPRING.md.
 */
@AutoConfiguration(
    before = OnceAutoConfiguration.class,
    afterName = {
        "org.springframework.boot.micrometer.metrics.autoconfigure.MetricsAutoConfiguration",
        "org.springframework.boot.micrometer.metrics.autoconfigure"
            + ".CompositeMeterRegistryAutoConfiguration",
        "org.springframework.boot.micrometer.metrics.autoconfigure.export.simple"
            + ".SimpleMetricsExportAutoConfiguration"})
@ConditionalOnClass(MeterRegistry.class)
@ConditionalOnBean(MeterRegistry.class)
@ConditionalOnBooleanProperty(name = "once.enabled", matchIfMissing = true)
public final class OnceMetricsAutoConfiguration {

  /** Created by Spring. */
  public OnceMetricsAutoConfiguration() {}

  @Bean
  OnceMeters onceMeters(MeterRegistry registry) {
    return new OnceMeters(registry);
  }

  @Bean
  OnceStoreDecorator onceStoreTimers(MeterRegistry registry) {
    return store -> new MeteredStore(store, registry);
  }
}
