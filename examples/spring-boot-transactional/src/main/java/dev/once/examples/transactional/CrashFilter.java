package dev.once.examples.transactional;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.stereotype.Component;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * {@code X-Example-Crash: after-handler}: ends the process once the handler has returned and its
 * answer is written, but before the response is finished: this filter runs inside once's filter,
 * which completes the record (and, in the transactional mode, commits) only after it returns.
 */
@Component
@Order(Ordered.LOWEST_PRECEDENCE)
class CrashFilter extends OncePerRequestFilter {
  @Override
  protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response,
      FilterChain chain) throws ServletException, IOException {
    chain.doFilter(request, response);
    if ("after-handler".equals(request.getHeader("X-Example-Crash"))) {
      Runtime.getRuntime().halt(3);
    }
  }
}
