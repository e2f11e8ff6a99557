package dev.once.spring;

import dev.once.KeyScope;
import dev.once.OnceRequest;
import org.springframework.security.authentication.AuthenticationTrustResolver;
import org.springframework.security.authentication.AuthenticationTrustResolverImpl;
import org.springframework.security.core.Authentication;
import org.springframework.security.core.context.SecurityContextHolder;

/**
 * Scopes keys by Spring Security's authenticated principal: the name of the {@link Authentication}
 * in the {@link SecurityContextHolder}, so one user can never be replayed another's response. An
 * anonymous or unauthenticated request falls back to the servlet principal, and then to the
 * global scope.
 *
 * <p>The security context is filled by Spring Security's filter chain, so the filter must run
 * after it (the starter's default order does); run before it, every request looks anonymous. Used
 * only when Spring Security is on the class path. Thread-safe.
 */
final class SecurityContextKeyScope implements KeyScope {
  private final AuthenticationTrustResolver trustResolver = new AuthenticationTrustResolverImpl();

  @Override
  public String scopeOf(OnceRequest request) {
    Authentication authentication = SecurityContextHolder.getContext().getAuthentication();
    if (authentication != null
        && authentication.isAuthenticated()
        && !trustResolver.isAnonymous(authentication)) {
      String name = authentication.getName();
      if (name != null && !name.isEmpty()) {
        return name;
      }
    }
    String principal = request.principal();
    return principal == null ? "" : principal;
  }

  @Override
  public String toString() {
    return "SecurityContextKeyScope";
  }
}
