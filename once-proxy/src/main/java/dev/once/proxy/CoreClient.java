package dev.once.proxy;

import dev.once.Once;
import dev.once.Problem;
import io.micrometer.core.instrument.Timer;
import java.io.IOException;
import java.util.EnumSet;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.BufferUtil;
import org.eclipse.jetty.util.Callback;
import org.jspecify.annotations.Nullable;

/**
 * A keyed call's client on Jetty's core, for a request {@link KeyedLane} decided to run: the
 * core's {@link Response}, written with one asynchronous write at a time, and its {@link Callback}
 * completed once, by {@link #complete}, {@link #answer} or {@link #cut}. It answers as {@link
 * KeyedUpstreamServlet}'s client does through the Servlet API: the upstream's headers copied as
 * Jetty's proxy servlet copies them (no hop-by-hop header, none of the upstream's {@code
 * Idempotent-Replayed}, no blank value, a header's values joined by ", "), problems in
 * the same {@code application/problem+json}, the upstream's time on the request for the access
 * log. A write that fails, or a failure of the request Jetty reports, is the client lost.
 * Thread-safe: the call calls it one call at a time, Jetty's write callbacks and failure listener
 * from their own threads.
 */
final class CoreClient implements KeyedCall.Client {
  /** The headers Jetty's proxy servlet does not pass on. */
  private static final Set<HttpHeader> HOP_HEADERS = EnumSet.of(HttpHeader.CONNECTION,
      HttpHeader.KEEP_ALIVE, HttpHeader.PROXY_AUTHORIZATION, HttpHeader.PROXY_AUTHENTICATE,
      HttpHeader.PROXY_CONNECTION, HttpHeader.TRANSFER_ENCODING, HttpHeader.TE,
      HttpHeader.TRAILER, HttpHeader.UPGRADE);

  private final Request request;
  private final Response response;
  private final Callback callback;
  private final Timer upstreamTime;
  private volatile @Nullable KeyedCall call;

  private boolean writing;
  private boolean wake;
  private @Nullable Throwable failure;
  private boolean completed;

  /**
   * @param upstreamTime the upstream's time from a keyed request sent to its status line
   */
  CoreClient(Request request, Response response, Callback callback, Timer upstreamTime) {
    this.request = request;
    this.response = response;
    this.callback = callback;
    this.upstreamTime = upstreamTime;
  }

  @Override
  public void listen(KeyedCall call) {
    this.call = call;
    request.addFailureListener(this::lost);
    // as the servlet's async cycle (no timeout of its own): the connection's idle timeout, or a
    // stop's, does not end a request waiting for the upstream, whose silence the call times; one
    // during a write fails that write, which is the client lost
    request.addIdleTimeoutListener(timeout -> false);
  }

  private void lost(Throwable cause) {
    synchronized (this) {
      if (failure == null) {
        failure = cause;
      }
    }
    Objects.requireNonNull(call, "events come only after listen").clientLost();
  }

  @Override
  public void upstreamAnswered(long nanos, boolean waiting) {
    upstreamTime.record(nanos, TimeUnit.NANOSECONDS);
    if (waiting) {
      request.setAttribute(AccessLog.UPSTREAM_NANOS, nanos);
    }
  }

  @Override
  public void head(org.eclipse.jetty.client.Response upstream) {
    response.setStatus(upstream.getStatus());
    HttpFields.Mutable headers = response.getHeaders();
    for (HttpField field : upstream.getHeaders()) {
      // Jetty's parser knows every hop-by-hop header by name, in any case
      HttpHeader header = field.getHeader();
      if ((header != null && HOP_HEADERS.contains(header))
          || Once.REPLAYED_HEADER.equalsIgnoreCase(field.getName())) {
        continue;
      }
      String value = field.getValue();
      if (value == null || value.isBlank()) {
        continue;
      }
      if (value.indexOf(',') >= 0 || value.indexOf('"') >= 0) {
        value = String.join(", ", field.getValueList()); // as the servlet sets it
      }
      headers.add(field.getName(), value);
    }
  }

  @Override
  public boolean isCommitted() {
    return response.isCommitted();
  }

  @Override
  public synchronized boolean isReady() throws IOException {
    if (failure != null) {
      throw new IOException("the client is gone", failure);
    }
    if (writing) {
      wake = true;
      return false;
    }
    return true;
  }

  @Override
  public void write(Content.Chunk chunk, boolean flush, boolean last) throws IOException {
    // Jetty writes the core's response as given: it stays flushed part by part
    synchronized (this) {
      if (failure != null) {
        throw new IOException("the client is gone", failure);
      }
      writing = true;
      // the last bytes end the response: its callback is the write's
      completed |= last;
    }
    // the bytes are the response's until the write completes
    boolean retained = chunk.canRetain();
    if (retained) {
      chunk.retain();
    }
    response.write(last, chunk.getByteBuffer().slice(), Callback.from(() -> {
      if (retained) {
        chunk.release();
      }
      written(null);
      if (last) {
        callback.succeeded();
      }
    }, failed -> {
      if (retained) {
        chunk.release();
      }
      written(failed);
      if (last) {
        callback.failed(failed);
      }
    }));
  }

  private void written(@Nullable Throwable failed) {
    boolean possible;
    synchronized (this) {
      writing = false;
      possible = wake && failed == null;
      wake = false;
      if (failed != null && failure == null) {
        failure = failed;
      }
    }
    KeyedCall listener = Objects.requireNonNull(call, "writes come only after listen");
    if (failed != null) {
      listener.clientLost();
    } else if (possible) {
      listener.writePossible();
    }
  }

  @Override
  public void answer(Problem problem) {
    boolean cutOff;
    Throwable gone = null;
    synchronized (this) {
      if (completed) {
        return;
      }
      cutOff = writing || response.isCommitted();
      if (!cutOff) {
        completed = true;
        gone = failure;
      }
    }
    if (cutOff) {
      cut();
    } else if (gone != null) {
      callback.failed(gone); // there is nobody to answer
    } else {
      response.reset(); // drops what the upstream's headers had set
      ProblemErrorHandler.write(response, callback, problem);
    }
  }

  @Override
  public void cut() {
    synchronized (this) {
      if (completed) {
        return;
      }
      completed = true;
    }
    Response.writeError(request, response, callback, 502);
  }

  @Override
  public void complete() {
    Throwable failed;
    synchronized (this) {
      if (completed) {
        return;
      }
      completed = true;
      failed = failure != null ? failure
          : writing ? new IOException("the response ended with a write under way") : null;
    }
    if (failed != null) {
      callback.failed(failed);
    } else {
      response.write(true, BufferUtil.EMPTY_BUFFER, callback);
    }
  }
}
