package dev.once.spring;

import dev.once.spi.IdempotencyStore;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.health.autoconfigure.contributor.ConditionalOnEnabledHealthIndicator;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.context.annotation.Bean;

/**
 * The health contributor {@code once}, for the idempotency store, when Spring Boot's health
 * support is present. Turned off with {@code management.health.once.enabled=false}.
 */
@AutoConfiguration(after = OnceAutoConfiguration.class)
@ConditionalOnClass(HealthIndicator.class)
@ConditionalOnBean(IdempotencyStore.class)
@ConditionalOnBooleanProperty(name = "once.enabled", matchIfMissing = true)
@ConditionalOnEnabledHealthIndicator("once")
public final class OnceHealthAutoConfiguration {

  /** Created by Spring. */
  public OnceHealthAutoConfiguration() {}

  @Bean
  @ConditionalOnMissingBean(name = "onceHealthIndicator")
  HealthIndicator onceHealthIndicator(IdempotencyStore store) {
    return new OnceHealthIndicator(store);
  }
}
