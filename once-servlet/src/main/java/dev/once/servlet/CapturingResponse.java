package dev.once.servlet;

import dev.once.Completion;
import dev.once.Exchange;
import dev.once.Once;
import dev.once.StoredResponse.Header;
import dev.once.adapter.TeeOutput;
import jakarta.servlet.ServletOutputStream;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.HttpServletResponseWrapper;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletionStage;
import org.jspecify.annotations.Nullable;

/**
 * The response a keyed handler writes to: everything goes to the client as usual, and a copy of
 * the body (up to {@code maxResponseBytes}) is kept so the response can be stored when the handler
 * is done. Status and headers are read from the real response at that point, so whatever the
 * handler or the container set ({@code sendRedirect}'s resolved {@code Location}, the writer's
 * charset) is what gets stored.
 *
 * <p>A container sends the end of a response as soon as it knows it (the body reached its declared
 * {@code Content-Length}, or the output was closed), which can be well before the handler returns.
 * A client that retries the moment it has the whole response must get the replay, not a 409, so
 * the response's end is noticed before those last bytes are passed on and the record is finished
 * first: the body's end is reported to the exchange, which finishes the record, before the bytes
 * go on.
 *
 * <p>A client that hung up does not stop the handler while its answer can still be kept (see
 * {@link TeeOutput}).
 */
final class CapturingResponse extends HttpServletResponseWrapper implements Exchange.Response {
  private static final String CONTENT_LENGTH = "Content-Length";

  private final TeeOutput output;
  private final Exchange exchange;
  private @Nullable TeeOutputStream stream;
  private @Nullable PrintWriter writer;
  private @Nullable Writer captureWriter;
  private long contentLength = -1;

  CapturingResponse(HttpServletResponse response, long maxResponseBytes, Exchange exchange) {
    super(response);
    this.output = new TeeOutput(exchange, maxResponseBytes);
    this.exchange = exchange;
  }

  /** @return the exchange this response is reported to */
  Exchange exchange() {
    return exchange;
  }

  @Override
  public int status() {
    return getStatus();
  }

  @Override
  public List<Header> headers() {
    return capturedHeaders();
  }

  @Override
  public byte @Nullable [] body() {
    return capturedBody();
  }

  @Override
  public ServletOutputStream getOutputStream() throws IOException {
    ServletOutputStream out = super.getOutputStream();
    if (stream == null || stream.delegate != out) {
      stream = new TeeOutputStream(out, output.stream(out, this::bodyWritten, this::ending));
    }
    return stream;
  }

  @Override
  public PrintWriter getWriter() throws IOException {
    PrintWriter out = super.getWriter();
    if (writer == null) {
      captureWriter = new OutputStreamWriter(output.capture(), charset());
      writer = new PrintWriter(new TeeWriter(out, captureWriter, this));
    }
    return writer;
  }

  @Override
  public void setContentLength(int length) {
    declareLength(length);
    super.setContentLength(length);
  }

  @Override
  public void setContentLengthLong(long length) {
    declareLength(length);
    super.setContentLengthLong(length);
  }

  @Override
  public void setHeader(String name, String value) {
    if (passesOn(name, value)) {
      super.setHeader(name, value);
    }
  }

  @Override
  public void addHeader(String name, String value) {
    if (passesOn(name, value)) {
      super.addHeader(name, value);
    }
  }

  @Override
  public void setIntHeader(String name, int value) {
    if (passesOn(name, Integer.toString(value))) {
      super.setIntHeader(name, value);
    }
  }

  @Override
  public void addIntHeader(String name, int value) {
    if (passesOn(name, Integer.toString(value))) {
      super.addIntHeader(name, value);
    }
  }

  /**
   * Notes a {@code Content-Length} header as a declared length, and tells whether a header is
   * passed on. Only a replay says it is one: a handler's (or an upstream's) own {@code
   * Idempotent-Replayed} would tell the client a first response was a replay, so it is not.
   */
  private boolean passesOn(String name, String value) {
    if (CONTENT_LENGTH.equalsIgnoreCase(name)) {
      declareLength(value);
    }
    return !Once.REPLAYED_HEADER.equalsIgnoreCase(name);
  }

  @Override
  public void reset() {
    super.reset();
    contentLength = -1;
    discardCapture();
    stream = null;
    writer = null;
    captureWriter = null;
  }

  @Override
  public void resetBuffer() {
    super.resetBuffer();
    discardCapture();
  }

  /**
   * Called by the stream and the writer after they copied bytes and before they pass them on: if
   * the body now has exactly its declared length, those bytes end the response. A body that goes
   * past it is the handler's error, which the container reports; it ends nothing here.
   */
  void bodyWritten() {
    if (contentLength >= 0) {
      flushCapture();
      if (output.capture().total() == contentLength) {
        withheldIfUndone(exchange.bodyEnded(this));
      }
    }
  }

  /** Called by the stream and the writer before they close: closing ends the response. */
  void ending() {
    withheldIfUndone(exchange.bodyEnded(this));
  }

  /**
   * Waits for the record to be finished; if the store undid the handler's work with it ({@link
   * Completion#WORK_UNDONE}), fails the write or close that would end the response, so the client
   * never has the whole of an answer whose work did not happen. The filter then answers 503, or
   * breaks the response off.
   */
  private static void withheldIfUndone(CompletionStage<Completion> finished) {
    if (OnceFilter.completion(finished) == Completion.WORK_UNDONE) {
      throw new UncheckedIOException(new IOException("the request's work could not be committed"
          + " and was undone; the end of its response is withheld"));
    }
  }

  /** @return the body the client was sent, or null if it was over the limit */
  byte @Nullable [] capturedBody() {
    flushCapture();
    return output.capture().bytes();
  }

  /** @return every header of the real response, in order */
  List<Header> capturedHeaders() {
    List<Header> headers = new ArrayList<>();
    Set<String> seen = new TreeSet<>(String.CASE_INSENSITIVE_ORDER);
    for (String name : getHeaderNames()) {
      if (seen.add(name)) {
        for (String value : getHeaders(name)) {
          headers.add(new Header(name, value));
        }
      }
    }
    String contentType = getContentType();
    if (contentType != null && !seen.contains("Content-Type")) {
      headers.add(new Header("Content-Type", contentType));
    }
    return headers;
  }

  private void declareLength(String value) {
    long length = -1;
    if (value != null) {
      try {
        length = Long.parseLong(value.trim());
      } catch (NumberFormatException e) {
        length = -1; // a value the container will refuse or ignore declares nothing
      }
    }
    declareLength(length);
  }

  /**
   * Notes a declared length before the container hears of it: a container ends the response at
   * once when the body written so far already has that length, so the record is finished first.
   */
  private void declareLength(long length) {
    // once committed, the container ignores header changes, and so does the capture
    if (!isCommitted()) {
      contentLength = length < 0 ? -1 : length;
      if (stream != null || writer != null) {
        bodyWritten();
      }
    }
  }

  private void discardCapture() {
    flushCapture();
    output.capture().reset();
  }

  private void flushCapture() {
    if (captureWriter != null) {
      try {
        captureWriter.flush();
      } catch (IOException e) {
        throw new UncheckedIOException(e); // the capture is in memory and cannot fail
      }
    }
  }

  private Charset charset() {
    String name = getCharacterEncoding();
    try {
      return name == null ? StandardCharsets.ISO_8859_1 : Charset.forName(name);
    } catch (IllegalArgumentException e) {
      return StandardCharsets.ISO_8859_1;
    }
  }
}
