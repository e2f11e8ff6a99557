package dev.once;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;
import java.util.Objects;

/**
 * Decides whose key an {@code Idempotency-Key} is, so that one client can never be replayed
 * another's response: two requests share a record only if their scopes and their keys are equal.
 * Implementations must be thread-safe and fast (they run on every keyed request).
 */
@FunctionalInterface
public interface KeyScope {

  /**
   * The scope of a request.
   *
   * @param request the request
   * @return its scope; the empty string for the global scope, never null
   */
  String scopeOf(OnceRequest request);

  /**
   * The default: the authenticated principal's name when there is one, else the global scope.
   *
   * @return the scope
   */
  static KeyScope principal() {
    return request -> {
      String principal = request.principal();
      return principal == null ? "" : principal;
    };
  }

  /**
   * One scope for every request: any client may replay any response whose key it knows. Use it
   * only when keys are unguessable and clients trust each other.
   *
   * @return the scope
   */
  static KeyScope global() {
    return request -> "";
  }

  /**
   * Scopes by a hash of a request header's value (for example {@code Authorization}), for servers
   * that do not authenticate themselves, like a proxy. Requests without the header share the
   * global scope. The header value is hashed so no credential is ever stored.
   *
   * @param headerName the header, such as {@code Authorization}
   * @return the scope
   * @throws NullPointerException if {@code headerName} is null
   * @throws IllegalArgumentException if {@code headerName} is not a header name (an HTTP token),
   *     which no request could carry
   */
  static KeyScope headerHash(String headerName) {
    Objects.requireNonNull(headerName, "headerName");
    if (!Once.Builder.isToken(headerName)) {
      throw new IllegalArgumentException(
          "headerName must be a valid header name, but was \"" + headerName + "\"");
    }
    return request -> {
      List<String> values = request.headers(headerName);
      if (values.isEmpty()) {
        return "";
      }
      MessageDigest digest;
      try {
        digest = MessageDigest.getInstance("SHA-256");
      } catch (NoSuchAlgorithmException e) {
        throw new IllegalStateException(e);
      }
      for (String value : values) {
        digest.update(value.getBytes(StandardCharsets.UTF_8));
        digest.update((byte) '\n');
      }
      byte[] hash = digest.digest();
      StringBuilder scope = new StringBuilder("h:");
      for (int i = 0; i < 16; i++) {
        scope.append(Character.forDigit((hash[i] >> 4) & 0xF, 16))
            .append(Character.forDigit(hash[i] & 0xF, 16));
      }
      return scope.toString();
    };
  }
}
