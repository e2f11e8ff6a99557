package dev.once.benchmarks;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;

/**
 * The seed's benchmark handler: answers 200 with {@code {"status":"created"}}. Stateless and
 * thread-safe.
 */
final class CreatedHandler implements FilterChain {
  static final CreatedHandler INSTANCE = new CreatedHandler();

  private CreatedHandler() {}

  @Override
  public void doFilter(ServletRequest request, ServletResponse response) throws IOException {
    HttpServletResponse http = (HttpServletResponse) response;
    http.setStatus(HttpServletResponse.SC_OK);
    http.setContentType("application/json");
    http.getOutputStream().write(Fixtures.CREATED_BODY);
  }
}
