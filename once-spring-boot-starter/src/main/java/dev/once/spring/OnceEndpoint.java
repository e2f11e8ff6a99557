package dev.once.spring;

import dev.once.Once;
import dev.once.adapter.AdminRequests;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.actuate.endpoint.Access;
import org.springframework.boot.actuate.endpoint.annotation.DeleteOperation;
import org.springframework.boot.actuate.endpoint.annotation.Endpoint;
import org.springframework.boot.actuate.endpoint.annotation.ReadOperation;
import org.springframework.boot.actuate.endpoint.annotation.Selector;
import org.springframework.boot.actuate.endpoint.web.WebEndpointResponse;
import org.springframework.util.MimeType;

/**
 * The actuator endpoint {@code once}: the admin API of the application's idempotency records.
 * {@code GET /actuator/once/{key}?scope=} describes the record of a client's key (state, created,
 * expires, lease left, status, stored bytes, replayable; never the response's body or headers),
 * or answers 404; {@code DELETE /actuator/once/{key}?scope=&force=} deletes it (204), answering
 * 404 when there is none and 409 when it is in progress and not forced. A bad key is a 400
 * problem. The scope is the one the application's {@code KeyScope} gives a request (the
 * principal's name by default), empty for the global scope.
 *
 * <p>Off by default, like every endpoint that can change state: its access is {@link Access#NONE}
 * until {@code management.endpoint.once.access=unrestricted} (or {@code read-only}, for {@code
 * GET} alone), and it is served over HTTP only once exposed ({@code
 * management.endpoints.web.exposure.include=once}). Secure it as any actuator endpoint.
 */
@Endpoint(id = "once", defaultAccess = Access.NONE)
public final class OnceEndpoint {
  private static final MimeType JSON = MimeType.valueOf("application/json");

  private final Once once;

  /** @param once the engine whose store holds the records */
  public OnceEndpoint(Once once) {
    this.once = once;
  }

  /**
   * @param key the key as a client sends it
   * @param scope the key's scope; absent or empty for the global scope
   * @return 200 with the record's fields, or a problem
   */
  @ReadOperation
  public WebEndpointResponse<Object> record(@Selector String key, @Nullable String scope) {
    return response(AdminRequests.inspect(once, scope, key));
  }

  /**
   * @param key the key as a client sends it
   * @param scope the key's scope; absent or empty for the global scope
   * @param force true to delete an in-progress record too (its request may still be running: a
   *     retry may then run beside it, and a warning is logged)
   * @return 204, or a problem
   */
  @DeleteOperation
  public WebEndpointResponse<Object> delete(
      @Selector String key, @Nullable String scope, @Nullable Boolean force) {
    return response(AdminRequests.delete(once, scope, key, Boolean.TRUE.equals(force)));
  }

  private static WebEndpointResponse<Object> response(AdminRequests.Answer answer) {
    if (answer.problem() != null) {
      return new WebEndpointResponse<>(answer.problem().toJson(), answer.status(),
          MimeType.valueOf(dev.once.Problem.CONTENT_TYPE));
    }
    if (answer.record() != null) {
      return new WebEndpointResponse<>(answer.record(), answer.status(), JSON);
    }
    return new WebEndpointResponse<>(answer.status());
  }
}
