package dev.once.spring;

import dev.once.webflux.OnceWebFilter;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.springframework.core.Ordered;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebFilter;
import org.springframework.web.server.WebFilterChain;
import org.springframework.web.util.UriUtils;
import reactor.core.publisher.Mono;

/**
 * The {@link OnceWebFilter} for {@code once.url-patterns} in a WebFlux application. The patterns
 * are the servlet ones, matched as a servlet container matches a filter's: an exact path
 * ({@code /payments}), a path prefix ({@code /payments/*}, which also matches {@code /payments}
 * itself), an extension ({@code *.json}), or {@code /*} for everything; against the request's
 * decoded path within the application. A request whose handler carries {@link Idempotent} was
 * answered by {@link IdempotentWebFilter} already and passes. Thread-safe.
 */
final class UrlPatternWebFilter implements WebFilter, Ordered {
  private final OnceWebFilter delegate;
  private final List<String> patterns;
  private final int order;

  UrlPatternWebFilter(OnceWebFilter delegate, List<String> patterns, int order) {
    this.delegate = delegate;
    this.patterns = List.copyOf(patterns);
    this.order = order;
  }

  @Override
  public Mono<Void> filter(ServerWebExchange exchange, WebFilterChain chain) {
    if (exchange.getAttribute(IdempotentWebFilter.HANDLED_ATTRIBUTE) != null
        || !covers(exchange.getRequest().getPath().pathWithinApplication().value())) {
      return chain.filter(exchange);
    }
    return delegate.filter(exchange, chain);
  }

  /** @return true if one of the patterns matches {@code rawPath} */
  boolean covers(String rawPath) {
    String path;
    try {
      path = UriUtils.decode(rawPath, StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      path = rawPath; // a malformed escape: matched as sent
    }
    for (String pattern : patterns) {
      if (matches(pattern, path)) {
        return true;
      }
    }
    return false;
  }

  /** The Servlet specification's filter mapping (12.2), as Tomcat and Jetty apply it. */
  static boolean matches(String pattern, String path) {
    if (pattern.equals(path) || pattern.equals("/*")) {
      return true;
    }
    if (pattern.endsWith("/*")) {
      int prefix = pattern.length() - 2;
      return path.regionMatches(0, pattern, 0, prefix)
          && (path.length() == prefix || path.charAt(prefix) == '/');
    }
    if (pattern.startsWith("*.")) {
      int slash = path.lastIndexOf('/');
      int period = path.lastIndexOf('.');
      return period > slash && path.substring(period + 1).equals(pattern.substring(2));
    }
    return false;
  }

  @Override
  public int getOrder() {
    return order;
  }

  @Override
  public String toString() {
    return "UrlPatternWebFilter" + patterns;
  }
}
