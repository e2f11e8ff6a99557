package dev.once.jaxrs;

import dev.once.Exchange;
import dev.once.StoredResponse.Header;
import dev.once.adapter.TeeOutput;
import jakarta.ws.rs.container.ContainerResponseContext;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.MediaType;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletionStage;
import org.jspecify.annotations.Nullable;

/**
 * The response of a request the engine let run, as the response stage sees it: the status and
 * headers of the response context (read when the exchange finishes, so whatever the application's
 * filters and writers set is what is stored), and the copy of the body as it was written.
 *
 * <p>The entity stream ({@link #stream}) copies every byte the client is sent, and finishes the
 * record before the client can see the end; a client that hung up does not stop the resource's
 * writer while its answer can still be kept (see {@link TeeOutput}).
 */
final class KeyedResponse implements Exchange.Response {
  private final Exchange exchange;
  private final TeeOutput output;
  private volatile @Nullable ContainerResponseContext response;
  private volatile @Nullable MediaType mediaType;

  KeyedResponse(Exchange exchange, long maxResponseBytes) {
    this.exchange = exchange;
    this.output = new TeeOutput(exchange, maxResponseBytes);
  }

  Exchange exchange() {
    return exchange;
  }

  /**
   * @param wire the runtime's entity stream
   * @param declaredLength the declared {@code Content-Length}, or -1
   * @return the entity stream to write instead: its bytes are copied, then passed on to {@code
   *     wire}, and the record is finished when the body reaches its declared length or the stream
   *     is closed
   */
  TeeOutput.Stream stream(OutputStream wire, long declaredLength) {
    return output.stream(wire, () -> written(declaredLength), this::ended);
  }

  /** The response filter saw the response: its status and headers are read from it. */
  void respondedWith(ContainerResponseContext context) {
    this.response = context;
  }

  /** The writer interceptor knows the entity's media type, which the headers may lack. */
  void writtenAs(MediaType type) {
    this.mediaType = type;
  }

  /** @return the response the filter saw: the exchange finishes with a response only after */
  private ContainerResponseContext seen() {
    return Objects.requireNonNull(response, "the response filter has not seen the response");
  }

  @Override
  public int status() {
    return seen().getStatus();
  }

  @Override
  public List<Header> headers() {
    List<Header> headers = new ArrayList<>();
    boolean typed = false;
    for (Map.Entry<String, List<String>> entry : seen().getStringHeaders().entrySet()) {
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
  public byte @Nullable [] body() {
    return output.capture().bytes();
  }

  /**
   * If the body now has exactly its declared length, the bytes about to be passed on end the
   * response: the record is finished first. A body that goes past it is the writer's error, which
   * the runtime reports; it ends nothing here.
   */
  private void written(long declaredLength) {
    if (declaredLength >= 0 && output.capture().total() == declaredLength) {
      ended();
    }
  }

  /** The body is whole: finishes the record, and waits for it, before the end goes on. */
  void ended() {
    await(exchange.bodyEnded(this));
  }

  /** Waits for the record to be finished; the engine's stage never fails. */
  static void await(CompletionStage<?> finished) {
    finished.toCompletableFuture().join();
  }
}
