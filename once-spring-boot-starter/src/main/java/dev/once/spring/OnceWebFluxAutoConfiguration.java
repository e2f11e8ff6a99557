package dev.once.spring;

import dev.once.Once;
import dev.once.webflux.OnceWebFilter;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.context.ApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Conditional;
import org.springframework.core.env.Environment;
import org.springframework.web.reactive.result.method.RequestMappingInfoHandlerMapping;

/**
 * Auto-configuration of once in a reactive web application (Spring WebFlux): the engine {@link
 * OnceAutoConfiguration} makes from the same {@code once.*} properties, applied by {@link
 * OnceWebFilter}s, which are {@code WebFilter} beans that WebFlux puts in front of every handler:
 * one for {@code once.url-patterns} (none when that is empty), and one for {@link Idempotent}
 * handler methods of annotated controllers.
 *
 * <p>Order: the annotation filter at {@code once.filter-order} (default -90), the URL-pattern
 * filter at the next, both after Spring Security's {@code WebFilterChainProxy} (-100), so the
 * authenticated principal (the exchange's) scopes the keys and a request Spring Security refuses
 * never claims one.
 */
@AutoConfiguration(after = OnceAutoConfiguration.class)
@ConditionalOnBooleanProperty(name = "once.enabled", matchIfMissing = true)
@ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.REACTIVE)
@ConditionalOnClass({OnceWebFilter.class, RequestMappingInfoHandlerMapping.class})
public final class OnceWebFluxAutoConfiguration {

  /** Created by Spring. */
  public OnceWebFluxAutoConfiguration() {}

  @Bean
  @Conditional(OnceAutoConfiguration.UrlPatternsCondition.class)
  UrlPatternWebFilter onceWebFilter(Once once, Environment environment) {
    OnceBinding binding = new OnceBinding(environment);
    return new UrlPatternWebFilter(new OnceWebFilter(once), binding.urlPatterns(),
        binding.filterOrder() + 1);
  }

  @Bean
  IdempotentWebFluxEndpoints onceIdempotentWebFluxEndpoints(Once once,
      ApplicationContext context) {
    return new IdempotentWebFluxEndpoints(once, context);
  }

  @Bean
  IdempotentWebFilter onceIdempotentWebFilter(IdempotentWebFluxEndpoints endpoints,
      Environment environment) {
    return new IdempotentWebFilter(endpoints, new OnceBinding(environment).filterOrder());
  }
}
