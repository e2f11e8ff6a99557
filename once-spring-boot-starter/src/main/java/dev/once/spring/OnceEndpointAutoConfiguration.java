package dev.once.spring;

import dev.once.Once;
import org.springframework.boot.actuate.autoconfigure.endpoint.condition.ConditionalOnAvailableEndpoint;
import org.springframework.boot.actuate.endpoint.annotation.Endpoint;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;

/**
 * The actuator endpoint {@code once} ({@link OnceEndpoint}), when the application has the
 * actuator and the endpoint is both given access and exposed: neither is by default.
 */
@AutoConfiguration(after = OnceAutoConfiguration.class)
@ConditionalOnClass({Endpoint.class, ConditionalOnAvailableEndpoint.class})
@ConditionalOnBean(Once.class)
@ConditionalOnBooleanProperty(name = "once.enabled", matchIfMissing = true)
public final class OnceEndpointAutoConfiguration {

  /** Created by Spring. */
  public OnceEndpointAutoConfiguration() {}

  @Bean
  @ConditionalOnMissingBean
  @ConditionalOnAvailableEndpoint(OnceEndpoint.class)
  OnceEndpoint onceEndpoint(Once once) {
    return new OnceEndpoint(once);
  }
}
