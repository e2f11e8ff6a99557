package dev.once.servlet;

import dev.once.Once;
import dev.once.RequestBodyTimeoutException;
import dev.once.RequestTooLargeException;
import jakarta.servlet.AsyncContext;
import jakarta.servlet.AsyncEvent;
import jakarta.servlet.AsyncListener;
import jakarta.servlet.ReadListener;
import jakarta.servlet.ServletInputStream;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletRequestWrapper;
import jakarta.servlet.http.Part;
import java.io.BufferedReader;
import java.io.IOException;
import java.time.Duration;
import java.util.Arrays;
import java.util.Collection;
import java.util.Enumeration;
import java.util.Map;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jspecify.annotations.Nullable;

/**
 * Reads a keyed request's body with the Servlet API's non-blocking reads, before anything is
 * claimed, so a client that sends its body slowly holds no thread: the request is put in async
 * mode, the container calls {@link #onDataAvailable} as bytes arrive, and no thread waits in
 * between. The read ends one of four ways, whichever comes first, and only that one counts:
 *
 * <ul>
 *   <li>the whole body arrived ({@link #onAllDataRead}): its bytes;
 *   <li>it went past {@code maxBodyBytes}: {@link RequestTooLargeException};
 *   <li>{@code bodyTimeout} passed (a timer on the engine's scheduler), or the container's idle
 *       timeout ended a read: {@link RequestBodyTimeoutException};
 *   <li>the read failed (the client hung up, the framing broke): its {@link IOException}.
 * </ul>
 *
 * <p>The outcome is put in a request attribute and the request is dispatched again ({@link
 * AsyncContext#dispatch()}): the filter takes it up in that {@code ASYNC} dispatch, where the
 * engine decides as it would have with a blocking read (the body's bytes, 413, 408 or 400), and
 * the rest of the chain runs on that container thread. The bytes are only touched by the
 * container's read callbacks, which it never runs two at a time for one request; the timer only
 * claims the end ({@link #finished}) and dispatches.
 */
final class BodyReader implements ReadListener, AsyncListener {
  /** The request attribute that carries the outcome into the {@code ASYNC} dispatch. */
  static final String OUTCOME_ATTRIBUTE = BodyReader.class.getName() + ".outcome";

  /** The container's own end of the reading cycle, a net behind the timer: this much later. */
  private static final Duration SAFETY_MARGIN = Duration.ofSeconds(30);

  private final AsyncContext async;
  private final ServletInputStream in;
  private final long maxBytes;
  private final Duration timeout;
  private final AtomicBoolean finished = new AtomicBoolean();
  private byte[] buffer;
  private int count;
  private volatile @Nullable Future<?> timer;

  private BodyReader(AsyncContext async, ServletInputStream in, long maxBytes, Duration timeout,
      long declared) {
    this.async = async;
    this.in = in;
    this.maxBytes = maxBytes;
    this.timeout = timeout;
    // sized by Content-Length when declared, trusted only up to 64 KiB before the bytes arrive
    this.buffer = new byte[(int) (declared >= 0 ? Math.min(declared, 64 * 1024) : 1024)];
  }

  /**
   * Puts the request in async mode and starts reading its body; returns at once. The filter is
   * called again, in an {@code ASYNC} dispatch, when the read has ended.
   *
   * @throws IOException if the request's input cannot be had
   */
  static void start(HttpServletRequest request, ServletResponse response, Once engine)
      throws IOException {
    AsyncContext async = request.startAsync(new Undecided(request), response);
    long safety = saturatedMillis(engine.bodyTimeout().plus(SAFETY_MARGIN));
    async.setTimeout(safety);
    BodyReader reader = new BodyReader(async, request.getInputStream(), engine.maxBodyBytes(),
        engine.bodyTimeout(), request.getContentLengthLong());
    async.addListener(reader);
    try {
      reader.timer = engine.scheduler().schedule(reader::deadlinePassed,
          engine.bodyTimeout().toNanos(), TimeUnit.NANOSECONDS);
    } catch (RejectedExecutionException e) {
      // the scheduler was shut down: the container's end of the cycle bounds the read instead
    }
    reader.in.setReadListener(reader);
  }

  /**
   * @param request the request of an {@code ASYNC} dispatch
   * @return the request the filter goes on with: the one it was given, unwrapped from {@link
   *     Undecided}
   */
  static ServletRequest decided(ServletRequest request) {
    return request instanceof Undecided ? ((Undecided) request).getRequest() : request;
  }

  /**
   * @param request the request of an {@code ASYNC} dispatch
   * @return the outcome of the read this class made (a {@code byte[]} or an exception), taken off
   *     the request, or null if the dispatch is not this class's
   */
  static Object takeOutcome(ServletRequest request) {
    Object outcome = request.getAttribute(OUTCOME_ATTRIBUTE);
    if (outcome != null) {
      request.removeAttribute(OUTCOME_ATTRIBUTE);
    }
    return outcome;
  }

  @Override
  public void onDataAvailable() throws IOException {
    while (!finished.get() && in.isReady()) {
      if (count == buffer.length) {
        if (count >= maxBytes + 1L) {
          finish(new RequestTooLargeException(maxBytes));
          return;
        }
        buffer = Arrays.copyOf(buffer,
            (int) Math.max(count + 1L, Math.min(2L * count + 1024, maxBytes + 1)));
      }
      int n = in.read(buffer, count, buffer.length - count);
      if (n < 0) {
        return; // the end: onAllDataRead follows
      }
      count += n;
      if (count > maxBytes) {
        finish(new RequestTooLargeException(maxBytes));
        return;
      }
    }
  }

  @Override
  public void onAllDataRead() {
    finish(count == buffer.length ? buffer : Arrays.copyOf(buffer, count));
  }

  @Override
  public void onError(Throwable failure) {
    finish(outcomeOf(failure));
  }

  private void deadlinePassed() {
    finish(new RequestBodyTimeoutException(timeout));
  }

  @Override
  public void onTimeout(AsyncEvent event) {
    finish(new RequestBodyTimeoutException(timeout));
  }

  @Override
  public void onError(AsyncEvent event) {
    finish(outcomeOf(event.getThrowable()));
  }

  @Override
  public void onComplete(AsyncEvent event) {
    // the cycle ended after the dispatch this reader asked for
  }

  @Override
  public void onStartAsync(AsyncEvent event) {
    // a later cycle (the handler's) is not this reader's
  }

  private Object outcomeOf(Throwable failure) {
    if (OnceServletRequest.isTimeout(failure)) {
      // the container's idle timeout ended a read: the client is too slow, as at the deadline
      return new RequestBodyTimeoutException(timeout);
    }
    return failure instanceof IOException
        ? failure
        : new IOException("the request body could not be read", failure);
  }

  /** Ends the read with {@code outcome} if nothing ended it before, and dispatches the request. */
  private void finish(Object outcome) {
    if (!finished.compareAndSet(false, true)) {
      return;
    }
    Future<?> pending = timer;
    if (pending != null) {
      pending.cancel(false);
    }
    try {
      async.getRequest().setAttribute(OUTCOME_ATTRIBUTE, outcome);
      async.dispatch();
    } catch (IllegalStateException e) {
      // the container ended the cycle already (the client is gone): nobody to answer
    }
  }

  /**
   * The request the {@code ASYNC} dispatch carries: the filter unwraps it and decides. If the
   * filter is not registered for {@code ASYNC}, the handler gets it undecided, and it fails closed
   * instead of serving a request no key was claimed for: its body cannot be had (a handler that
   * does its work with the body never starts it).
   */
  static final class Undecided extends HttpServletRequestWrapper {
    private static final String NOT_CALLED = "OnceFilter read this keyed request's body without"
        + " blocking and was not called again in the ASYNC dispatch that followed, so no key was"
        + " claimed for it: register the filter for DispatcherType.ASYNC as well as REQUEST, or"
        + " use BodyReading.BLOCKING";

    Undecided(HttpServletRequest request) {
      super(request);
    }

    @Override
    public jakarta.servlet.ServletInputStream getInputStream() {
      throw new IllegalStateException(NOT_CALLED);
    }

    @Override
    public BufferedReader getReader() {
      throw new IllegalStateException(NOT_CALLED);
    }

    @Override
    public String getParameter(String name) {
      throw new IllegalStateException(NOT_CALLED);
    }

    @Override
    public Map<String, String[]> getParameterMap() {
      throw new IllegalStateException(NOT_CALLED);
    }

    @Override
    public Enumeration<String> getParameterNames() {
      throw new IllegalStateException(NOT_CALLED);
    }

    @Override
    public String[] getParameterValues(String name) {
      throw new IllegalStateException(NOT_CALLED);
    }

    @Override
    public Collection<Part> getParts() {
      throw new IllegalStateException(NOT_CALLED);
    }

    @Override
    public Part getPart(String name) {
      throw new IllegalStateException(NOT_CALLED);
    }
  }

  private static long saturatedMillis(Duration duration) {
    try {
      return duration.toMillis();
    } catch (ArithmeticException e) {
      return Long.MAX_VALUE;
    }
  }
}
