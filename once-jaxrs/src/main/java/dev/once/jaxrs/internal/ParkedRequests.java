package dev.once.jaxrs.internal;

import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.container.AsyncResponse;
import jakarta.ws.rs.container.Suspended;
import jakarta.ws.rs.core.Response;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * The resource a waiting duplicate is routed to when the runtime cannot suspend a request in a
 * filter (Jersey): the pre-matching filter parks the duplicate under an unguessable id and rewrites
 * its URI to this resource, which suspends it with an {@code AsyncResponse}, so the wait holds no
 * thread. Registered by {@code OnceFeature.everyRequest}; not an API. A request that reaches it
 * with an id nobody parked (a client that sent the path itself) is answered 404.
 */
@Path(ParkedRequests.PATH)
public final class ParkedRequests {
  /** The path, under the application's base URI, that parked requests are routed to. */
  public static final String PATH = "once-parked-request";

  private final Map<String, Consumer<AsyncResponse>> waiting;

  /**
   * @param waiting the parked requests by id; each is removed and given the suspended response
   */
  public ParkedRequests(Map<String, Consumer<AsyncResponse>> waiting) {
    this.waiting = Objects.requireNonNull(waiting, "waiting");
  }

  /**
   * Suspends a parked request until its wait ends.
   *
   * @param id the id it was parked under
   * @param response the suspended response, resumed with the answer
   */
  @GET
  @Path("{id}")
  public void resume(@PathParam("id") String id, @Suspended AsyncResponse response) {
    Consumer<AsyncResponse> parked = waiting.remove(id);
    if (parked == null) {
      response.resume(Response.status(Response.Status.NOT_FOUND).build());
      return;
    }
    parked.accept(response);
  }
}
