package dev.once.jaxrs;

import dev.once.Exchange;
import dev.once.StoredResponse.Header;
import jakarta.ws.rs.container.ContainerResponseContext;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.MediaType;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;

/**
 * The response of a request the engine let run, as the response stage sees it: the status and
 * headers of the response context (read when the exchange finishes, so whatever the application's
 * filters and writers set is what is stored), and the copy of the body as it was written.
 *
 * <p>When a write to the client fails, the client hung up: the exchange is told, later writes go to
 * the copy only, and the resource's writer goes on unaware, so its whole answer is stored for the
 * client's retry. Once the copy is over {@code maxResponseBytes} there is no answer to keep,
 * and the failure reaches the writer as it would without the adapter.
 */
final class KeyedResponse implements Exchange.Response {
  private final Exchange exchange;
  private final ResponseCapture capture;
  private volatile ContainerResponseContext response;
  private volatile MediaType mediaType;
  private volatile boolean clientGone;

  KeyedResponse(Exchange exchange, long maxResponseBytes) {
    this.exchange = exchange;
    this.capture = new ResponseCapture(maxResponseBytes);
  }

  Exchange exchange() {
    return exchange;
  }

  ResponseCapture capture() {
    return capture;
  }

  /** The response filter saw the response: its status and headers are read from it. */
  void respondedWith(ContainerResponseContext context) {
    this.response = context;
  }

  /** The writer interceptor knows the entity's media type, which the headers may lack. */
  void writtenAs(MediaType type) {
    this.mediaType = type;
  }

  @Override
  public int status() {
    return response.getStatus();
  }

  @Override
  public List<Header> headers() {
    List<Header> headers = new ArrayList<>();
    boolean typed = false;
    for (Map.Entry<String, List<String>> entry : response.getStringHeaders().entrySet()) {
      typed |= HttpHeaders.CONTENT_TYPE.equalsIgnoreCase(entry.getKey());
      for (String value : entry.getValue()) {
        if (value != null) {
          headers.add(new Header(entry.getKey(), value));
        }
      }
    }
    MediaType type = mediaType;
    if (!typed && type != null) {
      headers.add(new Header(HttpHeaders.CONTENT_TYPE, type.toString()));
    }
    return headers;
  }

  @Override
  public byte[] body() {
    return capture.bytes();
  }

  boolean isClientGone() {
    return clientGone;
  }

  /**
   * A write to the client failed: it hung up. The writer goes on and its answer is kept, unless the
   * copy is already over the limit, when the failure is the writer's to see.
   *
   * @throws IOException {@code failure}, when there is no answer to keep
   */
  void clientFailed(IOException failure) throws IOException {
    if (capture.isOverflowed()) {
      throw failure;
    }
    if (!clientGone) {
      clientGone = true;
      exchange.clientGone();
    }
  }

  /**
   * Called before each write once the client is gone.
   *
   * @throws IOException when the copy is over the limit, so the writer stops as it would without
   *     the adapter
   */
  void checkStillKeeping() throws IOException {
    if (capture.isOverflowed()) {
      throw new IOException("the client is gone and the response is too large to keep");
    }
  }

  /** Waits for the record to be finished; the engine's stage never fails. */
  static void await(CompletionStage<?> finished) {
    finished.toCompletableFuture().join();
  }
}
