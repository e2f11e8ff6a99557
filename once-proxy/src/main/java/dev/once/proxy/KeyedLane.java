package dev.once.proxy;

import dev.once.Decision;
import dev.once.Exchange;
import dev.once.Once;
import dev.once.StoredResponse;
import dev.once.adapter.ReplayHeaders;
import dev.once.servlet.OnceFilter;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Timer;
import java.net.URI;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.BufferUtil;
import org.eclipse.jetty.util.Callback;
import org.jspecify.annotations.Nullable;

/**
 * Decides and runs a keyed request on Jetty's core, without the servlet layer, when its whole body
 * is already in: a declared length within the engine's limit (and {@link #MAX_BODY}), all of it
 * readable without waiting, and no {@code Expect} header. The engine decides it with {@link
 * Once#decideAsync} (no thread held on the store, a duplicate that waits parked on the store's
 * signal); a replay or a refusal is written here, as {@link OnceFilter} writes it; a request to
 * run is sent to the upstream here too, built as {@link KeyedUpstreamServlet} builds it ({@link
 * UpstreamHandler#newKeyedRequest}) and run by the same {@link KeyedCall}, with the core's
 * response as its client ({@link CoreClient}); one passed through because the store failed open
 * goes to the core's proxy ({@link UpstreamHandler}) with its body readable again. One whose
 * target {@link URI} refuses goes on to the servlet context with the decision handed over ({@link
 * OnceFilter#DECISION_ATTRIBUTE}), which answers it as before. Any other keyed request (a body
 * that is still arriving, chunked, too long, expecting {@code 100 Continue}) goes to the servlet
 * context undecided, with what was read of its body put back in front, and the filter reads and
 * decides it as it always did. Thread-safe.
 */
final class KeyedLane {
  /** The longest body decided here; a longer one is read by the filter. */
  static final int MAX_BODY = 64 * 1024;

  private final Once once;
  private final Handler servlets;
  private final UpstreamHandler fast;
  private final Calls calls;

  /**
   * @param once the engine the servlet context's filter uses
   * @param servlets the servlet context
   * @param fast the core's proxy, whose HTTP client and request building a run here uses
   * @param calls how a request is run here
   */
  KeyedLane(Once once, Handler servlets, UpstreamHandler fast, Calls calls) {
    this.once = Objects.requireNonNull(once, "once");
    this.servlets = Objects.requireNonNull(servlets, "servlets");
    this.fast = Objects.requireNonNull(fast, "fast");
    this.calls = Objects.requireNonNull(calls, "calls");
  }

  /**
   * What a keyed call run on the core needs, as {@link KeyedUpstreamServlet} has it.
   *
   * @param timeout the longest the upstream may stay silent while a client waits
   * @param deadline how long the upstream is listened to once its client no longer waits
   * @param upstreamTime the upstream's time from a keyed request sent to its status line
   * @param coreCalls counts the keyed calls run on the core
   */
  record Calls(Duration timeout, Duration deadline, Timer upstreamTime, Counter coreCalls) {
    Calls {
      Objects.requireNonNull(timeout, "timeout");
      Objects.requireNonNull(deadline, "deadline");
      Objects.requireNonNull(upstreamTime, "upstreamTime");
      Objects.requireNonNull(coreCalls, "coreCalls");
    }
  }

  /** Handles a keyed request of a covered method; completes {@code callback}. */
  boolean handle(Request request, Response response, Callback callback) throws Exception {
    long length = request.getLength();
    if (length < 0 || length > Math.min(MAX_BODY, once.maxBodyBytes())
        || HttpMethod.HEAD.is(request.getMethod())
        || request.getHeaders().contains(HttpHeader.EXPECT)) {
      return Dispatch.toPool(servlets, request, response, callback, null);
    }
    byte[] body = new byte[(int) length];
    int count = 0;
    while (true) {
      Content.Chunk chunk = request.read();
      if (chunk == null) {
        // the rest is on its way: the filter reads it, bounded by the engine's body timeout
        return Dispatch.toPool(servlets, new ReadAgain(request, body, count, null), response,
            callback, null);
      }
      if (Content.Chunk.isFailure(chunk)) {
        return Dispatch.toPool(servlets, new ReadAgain(request, body, count, chunk), response,
            callback, null);
      }
      ByteBuffer bytes = chunk.getByteBuffer();
      int size = bytes.remaining();
      if (size > body.length - count) {
        chunk.release(); // not expected: the parser holds a body to its declared length
        return Dispatch.toPool(servlets, new ReadAgain(request, body, count,
            Content.Chunk.from(new IllegalStateException("more body than declared"))),
            response, callback, null);
      }
      bytes.get(body, count, size);
      count += size;
      boolean last = chunk.isLast();
      chunk.release();
      if (last) {
        break;
      }
    }
    if (count < body.length) {
      return Dispatch.toPool(servlets, new ReadAgain(request, body, count,
          Content.Chunk.from(new IllegalStateException("body shorter than declared"))), response,
          callback, null);
    }
    CompletableFuture<Decision> decided =
        once.decideAsync(new ViewedRequest(request, body)).toCompletableFuture();
    if (decided.isDone()) {
      act(request, response, callback, body, decided.join());
    } else {
      // the store answered on its own thread: the rest runs on the server's
      decided.whenComplete((decision, failure) -> {
        try {
          request.getContext().execute(() -> {
            if (failure != null) {
              Response.writeError(request, response, callback, failure);
            } else {
              act(request, response, callback, body, decision);
            }
          });
        } catch (RejectedExecutionException e) {
          // the server is stopping: the key is given back and the request ends, not left hanging;
          // not waited for, as this may be the store's own thread, which must answer the release
          if (decision != null) {
            abandon(decision, e);
          }
          callback.failed(e);
        }
      });
    }
    return true;
  }

  private void act(Request request, Response response, Callback callback, byte[] body,
      Decision decision) {
    request.setAttribute(OnceFilter.OUTCOME_ATTRIBUTE, Decision.outcomeOf(decision));
    if (decision instanceof Decision.Replay replay) {
      writeReplay(response, callback, replay.response());
    } else if (decision instanceof Decision.Reject reject) {
      ProblemErrorHandler.write(response, callback, reject.problem());
    } else if (decision instanceof Decision.PassThrough) {
      // the store failed open: forwarded untouched, as the servlet forwards a request without key
      fast.handle(new ReadAgain(request, body, body.length, null), response, callback);
    } else if (decision instanceof Decision.Execute execute
        && run(request, response, callback, body, execute.exchange())) {
      return;
    } else {
      request.setAttribute(OnceFilter.DECISION_ATTRIBUTE, decision);
      Dispatch.toPool(servlets, new ReadAgain(request, body, body.length, null), response,
          callback, failure -> abandon(decision, failure).join());
    }
  }

  /**
   * Runs a request the engine decided to execute here, on the core's HTTP client, with a {@link
   * KeyedCall} whose client is the core's response: the same call, events and answers as through
   * the servlet context, without it.
   *
   * @return false if it is the servlet context's to run after all (a target {@link
   *     java.net.URI} refuses, which the servlet answers)
   */
  private boolean run(Request request, Response response, Callback callback, byte[] body,
      Exchange exchange) {
    URI target = fast.target(request);
    if (target == null) {
      return false;
    }
    org.eclipse.jetty.client.Request upstream;
    try {
      upstream = fast.newKeyedRequest(request, target, body);
    } catch (RuntimeException e) {
      // the key is given back before the answer, as the filter does, without waiting on this
      // thread for a shared store's round trip
      exchange.failedBeforeCommit(e)
          .whenComplete((ignored, failure) -> Response.writeError(request, response, callback, e));
      return true;
    }
    calls.coreCalls().increment();
    new KeyedCall(new CoreClient(request, response, callback, calls.upstreamTime()), exchange,
        once, fast.getHttpClient().getScheduler(), calls.timeout(), calls.deadline())
        .send(upstream);
    return true;
  }

  /**
   * The servlet context, or the server's pool, did not take a request to run: its key is released.
   *
   * @return when the key is released (at once if there was none to release)
   */
  private static CompletableFuture<?> abandon(Decision decision, @Nullable Throwable failure) {
    if (decision instanceof Decision.Execute execute) {
      return execute.exchange().failedBeforeCommit(failure).toCompletableFuture();
    }
    return CompletableFuture.completedFuture(null);
  }

  /** Writes a replay as {@link OnceFilter} writes one through the servlet API. */
  private static void writeReplay(Response response, Callback callback, StoredResponse stored) {
    response.setStatus(stored.status());
    ReplayHeaders.write(stored, response.getHeaders()::put, response.getHeaders()::add);
    // the stored Date is not kept: a replay is a response of now (RFC 9110, 6.6.1)
    response.getHeaders().putDate(HttpHeader.DATE, System.currentTimeMillis());
    response.getHeaders().put(HttpHeader.CONTENT_LENGTH, stored.bodyLength());
    response.write(true,
        stored.bodyLength() > 0 ? stored.bodyBuffer() : BufferUtil.EMPTY_BUFFER, callback);
  }

  /**
   * The request with the part of its body this lane read put back in front of the rest, for the
   * servlet context to read as if nothing had been read. Used by one reader at a time, as a
   * request's body is.
   */
  static final class ReadAgain extends Request.Wrapper {
    private Content.@Nullable Chunk first;
    private Content.@Nullable Chunk failure;

    /**
     * @param request the request
     * @param body the bytes read so far, from the start
     * @param count how many of them there are
     * @param failure the failure the read ended in, given after the bytes, or null
     */
    ReadAgain(Request request, byte[] body, int count, Content.@Nullable Chunk failure) {
      super(request);
      boolean whole = failure == null && count == body.length;
      this.first = count == 0 && !whole ? null
          : Content.Chunk.from(ByteBuffer.wrap(body, 0, count), whole);
      this.failure = failure;
    }

    @Override
    public Content.@Nullable Chunk read() {
      synchronized (this) {
        Content.Chunk chunk = first;
        if (chunk != null) {
          first = null;
          return chunk;
        }
        if (failure != null) {
          return failure;
        }
      }
      return super.read();
    }

    @Override
    public void demand(Runnable demandCallback) {
      boolean ready;
      synchronized (this) {
        ready = first != null || failure != null;
      }
      if (ready) {
        demandCallback.run();
      } else {
        super.demand(demandCallback);
      }
    }
  }
}
