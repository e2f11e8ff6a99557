package dev.once.jaxrs;

import dev.once.Decision;
import dev.once.Once;
import dev.once.Problem;
import dev.once.ProblemType;
import dev.once.jaxrs.internal.ParkedRequests;
import jakarta.ws.rs.HttpMethod;
import jakarta.ws.rs.container.AsyncResponse;
import jakarta.ws.rs.container.ContainerRequestContext;
import java.io.IOException;
import java.net.URI;
import java.util.LinkedHashSet;
import java.util.Locale;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.Executor;
import org.jspecify.annotations.Nullable;

/**
 * What both request filters do with a request: ask the engine, then run the resource (keeping the
 * exchange for the response stage), answer with a replay or a problem, or park a duplicate that
 * waits for the request in flight.
 *
 * <p>How a waiting duplicate is parked, in order of preference: suspended in the filter, where the
 * runtime allows it ({@link Suspension}: RESTEasy), answered later with {@code abortWith};
 * routed, when the filter is pre-matching, to {@link ParkedRequests}, which suspends it
 * with an {@code AsyncResponse} (any runtime, Jersey included); else, only for a post-matching
 * filter on a runtime with neither, waited for on the request thread. The first two hold no thread
 * while the duplicate waits; its answer is written on the answering executor.
 */
final class Gate {
  /** The request property holding the {@link KeyedResponse} of a request the engine let run. */
  static final String KEYED = "dev.once.jaxrs.keyed";
  /** The request property holding the {@link Answer} the adapter answers a request with. */
  static final String ANSWER = "dev.once.jaxrs.answer";
  /** The request property holding the id a duplicate was parked under. */
  static final String PARKED = "dev.once.jaxrs.parked";

  private final Once once;
  private final boolean anyMethod;
  private final Executor executor;
  private final @Nullable Parking parking;
  private final ConcurrentMap<String, Once> byMethod = new ConcurrentHashMap<>();

  /**
   * @param anyMethod true to key requests of any method (an {@link Idempotent} resource), false
   *     for the engine's methods only
   * @param parking where pre-matching duplicates are parked, or null if nothing serves them
   */
  Gate(Once once, boolean anyMethod, Executor executor, @Nullable Parking parking) {
    this.once = once;
    this.anyMethod = anyMethod;
    this.executor = executor;
    this.parking = parking;
  }

  void filter(ContainerRequestContext context, boolean preMatching) throws IOException {
    if (context.getProperty(KEYED) != null || context.getProperty(ANSWER) != null
        || context.getProperty(PARKED) != null) {
      return; // decided already, by the other filter of a second registration
    }
    Once engine = engineFor(context.getMethod());
    if (engine == null) {
      return;
    }
    JaxrsRequest request = new JaxrsRequest(context, engine);
    Decision decision;
    try {
      decision = engine.decide(request);
    } catch (IOException e) {
      answer(context, Answer.problem(Problem.of(ProblemType.BODY_UNREADABLE,
          "the request body could not be read to the end")));
      return;
    }
    if (decision instanceof Decision.Execute execute) {
      context.setProperty(KEYED, new KeyedResponse(execute.exchange(), engine.maxResponseBytes()));
    } else if (decision instanceof Decision.Replay replay) {
      answer(context, Answer.replay(replay.response()));
    } else if (decision instanceof Decision.Reject reject) {
      answer(context, Answer.problem(reject.problem()));
    } else if (decision instanceof Decision.Wait wait) {
      park(context, wait.next(), preMatching);
    }
  }

  /**
   * @return the engine for requests of this method, or null if they are not keyed: the engine
   *     itself, or for an {@link Idempotent} resource answering a method the engine does not list,
   *     the engine with that method added
   */
  private @Nullable Once engineFor(@Nullable String method) {
    if (method == null) {
      return null;
    }
    if (once.appliesTo(method)) {
      return once;
    }
    if (!anyMethod) {
      return null;
    }
    return byMethod.computeIfAbsent(method.toUpperCase(Locale.ROOT), upper -> {
      Set<String> methods = new LinkedHashSet<>(once.methods());
      methods.add(upper);
      return once.toBuilder().methods(methods).build();
    });
  }

  private void park(ContainerRequestContext context, CompletionStage<Decision> next,
      boolean preMatching) {
    if (Suspension.suspend(context)) {
      next.whenCompleteAsync((decision, error) -> {
        Answer answer = answerTo(decision);
        context.setProperty(ANSWER, answer);
        try {
          context.abortWith(answer.toResponse());
        } catch (RuntimeException e) {
          // the request ended while it waited (the client went away): nobody to answer
        }
      }, executor);
      return;
    }
    if (preMatching && parking != null) {
      String id = UUID.randomUUID().toString();
      parking.park(id, (AsyncResponse suspended) ->
          next.whenCompleteAsync((decision, error) -> {
            Answer answer = answerTo(decision);
            context.setProperty(ANSWER, answer);
            suspended.resume(answer.toResponse());
          }, executor));
      context.setProperty(PARKED, id);
      URI base = context.getUriInfo().getBaseUri();
      String root = base.toString().endsWith("/") ? base.toString() : base + "/";
      context.setRequestUri(base, URI.create(root + ParkedRequests.PATH + "/" + id));
      context.setMethod(HttpMethod.GET);
      return;
    }
    // a post-matching filter on a runtime that cannot suspend one: the wait holds this thread
    answer(context, answerTo(next.toCompletableFuture().join()));
  }

  private Answer answerTo(Decision decision) {
    if (decision instanceof Decision.Replay replay) {
      return Answer.replay(replay.response());
    }
    return Answer.problem(decision instanceof Decision.Reject reject
        ? reject.problem()
        : Problem.of(ProblemType.REQUEST_IN_PROGRESS, "a request with this " + once.header()
            + " is still in progress; retry later").withRetryAfter(1));
  }

  private static void answer(ContainerRequestContext context, Answer answer) {
    context.setProperty(ANSWER, answer);
    context.abortWith(answer.toResponse());
  }
}
