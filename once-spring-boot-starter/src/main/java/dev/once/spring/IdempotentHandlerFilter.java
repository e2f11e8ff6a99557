package dev.once.spring;

import dev.once.servlet.OnceFilter;
import jakarta.servlet.DispatcherType;
import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServletRequest;
import java.io.IOException;

/**
 * Applies {@link Idempotent} endpoints' settings: for a request whose handler carries the
 * annotation, it runs that endpoint's {@link OnceFilter}; other requests pass. Mapped to every
 * URL, for the {@code REQUEST} dispatch only, ahead of the URL-pattern filter. Thread-safe.
 */
final class IdempotentHandlerFilter implements Filter {
  /** Set on a request this filter answered, so the URL-pattern filter leaves it alone. */
  static final String HANDLED_ATTRIBUTE = IdempotentHandlerFilter.class.getName() + ".handled";

  private final IdempotentEndpoints endpoints;

  IdempotentHandlerFilter(IdempotentEndpoints endpoints) {
    this.endpoints = endpoints;
  }

  @Override
  public void doFilter(ServletRequest request, ServletResponse response, FilterChain chain)
      throws IOException, ServletException {
    OnceFilter endpoint = request instanceof HttpServletRequest
        && request.getDispatcherType() == DispatcherType.REQUEST
        ? endpoints.filterFor((HttpServletRequest) request)
        : null;
    if (endpoint == null) {
      chain.doFilter(request, response);
      return;
    }
    request.setAttribute(HANDLED_ATTRIBUTE, Boolean.TRUE);
    endpoint.doFilter(request, response, chain);
  }
}
