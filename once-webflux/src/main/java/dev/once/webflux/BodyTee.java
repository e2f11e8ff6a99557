package dev.once.webflux;

import dev.once.Completion;
import java.io.IOException;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jspecify.annotations.Nullable;
import org.reactivestreams.Publisher;
import org.reactivestreams.Subscriber;
import org.reactivestreams.Subscription;
import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.core.io.buffer.DataBufferUtils;
import reactor.core.CoreSubscriber;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Operators;
import reactor.util.context.Context;

/**
 * One body a keyed handler writes, passed on to the client buffer by buffer while each is copied,
 * and never lost when the client goes away.
 *
 * <p>Design. The tee stands between the handler's body (upstream) and the server's writer
 * (downstream), and is the only subscriber of the body. Three rules:
 *
 * <ul>
 *   <li>Each buffer is copied when it arrives and passed on as it is; the server releases it once
 *       written, and the tee never holds it.
 *   <li>The end of the body is reported to the exchange before the client can see it: before the
 *       buffer that completes a body of known length (a {@code Mono} body, or one that reaches the
 *       declared {@code Content-Length}) is passed on, and before the completion of any other body
 *       (the server sends a chunked body's end when it completes). Once the end is reported, the
 *       signals that follow are passed on in order when the record is finished; until then the
 *       one buffer concerned waits, not yet written.
 *   <li>When the writer cancels (the client hung up, the connection broke) the tee does not cancel
 *       the handler's body: it detaches, reads the rest itself, copies and releases each buffer,
 *       and reports the end, so the answer is stored for the client's retry. If the copy is over
 *       {@code maxResponseBytes} there is nothing to keep: the body is cancelled and the writer's
 *       failure reaches the handler as it would without the filter.
 * </ul>
 *
 * <p>Upstream signals are serialized by reactive streams; {@link #request}, {@link #cancel} and
 * the deferred signals may come from any thread. {@link #finished} completes when the body has
 * ended and its end is reported, or fails as the body or the detached client did.
 */
final class BodyTee implements Publisher<DataBuffer>, CoreSubscriber<DataBuffer>, Subscription {
  private final Publisher<? extends DataBuffer> source;
  private final CapturingResponse response;
  private final boolean single;
  private final AtomicBoolean subscribed = new AtomicBoolean();
  private final CompletableFuture<Void> finished = new CompletableFuture<>();
  private volatile @Nullable Subscriber<? super DataBuffer> downstream;
  private volatile @Nullable Subscription upstream;
  private volatile boolean detached;
  private volatile boolean terminated;
  private volatile @Nullable Throwable sourceError;
  /** Set once the end is reported: the signals after it, chained in order. Upstream's only. */
  private @Nullable CompletableFuture<Void> tail;

  /**
   * @param source the handler's body
   * @param response the keyed response it is written to
   * @param single true if the body is a {@code Mono}: its one buffer is the whole body
   */
  BodyTee(Publisher<? extends DataBuffer> source, CapturingResponse response, boolean single) {
    this.source = source;
    this.response = response;
    this.single = single;
  }

  @Override
  public void subscribe(Subscriber<? super DataBuffer> subscriber) {
    if (!subscribed.compareAndSet(false, true)) {
      Operators.error(subscriber, new IllegalStateException("a response body is written once"));
      return;
    }
    downstream = subscriber;
    source.subscribe(this);
  }

  @Override
  public Context currentContext() {
    Subscriber<? super DataBuffer> writer = downstream;
    return writer instanceof CoreSubscriber
        ? ((CoreSubscriber<?>) writer).currentContext()
        : Context.empty();
  }

  @Override
  public void onSubscribe(Subscription subscription) {
    upstream = subscription;
    Subscriber<? super DataBuffer> writer = downstream;
    if (writer == null || detached) {
      subscription.request(Long.MAX_VALUE);
    } else {
      writer.onSubscribe(this);
    }
  }

  @Override
  public void onNext(DataBuffer buffer) {
    response.copy(buffer);
    if (detached) {
      DataBufferUtils.release(buffer);
      stopIfNothingToKeep();
      return;
    }
    if (tail == null && (single || response.isWholeBody())) {
      tail = reportEnd();
    }
    emit(() -> {
      if (detached) {
        DataBufferUtils.release(buffer);
      } else {
        writer().onNext(buffer);
      }
    });
  }

  @Override
  public void onError(Throwable error) {
    terminated = true;
    sourceError = error;
    emit(() -> {
      if (!detached) {
        writer().onError(error);
      }
      finished.completeExceptionally(error);
    });
  }

  @Override
  public void onComplete() {
    terminated = true;
    if (tail == null) {
      tail = reportEnd();
    }
    emit(() -> {
      if (!detached) {
        writer().onComplete();
      }
      finished.complete(null);
    });
  }

  @Override
  public void request(long n) {
    if (!detached) {
      // the writer asks only after onSubscribe handed it this, once upstream was set
      Objects.requireNonNull(upstream, "the body's source has not subscribed").request(n);
    }
  }

  /** @return the writer: a body not detached was subscribed to by it */
  private Subscriber<? super DataBuffer> writer() {
    return Objects.requireNonNull(downstream, "a body not detached has a writer");
  }

  /** The writer stopped taking the body: the client is gone. */
  @Override
  public void cancel() {
    detach();
  }

  /**
   * @param error what the writer failed with
   * @return true if it is the handler's body's own failure, passed on by the writer
   */
  boolean isSourceError(Throwable error) {
    Throwable source = sourceError;
    return source != null && (error == source || error.getCause() == source);
  }

  /**
   * The writer failed while the body had not failed: the client is gone. The rest of the body is
   * read into the copy, unless the copy is over the limit.
   *
   * @return the failure to pass on to the handler, or an empty result when the answer is kept
   */
  Mono<Void> clientFailed(Throwable error) {
    detach();
    return response.isOverflowed() ? Mono.error(error) : Mono.empty();
  }

  /**
   * Reads the body to its end, and its end reported: by itself if nobody subscribed (the client
   * was gone before the handler wrote), or detached if the writer stopped before the end.
   *
   * @return completes when the body ended and its end is reported
   */
  Mono<Void> finished() {
    return Mono.defer(() -> {
      if (subscribed.compareAndSet(false, true)) {
        detached = true;
        source.subscribe(this);
      } else if (!terminated) {
        detach();
      }
      return Mono.fromFuture(finished, true);
    });
  }

  private void detach() {
    if (detached) {
      return;
    }
    detached = true;
    if (terminated) {
      // the body is whole and its end reported; a buffer still waiting for the record is released
      return;
    }
    response.clientGone();
    Subscription subscription = upstream;
    if (subscription != null && !stopIfNothingToKeep()) {
      subscription.request(Long.MAX_VALUE);
    }
  }

  /**
   * Detached and over the limit: there is no answer to keep, so the body is not read on. The
   * handler has answered, so the record is kept without the response (a retry is told so, never
   * run again) before the failure reaches the handler.
   */
  private boolean stopIfNothingToKeep() {
    if (!response.isOverflowed()) {
      return false;
    }
    Subscription subscription = upstream;
    if (subscription != null) {
      subscription.cancel();
    }
    IOException gone = new IOException("the client is gone and the response is too large to keep");
    response.answeredButNotKept(gone)
        .whenComplete((completion, error) -> finished.completeExceptionally(gone));
    return true;
  }

  private CompletableFuture<Void> reportEnd() {
    CompletionStage<Completion> recorded = response.bodyEnded();
    return recorded.toCompletableFuture().handle((completion, error) -> null);
  }

  /** Runs {@code signal} now, or after the signals already waiting for the record. */
  private void emit(Runnable signal) {
    if (tail == null) {
      signal.run();
    } else {
      tail = tail.handle((ignored, error) -> {
        signal.run();
        return null;
      });
    }
  }
}
