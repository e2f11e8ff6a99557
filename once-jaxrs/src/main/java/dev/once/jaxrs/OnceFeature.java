package dev.once.jaxrs;

import dev.once.Once;
import dev.once.jaxrs.internal.ParkedRequests;
import jakarta.ws.rs.Priorities;
import jakarta.ws.rs.core.Feature;
import jakarta.ws.rs.core.FeatureContext;
import java.util.Objects;
import java.util.concurrent.Executor;

/**
 * Idempotency keys for Jakarta REST 3.1 runtimes (tested on Jersey 3.1 and RESTEasy 6.2): registers
 * with a given {@link Once} the request filter that asks the engine what to do with each keyed
 * request, and the response filter and writer interceptor that capture the response as it is
 * written and report it to the engine, which stores it for replay.
 *
 * <p>For each request of a covered method that carries a key, the engine decides: run the resource
 * method once and store its response, replay the stored response with {@code Idempotent-Replayed:
 * true}, or answer an {@code application/problem+json} error (400, 409, 413, 422, 502, 503). Other
 * requests pass through untouched. Synchronous resource methods, {@code AsyncResponse} and {@code
 * CompletionStage} results are all captured when their entity is written.
 *
 * <p>Two ways to register it, one per application:
 *
 * <ul>
 *   <li>{@link #everyRequest(Once)}: a pre-matching filter in front of every resource, for the
 *       engine's methods ({@code POST} and {@code PATCH} by default);
 *   <li>{@link #annotated(Once)}: a filter bound by name to resource methods and classes marked
 *       {@link Idempotent}, for whatever HTTP method they answer; other resources are untouched.
 * </ul>
 *
 * <p>A duplicate of a request in flight that may wait ({@code maxWait}, or less if it sent {@code
 * Prefer: wait=N}) holds no thread where the runtime lets a filter suspend the request
 * (RESTEasy), and, in {@link #everyRequest} mode, on any runtime (Jersey included): the request is
 * routed to a resource of this feature that suspends it with an {@code AsyncResponse}. Only an
 * {@link #annotated} filter on a runtime that offers neither (Jersey) waits on its request thread.
 *
 * <p>Not supported: Quarkus REST (a keyed request was never answered in a trial on Quarkus 3.33,
 * likely because its request filters get the body by its own {@code readBody} filters, not by
 * {@code getEntityStream()}, which this feature reads); server-sent events ({@code
 * SseEventSink}), which are not captured.
 *
 * <pre>{@code
 * Once once = Once.builder(MemoryStore.create()).build();
 * ResourceConfig config = new ResourceConfig(Payments.class)   // Jersey
 *     .register(OnceFeature.everyRequest(once));
 * }</pre>
 *
 * <p>Immutable and thread-safe.
 */
public final class OnceFeature implements Feature {
  /**
   * The priority of the request filters: after authentication and authorization filters, so a
   * principal they set scopes the key, and before the application's own filters.
   */
  public static final int REQUEST_PRIORITY = Priorities.AUTHORIZATION + 500;

  /**
   * The priority of the response filter and the writer interceptor: the response filter runs after
   * the application's (it sees the headers as they will be sent), and the interceptor is the
   * outermost one, capturing the bytes as they go to the client (after any encoding interceptor).
   */
  public static final int RESPONSE_PRIORITY = Priorities.AUTHENTICATION - 500;

  private static final String JERSEY = "org.glassfish.jersey.";
  private static final String JERSEY_LOCATION_AS_SET =
      "jersey.config.server.headers.location.relative.resolution.disabled";

  private final Once once;
  private final boolean everyRequest;
  private final Executor executor;

  private OnceFeature(Once once, boolean everyRequest, Executor executor) {
    this.once = Objects.requireNonNull(once, "once");
    this.everyRequest = everyRequest;
    this.executor = Objects.requireNonNull(executor, "executor");
  }

  /**
   * In front of every resource: each request of the engine's methods with a key is handled by the
   * engine, before it is matched to a resource method.
   *
   * @param once the engine and its configuration
   * @return the feature to register
   * @throws NullPointerException if {@code once} is null
   */
  public static OnceFeature everyRequest(Once once) {
    return new OnceFeature(once, true, Answering.shared());
  }

  /**
   * Only for resource methods and classes marked {@link Idempotent}: each request to one that
   * carries a key is handled by the engine, whatever its HTTP method.
   *
   * @param once the engine and its configuration
   * @return the feature to register
   * @throws NullPointerException if {@code once} is null
   */
  public static OnceFeature annotated(Once once) {
    return new OnceFeature(once, false, Answering.shared());
  }

  /**
   * This feature, answering waiting duplicates on {@code executor}. When the request a duplicate
   * waits for finishes, the thread that finished it would otherwise write every waiter's answer;
   * the default is a small pool of daemon threads shared by every feature in the JVM.
   *
   * @param executor where waiting duplicates are answered
   * @return a new feature
   * @throws NullPointerException if {@code executor} is null
   */
  public OnceFeature answeringOn(Executor executor) {
    return new OnceFeature(once, everyRequest, executor);
  }

  /** @return the engine */
  public Once once() {
    return once;
  }

  /** @return true if it covers every request, false if only {@link Idempotent} resources */
  public boolean coversEveryRequest() {
    return everyRequest;
  }

  @Override
  public boolean configure(FeatureContext context) {
    Parking parking = new Parking();
    Gate gate = new Gate(once, !everyRequest, executor, everyRequest ? parking : null);
    if (everyRequest) {
      context.register(new EveryRequestFilter(gate), REQUEST_PRIORITY);
      context.register(new ParkedRequests(parking.waiting()));
    } else {
      context.register(new IdempotentFilter(gate), REQUEST_PRIORITY);
    }
    ResponseStage responses = new ResponseStage(parking);
    context.register(responses, RESPONSE_PRIORITY);
    Object jerseyFailures = context.getClass().getName().startsWith(JERSEY)
        ? JerseyFailures.listener(context.getClass().getClassLoader(), responses::providers)
        : null;
    if (jerseyFailures != null) {
      context.register(jerseyFailures);
      // a replay carries the Location it stored, as stored: Jersey would make a relative one
      // absolute against the base URI of the request it answers, so it is told not to, for every
      // response (RFC 9110 allows a relative Location)
      context.property(JERSEY_LOCATION_AS_SET, true);
    }
    return true;
  }

  @Override
  public String toString() {
    return "OnceFeature{" + (everyRequest ? "every request" : "@Idempotent resources") + ", "
        + once + "}";
  }
}
