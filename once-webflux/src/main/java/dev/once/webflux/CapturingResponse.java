package dev.once.webflux;

import dev.once.Completion;
import dev.once.Exchange;
import dev.once.Once;
import dev.once.StoredResponse.Header;
import dev.once.adapter.ResponseCapture;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionStage;
import org.jspecify.annotations.Nullable;
import org.reactivestreams.Publisher;
import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.http.server.reactive.ServerHttpResponseDecorator;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * The response a keyed handler writes to: every buffer goes to the client as usual (see {@link
 * BodyTee}) while a copy of the body, up to {@code maxResponseBytes}, is kept; status and headers
 * are read from the real response when the end is reported, so what the handler, its encoders and
 * the filters after this one set is what gets stored.
 *
 * <p>It reports to the exchange and decides nothing: the body's end ({@code writeWith}, {@code
 * writeAndFlushWith}, or {@code setComplete} with no body), the handler's end without a body, a
 * failure before or after the commit, the client gone. A handler's own {@code
 * Idempotent-Replayed} is taken off before the headers go out: only a replay says it is one.
 */
final class CapturingResponse extends ServerHttpResponseDecorator implements Exchange.Response {
  private final Exchange exchange;
  private final ResponseCapture capture;
  private volatile boolean clientGone;

  CapturingResponse(ServerHttpResponse response, long maxResponseBytes, Exchange exchange) {
    super(response);
    this.exchange = exchange;
    this.capture = new ResponseCapture(maxResponseBytes);
    response.beforeCommit(() -> Mono.fromRunnable(
        () -> response.getHeaders().remove(Once.REPLAYED_HEADER)));
  }

  @Override
  public int status() {
    HttpStatusCode status = getDelegate().getStatusCode();
    return status == null ? 200 : status.value();
  }

  @Override
  public List<Header> headers() {
    HttpHeaders headers = getDelegate().getHeaders();
    List<Header> all = new ArrayList<>();
    headers.forEach((name, values) -> {
      for (String value : values) {
        all.add(new Header(name, value));
      }
    });
    return all;
  }

  @Override
  public byte @Nullable [] body() {
    return capture.bytes();
  }

  @Override
  public Mono<Void> writeWith(Publisher<? extends DataBuffer> body) {
    boolean single = body instanceof Mono;
    BodyTee tee = new BodyTee(body, this, single);
    if (clientGone) {
      return tee.finished();
    }
    // a Mono stays a Mono, so the server frames it as it would (one buffer, its length known)
    Publisher<DataBuffer> teed = single ? Mono.fromDirect(tee) : tee;
    return Mono.defer(() -> getDelegate().writeWith(teed))
        .onErrorResume(error -> tee.isSourceError(error) ? Mono.error(error)
            : tee.clientFailed(error))
        .then(tee.finished());
  }

  /**
   * A body written with flushes (server-sent events, streams): each buffer is copied as it goes
   * by, and the end is reported before the server completes the body. A client that hangs up
   * ends such a body as it would without the filter; its record is then finished as a failure.
   */
  @Override
  public Mono<Void> writeAndFlushWith(
      Publisher<? extends Publisher<? extends DataBuffer>> body) {
    Flux<Publisher<DataBuffer>> teed = Flux.from(body)
        .<Publisher<DataBuffer>>map(part -> Flux.<DataBuffer>from(part).doOnNext(this::copy))
        .concatWith(Mono.defer(() -> Mono.fromCompletionStage(bodyEnded()))
            .then(Mono.empty()));
    return Mono.defer(() -> getDelegate().writeAndFlushWith(teed));
  }

  /** A response with no body: the record is finished before the server sends it. */
  @Override
  public Mono<Void> setComplete() {
    return Mono.defer(() -> isCommitted()
            ? Mono.<Void>empty()
            : Mono.fromCompletionStage(bodyEnded()).then())
        .then(Mono.defer(() -> getDelegate().setComplete()));
  }

  /**
   * Copies the readable bytes of {@code buffer}, leaving its read position where it was, so the
   * buffer goes on to the client unchanged. Called from the body's signals, which reactive streams
   * serialize.
   */
  void copy(DataBuffer buffer) {
    try (DataBuffer.ByteBufferIterator readable = buffer.readableByteBuffers()) {
      readable.forEachRemaining(capture::write);
    }
  }

  /** @return true if the bytes written so far are the whole of a declared {@code Content-Length} */
  boolean isWholeBody() {
    long declared = getDelegate().getHeaders().getContentLength();
    return declared >= 0 && capture.total() == declared;
  }

  boolean isOverflowed() {
    return capture.isOverflowed();
  }

  CompletionStage<Completion> bodyEnded() {
    return exchange.bodyEnded(this);
  }

  /** The handler's work ended normally; if nothing ended the response before, this does. */
  CompletionStage<Completion> handlerReturned() {
    return exchange.handlerReturned(this);
  }

  /** The handler's work failed: before or after the response was committed. */
  CompletionStage<Completion> failed(Throwable error) {
    return isCommitted()
        ? exchange.failedAfterCommit(error, this)
        : exchange.failedBeforeCommit(error);
  }

  /**
   * The client is gone and the answer the handler was writing is over the limit: it was answered,
   * so the record is kept without its body, as a response that broke off after its status.
   */
  CompletionStage<Completion> answeredButNotKept(Throwable cause) {
    return exchange.failedAfterCommit(cause, this);
  }

  /** The client hung up: the handler goes on, and its answer is kept for the retry. */
  void clientGone() {
    if (!clientGone) {
      clientGone = true;
      exchange.clientGone();
    }
  }
}
