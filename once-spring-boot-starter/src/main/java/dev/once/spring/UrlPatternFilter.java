package dev.once.spring;

import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import java.io.IOException;

/**
 * The filter mapped to {@code once.url-patterns}: applies the application's engine, except to a
 * request whose handler carries {@link Idempotent}, which {@link IdempotentHandlerFilter} has
 * answered with the endpoint's own settings already. Thread-safe.
 */
final class UrlPatternFilter implements Filter {
  private final Filter delegate;

  UrlPatternFilter(Filter delegate) {
    this.delegate = delegate;
  }

  @Override
  public void doFilter(ServletRequest request, ServletResponse response, FilterChain chain)
      throws IOException, ServletException {
    if (request.getAttribute(IdempotentHandlerFilter.HANDLED_ATTRIBUTE) != null) {
      chain.doFilter(request, response);
    } else {
      delegate.doFilter(request, response, chain);
    }
  }
}
