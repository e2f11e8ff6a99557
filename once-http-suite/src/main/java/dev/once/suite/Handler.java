package dev.once.suite;

import java.util.concurrent.CompletionStage;

/**
 * What the suite's server does at one path, behind {@code once}: the suite's own code (it counts
 * its runs, waits on the suite's latches, throws, answers binary bodies), in one of two shapes that
 * every adapter serves natively. The adapter reads the request's body whole into a {@link
 * Request}, calls the handler, and writes its {@link Reply}; it never looks at what the handler
 * does, so every adapter runs the same behaviour.
 *
 * <ul>
 *   <li>{@link Blocking}: called on a thread that may block (a servlet's request thread, a JAX-RS
 *       resource method, a WebFlux handler's {@code Mono.fromCallable(...)} subscribed on a
 *       worker scheduler, never on an event loop). It may wait on a latch, or throw: a handler
 *       that throws is answered as the framework answers an unhandled exception (500).
 *   <li>{@link Async}: returns at once with a stage completed later on another thread; the adapter
 *       answers when the stage completes, holding no thread meanwhile (a servlet's {@code
 *       startAsync}, a WebFlux {@code Mono.fromCompletionStage}, a JAX-RS {@code
 *       CompletionStage<Response>} or {@code AsyncResponse}). A stage that fails is answered 500.
 * </ul>
 */
public sealed interface Handler {

  /** A handler that answers on the calling thread and may block it. */
  @FunctionalInterface
  non-sealed interface Blocking extends Handler {
    /**
     * @param request the request, body read
     * @return the reply to write
     * @throws Exception any failure: the adapter lets it reach its framework, which answers 500
     */
    Reply handle(Request request) throws Exception;
  }

  /** A handler that answers later, on another thread. */
  @FunctionalInterface
  non-sealed interface Async extends Handler {
    /**
     * @param request the request, body read
     * @return the reply, when it is ready; a failed stage is answered 500
     */
    CompletionStage<Reply> handle(Request request);
  }
}
