package dev.once.servlet;

import dev.once.Decision;
import dev.once.Once;
import dev.once.Problem;
import dev.once.ProblemType;
import jakarta.servlet.AsyncContext;
import jakarta.servlet.AsyncEvent;
import jakarta.servlet.AsyncListener;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BiConsumer;
import org.jspecify.annotations.Nullable;

/**
 * A duplicate parked in async mode while the request it duplicates is in flight: no thread waits
 * for it. When the engine's wait ends (the store's change signal, or {@code maxWait}) the answer,
 * a replay or a problem, is written from a container thread and the async cycle is completed. The
 * first of the engine's answer and the container's own end of the cycle (its safety timeout, an
 * error, the client gone) answers; the other does nothing.
 */
final class ParkedRequest implements AsyncListener, BiConsumer<Decision, Throwable> {
  private final AsyncContext async;
  private final Once once;
  private final AtomicBoolean answered = new AtomicBoolean();

  ParkedRequest(AsyncContext async, Once once) {
    this.async = async;
    this.once = once;
  }

  /** The engine's answer: written on a container thread, never on the store's. */
  @Override
  public void accept(Decision decision, Throwable error) {
    if (!answered.compareAndSet(false, true)) {
      return;
    }
    try {
      async.start(() -> answer(decision));
    } catch (IllegalStateException e) {
      // the cycle already ended (the client went away and the container completed it)
    }
  }

  private void answer(@Nullable Decision decision) {
    try {
      HttpServletResponse response = (HttpServletResponse) async.getResponse();
      if (decision != null) {
        OnceFilter.writeAnswer(response, decision);
      } else {
        ProblemResponse.write(response, Problem.of(ProblemType.REQUEST_IN_PROGRESS,
            "a request with this " + once.header() + " is still in progress; retry later")
            .withRetryAfter(1));
      }
    } catch (IOException | RuntimeException e) {
      // the client went away while it waited: there is nobody to answer
    } finally {
      complete();
    }
  }

  private void complete() {
    try {
      async.complete();
    } catch (IllegalStateException e) {
      // already completed by the container
    }
  }

  @Override
  public void onTimeout(AsyncEvent event) {
    // the engine bounds every wait; this only fires if it did not answer well after maxWait
    if (answered.compareAndSet(false, true)) {
      answer(null);
    }
  }

  @Override
  public void onError(AsyncEvent event) {
    if (answered.compareAndSet(false, true)) {
      complete();
    }
  }

  @Override
  public void onComplete(AsyncEvent event) {
    answered.set(true);
  }

  @Override
  public void onStartAsync(AsyncEvent event) {
    // the cycle is this class's own; it is never restarted
  }
}
