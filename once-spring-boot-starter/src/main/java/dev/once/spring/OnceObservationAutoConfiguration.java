package dev.once.spring;

import dev.once.OnceListener;
import dev.once.micrometer.OnceObservations;
import io.micrometer.observation.ObservationRegistry;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.context.annotation.Bean;
import org.springframework.core.annotation.Order;

/**
 * Traces for once, when the application has an {@link ObservationRegistry} (Spring Boot's
 * actuator makes one; with a tracing bridge each observation is a span): an observation {@code
 * once.request} per keyed request, a child of the HTTP request's, and a child {@code once.store}
 * per store operation, through once-micrometer's {@link OnceObservations}. Turned off with {@code
 * once.observations.enabled=false}.
 */
@AutoConfiguration(
    before = OnceAutoConfiguration.class,
    afterName = "org.springframework.boot.micrometer.observation.autoconfigure"
        + ".ObservationAutoConfiguration")
@ConditionalOnClass({ObservationRegistry.class, OnceObservations.class})
@ConditionalOnBean(ObservationRegistry.class)
@ConditionalOnBooleanProperty(name = "once.enabled", matchIfMissing = true)
@ConditionalOnBooleanProperty(name = "once.observations.enabled", matchIfMissing = true)
public final class OnceObservationAutoConfiguration {

  /** Created by Spring. */
  public OnceObservationAutoConfiguration() {}

  @Bean
  OnceObservations onceObservations(ObservationRegistry registry) {
    return OnceObservations.create(registry);
  }

  @Bean
  OnceListener onceObservationListener(OnceObservations observations) {
    return observations.listener();
  }

  /** Outside the meters' decorator, so the store's timers time the store alone. */
  @Bean
  @Order(10)
  OnceStoreDecorator onceStoreObservations(OnceObservations observations) {
    return observations::wrap;
  }
}
