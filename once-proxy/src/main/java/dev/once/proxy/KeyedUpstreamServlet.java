package dev.once.proxy;

import dev.once.Exchange;
import dev.once.Once;
import dev.once.Problem;
import dev.once.servlet.OnceFilter;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Timer;
import jakarta.servlet.AsyncContext;
import jakarta.servlet.AsyncEvent;
import jakarta.servlet.AsyncListener;
import jakarta.servlet.ServletOutputStream;
import jakarta.servlet.WriteListener;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.HttpServletResponseWrapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.client.BytesRequestContent;
import org.eclipse.jetty.client.Request;
import org.eclipse.jetty.client.Response;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.jspecify.annotations.Nullable;

/**
 * once-proxy's servlet, behind {@link OnceFilter}: the {@link UpstreamServlet}, and a request the
 * filter holds a key for is not left to Jetty's response handling, which aborts the upstream
 * exchange on its idle timeout and when the client goes away. Its body (already read to
 * fingerprint it) is sent whole, and a {@link KeyedCall} of the proxy's own relays and copies the
 * response, times the upstream's silence itself, and goes on listening to the upstream after the
 * client got 504 or hung up, so the answer is stored for the retry. Other requests (no key, a
 * method not covered, the store failed open) are forwarded as the plain servlet forwards them.
 * Thread-safe, as every servlet.
 */
final class KeyedUpstreamServlet extends UpstreamServlet {
  private static final long serialVersionUID = 1L;

  private final transient Once once;
  private final Duration deadline;
  private final transient Timer upstreamTime;
  private final transient Counter servletCalls;

  /**
   * @param once the engine the filter in front of this servlet uses
   * @param timeout the longest the upstream may stay silent while a client waits
   * @param deadline how long the upstream is listened to once its client no longer waits
   * @param upstreamTime the upstream's time from a keyed request sent to its status line
   * @param servletCalls counts the keyed calls this servlet sends
   */
  KeyedUpstreamServlet(Once once, Duration timeout, Duration deadline, Timer upstreamTime,
      Counter servletCalls) {
    super(timeout);
    this.once = Objects.requireNonNull(once, "once");
    this.deadline = deadline;
    this.upstreamTime = Objects.requireNonNull(upstreamTime, "upstreamTime");
    this.servletCalls = Objects.requireNonNull(servletCalls, "servletCalls");
  }

  /**
   * The upstream answered a keyed request (its status line came): the time is measured, and kept
   * on the request for the access log while its client still waits.
   *
   * @param clientRequest the request, or null when its client is no longer there
   */
  void upstreamAnswered(@Nullable HttpServletRequest clientRequest, long nanos) {
    upstreamTime.record(nanos, TimeUnit.NANOSECONDS);
    if (clientRequest != null) {
      clientRequest.setAttribute(AccessLog.UPSTREAM_NANOS, nanos);
    }
  }

  /**
   * Drops an upstream's own {@code Idempotent-Replayed} from the answer to a keyed request: on a
   * first response it would tell the client the proxy replayed what the upstream just did; on a
   * replay the proxy sets its own. Requests the proxy does not key pass it on as they pass
   * everything.
   */
  @Override
  protected @Nullable String filterServerResponseHeader(HttpServletRequest clientRequest,
      Response serverResponse, String headerName, String headerValue) {
    if (Once.REPLAYED_HEADER.equalsIgnoreCase(headerName)
        && OnceFilter.exchange(clientRequest) != null) {
      return null;
    }
    return super.filterServerResponseHeader(clientRequest, serverResponse, headerName,
        headerValue);
  }

  @Override
  protected boolean expects100Continue(HttpServletRequest request) {
    // a keyed request's body was read to fingerprint it (its 100 Continue was sent then)
    return OnceFilter.exchange(request) == null && super.expects100Continue(request);
  }

  @Override
  protected Request.Content proxyRequestContent(HttpServletRequest clientRequest,
      HttpServletResponse proxyResponse, Request proxyRequest) throws IOException {
    if (OnceFilter.exchange(clientRequest) == null) {
      return super.proxyRequestContent(clientRequest, proxyResponse, proxyRequest);
    }
    // in memory already: the filter read it to fingerprint it
    return new BytesRequestContent(clientRequest.getInputStream().readAllBytes());
  }

  @Override
  protected void sendProxyRequest(HttpServletRequest clientRequest,
      HttpServletResponse proxyResponse, Request proxyRequest) {
    Exchange exchange = OnceFilter.exchange(clientRequest);
    if (exchange == null) {
      super.sendProxyRequest(clientRequest, proxyResponse, proxyRequest);
      return;
    }
    proxyRequest.headers(headers -> headers.remove(HttpHeader.EXPECT));
    // the call reports every event to the exchange itself, so it writes past the filter's copy
    HttpServletResponse client = proxyResponse;
    while (client instanceof HttpServletResponseWrapper) {
      client = (HttpServletResponse) ((HttpServletResponseWrapper) client).getResponse();
    }
    servletCalls.increment();
    new KeyedCall(new ServletClient(clientRequest, client), exchange, once,
        getHttpClient().getScheduler(), timeout, deadline).send(proxyRequest);
  }

  /**
   * A keyed call's client through the Servlet API: the container's response, written without
   * blocking ({@link WriteListener}), its async cycle ended by {@link #complete}. Jetty's proxy
   * servlet copies the headers and cuts a response off.
   */
  private final class ServletClient implements KeyedCall.Client, WriteListener, AsyncListener {
    private final HttpServletRequest clientRequest;
    private final HttpServletResponse client;
    private final AsyncContext async;
    private @Nullable KeyedCall call;
    private boolean writing;

    ServletClient(HttpServletRequest clientRequest, HttpServletResponse client) {
      this.clientRequest = clientRequest;
      this.client = client;
      this.async = clientRequest.getAsyncContext();
    }

    @Override
    public void listen(KeyedCall call) {
      this.call = call;
      async.addListener(this);
    }

    private KeyedCall call() {
      return Objects.requireNonNull(call, "events come only after listen");
    }

    @Override
    public void upstreamAnswered(long nanos, boolean waiting) {
      // a client gone has had its access log line: its request is recycled and takes nothing more
      KeyedUpstreamServlet.this.upstreamAnswered(waiting ? clientRequest : null, nanos);
    }

    @Override
    public void head(Response upstream) {
      client.setStatus(upstream.getStatus());
      onServerResponseHeaders(clientRequest, client, upstream);
    }

    @Override
    public boolean isCommitted() {
      return client.isCommitted();
    }

    @Override
    public boolean isReady() throws IOException {
      ServletOutputStream out = client.getOutputStream();
      if (!writing) {
        writing = true;
        out.setWriteListener(this); // it calls onWritePossible
        return false;
      }
      return out.isReady();
    }

    @Override
    public void write(Content.Chunk chunk, boolean flush, boolean last) throws IOException {
      // the end is the async cycle's complete
      ServletOutputStream out = client.getOutputStream();
      ByteBuffer bytes = chunk.getByteBuffer();
      if (bytes.hasArray()) {
        out.write(bytes.array(), bytes.arrayOffset() + bytes.position(), bytes.remaining());
      } else {
        byte[] copy = new byte[bytes.remaining()];
        bytes.duplicate().get(copy);
        out.write(copy);
      }
      if (flush && out.isReady()) {
        out.flush();
      }
    }

    @Override
    public void answer(Problem problem) {
      try {
        ServletOutputStream out = client.getOutputStream();
        if (writing && !out.isReady()) {
          cut();
          return;
        }
        writeProblem(client, problem);
      } catch (IOException | IllegalStateException e) {
        // the client is gone: there is nobody to answer
      }
      complete();
    }

    @Override
    public void cut() {
      sendProxyResponseError(clientRequest, client, 502);
    }

    @Override
    public void complete() {
      try {
        async.complete();
      } catch (IllegalStateException e) {
        // the container has ended it already
      }
    }

    @Override
    public void onWritePossible() {
      call().writePossible();
    }

    @Override
    public void onError(Throwable failure) {
      call().clientLost();
    }

    @Override
    public void onError(AsyncEvent event) {
      call().clientLost();
    }

    @Override
    public void onTimeout(AsyncEvent event) {
      call().clientLost();
    }

    @Override
    public void onComplete(AsyncEvent event) {
      // the container ended the client's request, maybe before the upstream answered
      call().clientEnded();
    }

    @Override
    public void onStartAsync(AsyncEvent event) {
      // the cycle is the proxy's own; it is never restarted
    }
  }
}
