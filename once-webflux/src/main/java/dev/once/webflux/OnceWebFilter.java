package dev.once.webflux;

import dev.once.Decision;
import dev.once.Exchange;
import dev.once.Once;
import dev.once.Problem;
import dev.once.ProblemType;
import java.security.Principal;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicBoolean;
import org.springframework.http.server.reactive.ServerHttpRequest;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebFilter;
import org.springframework.web.server.WebFilterChain;
import reactor.core.publisher.Mono;

/**
 * Idempotency keys for Spring WebFlux (Reactor Netty, or any server WebFlux runs on), non-blocking
 * end to end.
 *
 * <p>For each request of a covered method that carries a key, the filter reads the body (up to
 * {@code maxBodyBytes}, within {@code bodyTimeout}, as {@code DataBuffer}s joined and released,
 * holding no thread; a body not there by the deadline gets 408 and takes no key) and asks
 * the engine with {@link Once#decideAsync}, whose store calls are the store's asynchronous ones:
 * run the rest of the chain once and store its response, replay the stored response with {@code
 * Idempotent-Replayed: true}, or answer an {@code application/problem+json} error (400, 408, 409,
 * 413, 422, 502, 503). Other requests pass through untouched, their bodies unread.
 *
 * <p>The filter decides nothing about a record's end: it reports what happens to the request to
 * the engine's {@link Exchange}, which finishes the record. The response is copied from the {@code
 * DataBuffer}s as they are written, and its end is reported before the client can see it (before
 * the buffer that completes a body of known length, before the completion of a chunked one, before
 * a response without a body is sent), so a client that retries the moment it has the whole
 * response gets the replay, never a 409. A handler that fails releases the key (before anything was
 * sent) or keeps the record without a response (after a cacheable status was sent). A client that
 * hangs up changes nothing: the handler's work is not cancelled, its body is read on without a
 * client, and its whole answer is stored for the retry.
 *
 * <p>A duplicate told to wait ({@code maxWait}, or less if it sent {@code Prefer: wait=N}) is a
 * pending {@code Mono} woken by the store's change signal: hundreds of them hold no thread.
 *
 * <p>The handler sees the body the filter read, and {@code getFormData()} and {@code
 * getMultipartData()} are parsed from it. Thread-safe: one instance serves all requests.
 *
 * <pre>{@code
 * Once once = Once.builder(MemoryStore.create()).ttl(Duration.ofHours(1)).build();
 * HttpHandler handler = WebHttpHandlerBuilder.webHandler(webHandler)
 *     .filter(new OnceWebFilter(once))
 *     .build();
 * }</pre>
 */
public final class OnceWebFilter implements WebFilter {
  private final Once once;

  /**
   * A filter applying {@code once}.
   *
   * @param once the engine and its configuration
   * @throws NullPointerException if {@code once} is null
   */
  public OnceWebFilter(Once once) {
    this.once = Objects.requireNonNull(once, "once");
  }

  /** @return the engine this filter applies */
  public Once once() {
    return once;
  }

  @Override
  public Mono<Void> filter(ServerWebExchange exchange, WebFilterChain chain) {
    ServerHttpRequest request = exchange.getRequest();
    if (!once.appliesTo(request.getMethod().name())) {
      return chain.filter(exchange);
    }
    boolean keyed = request.getHeaders().containsHeader(once.header());
    if (!keyed && !once.requireKey()) {
      return chain.filter(exchange);
    }
    // a key the engine refuses (malformed, sent twice) is answered without reading the body
    boolean readBody = once.readsBody(KeyedRequest.unread(request, null));
    return exchange.<Principal>getPrincipal()
        .map(principal -> principal.getName() == null ? "" : principal.getName())
        .defaultIfEmpty("")
        .flatMap(name -> {
          String principal = name.isEmpty() ? null : name;
          return readBody
              ? KeyedRequest.read(request, once.maxBodyBytes(), once.bodyTimeout(), principal,
                  exchange.getResponse().bufferFactory())
              : Mono.just(KeyedRequest.unread(request, principal));
        })
        .flatMap(keyedRequest -> decide(exchange, chain, keyedRequest));
  }

  private Mono<Void> decide(ServerWebExchange exchange, WebFilterChain chain,
      KeyedRequest request) {
    // the body is in memory: deciding blocks on nothing
    CompletionStage<Decision> stage = once.decideAsync(request);
    AtomicBoolean taken = new AtomicBoolean();
    // decideAsync fails only when the body could not be read
    return Mono.fromCompletionStage(
            stage.handle((decision, error) -> Optional.ofNullable(decision)))
        .flatMap(decision -> {
          if (!taken.compareAndSet(false, true)) {
            return Mono.empty();
          }
          return decision.isPresent()
              ? act(decision.get(), exchange, chain, request)
              : Responses.problem(exchange.getResponse(), Problem.of(ProblemType.BODY_UNREADABLE,
                  "the request body could not be read to the end"));
        })
        .doOnCancel(() -> {
          // the client left before the decision came: a key claimed for it is let go at once
          if (taken.compareAndSet(false, true)) {
            stage.thenAccept(OnceWebFilter::abandon);
          }
        });
  }

  private Mono<Void> act(Decision decision, ServerWebExchange exchange, WebFilterChain chain,
      KeyedRequest request) {
    if (decision instanceof Decision.Execute execute) {
      return execute(exchange, chain, request, execute.exchange());
    }
    if (decision instanceof Decision.Replay replay) {
      return Responses.replay(exchange.getResponse(), replay.response());
    }
    if (decision instanceof Decision.Reject reject) {
      return Responses.problem(exchange.getResponse(), reject.problem());
    }
    if (decision instanceof Decision.Wait wait) {
      // decideAsync never asks to wait; an engine that did is waited for without a thread
      return Mono.fromCompletionStage(wait.next())
          .flatMap(next -> act(next, exchange, chain, request));
    }
    return chain.filter(request.isBodyRead()
        ? new KeyedExchange(exchange, request, exchange.getResponse())
        : exchange);
  }

  /**
   * Runs the rest of the chain once, reporting its events to the exchange. The work is not
   * cancelled when the client goes away: it goes on in a subscription of its own (with the
   * request's context), so its answer is kept for the retry.
   */
  private Mono<Void> execute(ServerWebExchange exchange, WebFilterChain chain,
      KeyedRequest request, Exchange onceExchange) {
    CapturingResponse response =
        new CapturingResponse(exchange.getResponse(), once.maxResponseBytes(), onceExchange);
    Mono<Void> work = chain.filter(new KeyedExchange(exchange, request, response))
        .then(Mono.defer(() -> Mono.fromCompletionStage(response.handlerReturned())))
        .onErrorResume(error -> Mono.fromCompletionStage(response.failed(error))
            .then(Mono.error(error)))
        .then();
    return Mono.deferContextual(context -> {
      // a failure is passed on as a value: after the client left, nobody takes it
      CompletableFuture<Throwable> outcome =
          work.contextWrite(context).toFuture().handle((ignored, error) -> error);
      return Mono.fromFuture(outcome, true);
    }).flatMap(Mono::<Void>error).doOnCancel(response::clientGone);
  }

  /** A decision nobody will act on: the client left while it was made. */
  private static void abandon(Decision decision) {
    if (decision instanceof Decision.Execute execute) {
      execute.exchange().failedBeforeCommit(null);
    }
  }

  @Override
  public String toString() {
    return "OnceWebFilter{" + once + "}";
  }
}
