package dev.once.spring;

import java.util.Optional;
import org.springframework.core.Ordered;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebFilter;
import org.springframework.web.server.WebFilterChain;
import reactor.core.publisher.Mono;

/**
 * Applies {@link Idempotent} endpoints' settings in a WebFlux application: for a request whose
 * handler method carries the annotation, it runs that endpoint's {@code OnceWebFilter}; other
 * requests pass. Ahead of the URL-pattern filter, which leaves the requests it answered alone.
 * Thread-safe.
 */
final class IdempotentWebFilter implements WebFilter, Ordered {
  /** Set on an exchange this filter answered, so the URL-pattern filter leaves it alone. */
  static final String HANDLED_ATTRIBUTE = IdempotentWebFilter.class.getName() + ".handled";

  private final IdempotentWebFluxEndpoints endpoints;
  private final int order;

  IdempotentWebFilter(IdempotentWebFluxEndpoints endpoints, int order) {
    this.endpoints = endpoints;
    this.order = order;
  }

  @Override
  public Mono<Void> filter(ServerWebExchange exchange, WebFilterChain chain) {
    return endpoints.filterFor(exchange)
        .map(Optional::of)
        .defaultIfEmpty(Optional.empty())
        .flatMap(endpoint -> {
          if (endpoint.isEmpty()) {
            return chain.filter(exchange);
          }
          exchange.getAttributes().put(HANDLED_ATTRIBUTE, Boolean.TRUE);
          return endpoint.get().filter(exchange, chain);
        });
  }

  @Override
  public int getOrder() {
    return order;
  }
}
