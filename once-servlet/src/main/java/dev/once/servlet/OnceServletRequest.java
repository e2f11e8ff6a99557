package dev.once.servlet;

import dev.once.Once;
import dev.once.OnceRequest;
import dev.once.RequestBodyTimeoutException;
import dev.once.RequestTooLargeException;
import jakarta.servlet.AsyncContext;
import jakarta.servlet.AsyncListener;
import jakarta.servlet.ReadListener;
import jakarta.servlet.ServletInputStream;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletRequestWrapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UnsupportedEncodingException;
import java.net.URLDecoder;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.security.Principal;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jspecify.annotations.Nullable;

/**
 * The engine's view of a servlet request, and the request the handler sees. Once the engine has
 * read the body to fingerprint it, the handler is served the same bytes: {@code getInputStream},
 * {@code getReader} and, for URL-encoded forms, {@code getParameter} all work as if nothing had
 * read them. While the handler runs it also makes sure an async cycle started by the handler is
 * watched, so the record is finished when the response really is.
 *
 * <p>The body is read blocking here, within the engine's {@code bodyTimeout}: the time is looked
 * at whenever a read returns (a blocking read cannot be interrupted), and a read the container's
 * idle timeout ends counts as the body not arriving in time. Or it was read before, without
 * blocking, by {@link BodyReader}, whose outcome this request is given.
 */
final class OnceServletRequest extends HttpServletRequestWrapper implements OnceRequest {
  private static final String FORM = "application/x-www-form-urlencoded";
  private static final byte[] NO_BODY = new byte[0];

  private final Once engine;
  private byte @Nullable [] body;
  private @Nullable Exception bodyFailure;
  private @Nullable BodyStream stream;
  private @Nullable BufferedReader reader;
  private @Nullable Map<String, String[]> parameters;
  private @Nullable ServletResponse asyncResponse;
  private @Nullable AsyncListener asyncListener;
  private @Nullable Runnable beforeAsyncComplete;
  private @Nullable EndingAsyncContext asyncContext;
  private boolean asyncWatched;
  /** The engine's clock when the body's reads began, if {@link #readTimed}. */
  private long readStart;
  private boolean readTimed;

  OnceServletRequest(HttpServletRequest request, Once engine) {
    super(request);
    this.engine = engine;
  }

  /**
   * A request whose body {@link BodyReader} read already.
   *
   * @param outcome the read's outcome: the body's bytes, or the exception {@link #body} throws
   */
  OnceServletRequest(HttpServletRequest request, Once engine, Object outcome) {
    this(request, engine);
    if (outcome instanceof byte[]) {
      body = (byte[]) outcome;
    } else {
      bodyFailure = (Exception) outcome;
    }
  }

  @Override
  public String method() {
    return getMethod();
  }

  @Override
  public String path() {
    return getRequestURI();
  }

  @Override
  public @Nullable String query() {
    return getQueryString();
  }

  @Override
  public List<String> headers(String name) {
    Enumeration<String> values = getHeaders(name);
    if (values == null || !values.hasMoreElements()) {
      return List.of();
    }
    String first = values.nextElement();
    if (!values.hasMoreElements()) {
      return List.of(first);
    }
    List<String> all = new ArrayList<>(2);
    all.add(first);
    while (values.hasMoreElements()) {
      all.add(values.nextElement());
    }
    return all;
  }

  @Override
  public @Nullable String principal() {
    Principal principal = getUserPrincipal();
    return principal == null ? null : principal.getName();
  }

  @Override
  public byte[] body(long maxBytes) throws IOException {
    if (body != null) {
      return body;
    }
    if (bodyFailure instanceof IOException) {
      throw (IOException) bodyFailure;
    }
    if (bodyFailure != null) {
      throw (RuntimeException) bodyFailure;
    }
    try {
      return read(maxBytes);
    } catch (IOException e) {
      if (isTimeout(e) || readsTookLonger(engine.bodyTimeout().toNanos())) {
        throw new RequestBodyTimeoutException(engine.bodyTimeout());
      }
      throw e;
    }
  }

  /**
   * Notes when the body's reads begin, reading the engine's clock only when it is needed: before
   * the first read of a body that may take time to arrive. A body declared empty ({@code
   * Content-Length: 0}) is framed by the container, whose one read answers at once without
   * waiting for the client, so reading it looks at no clock (which costs as much as a fifth of a
   * replay's hash); should bytes come all the same, the reads are timed from the second one on.
   */
  private void beforeFirstRead(long declared) {
    if (declared != 0) {
      readStart = engine.nanoTime();
      readTimed = true;
    }
  }

  /**
   * A read returned (or failed) and the body's time is looked at.
   *
   * @return true if more than {@code limit} nanoseconds passed since the reads began
   */
  private boolean readsTookLonger(long limit) {
    if (!readTimed) {
      readStart = engine.nanoTime();
      readTimed = true;
      return false;
    }
    return engine.nanoTime() - readStart > limit;
  }

  /**
   * @param failure why a read failed
   * @return true if it was the container's idle timeout (Jetty's {@link TimeoutException},
   *     Tomcat's {@link java.net.SocketTimeoutException}): the client sent nothing for that long
   */
  static boolean isTimeout(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof TimeoutException || t instanceof java.net.SocketTimeoutException) {
        return true;
      }
    }
    return false;
  }

  private byte[] read(long maxBytes) throws IOException {
    long limit = engine.bodyTimeout().toNanos();
    long declared = getContentLengthLong();
    if (declared > maxBytes) {
      throw new RequestTooLargeException(maxBytes);
    }
    // read straight into the body's own array: sized by Content-Length when it is declared (so
    // a typical body is read with no copy and no scratch buffer), grown when it is not; a
    // declared length is trusted only up to 64 KiB before the bytes have actually arrived
    byte[] buffer = declared == 0
        ? NO_BODY
        : new byte[(int) (declared > 0 ? Math.min(declared, 64 * 1024) : 1024)];
    int count = 0;
    InputStream in = super.getInputStream();
    beforeFirstRead(declared);
    for (int reads = 0; ; reads++) {
      if (reads > 0 && readsTookLonger(limit)) {
        // each read is bounded by the container's idle timeout, the whole body by this
        throw new RequestBodyTimeoutException(engine.bodyTimeout());
      }
      if (count == buffer.length) {
        // full: one more byte tells whether the body ended exactly here
        int next = in.read();
        if (next < 0) {
          break;
        }
        if (count + 1L > maxBytes) {
          throw new RequestTooLargeException(maxBytes);
        }
        buffer = Arrays.copyOf(buffer,
            (int) Math.max(count + 1L, Math.min(2L * count + 1024, maxBytes + 1)));
        buffer[count++] = (byte) next;
        continue;
      }
      int n = in.read(buffer, count, buffer.length - count);
      if (n < 0) {
        break;
      }
      count += n;
      if (count > maxBytes) {
        throw new RequestTooLargeException(maxBytes);
      }
    }
    body = count == buffer.length ? buffer : Arrays.copyOf(buffer, count);
    return body;
  }

  /** @return true once the body has been read into memory */
  boolean isBodyBuffered() {
    return body != null;
  }

  @Override
  public ServletInputStream getInputStream() throws IOException {
    if (body == null) {
      return super.getInputStream();
    }
    notCalledYet(reader, "getReader()");
    if (stream == null) {
      stream = new BodyStream(body);
    }
    return stream;
  }

  @Override
  public BufferedReader getReader() throws IOException {
    if (body == null) {
      return super.getReader();
    }
    notCalledYet(stream, "getInputStream()");
    if (reader == null) {
      reader = new BufferedReader(new InputStreamReader(new BodyStream(body), bodyCharset()));
    }
    return reader;
  }

  /** A request's body is read through its stream or its reader, never both. */
  private static void notCalledYet(@Nullable Object other, String method) {
    if (other != null) {
      throw new IllegalStateException(method + " has already been called for this request");
    }
  }

  @Override
  public int getContentLength() {
    return body == null ? super.getContentLength() : body.length;
  }

  @Override
  public long getContentLengthLong() {
    return body == null ? super.getContentLengthLong() : body.length;
  }

  @Override
  public @Nullable String getParameter(String name) {
    if (!isBufferedForm()) {
      return super.getParameter(name);
    }
    String[] values = formParameters().get(name);
    return values == null ? null : values[0];
  }

  @Override
  public Map<String, String[]> getParameterMap() {
    return isBufferedForm() ? formParameters() : super.getParameterMap();
  }

  @Override
  public Enumeration<String> getParameterNames() {
    return isBufferedForm()
        ? Collections.enumeration(formParameters().keySet())
        : super.getParameterNames();
  }

  @Override
  public String @Nullable [] getParameterValues(String name) {
    if (!isBufferedForm()) {
      return super.getParameterValues(name);
    }
    String[] values = formParameters().get(name);
    return values == null ? null : values.clone();
  }

  /**
   * Arranges for {@code listener} to hear about the async cycle the handler may start, with the
   * capturing response in the async context, and for the handler's own {@code complete()} of that
   * cycle to be reported to the exchange before the container ends the response.
   */
  void watchAsync(CapturingResponse response, AsyncListener listener) {
    this.asyncResponse = response;
    this.asyncListener = listener;
    this.beforeAsyncComplete =
        () -> OnceFilter.await(response.exchange().asyncCompleted(response));
  }

  @Override
  public AsyncContext startAsync() {
    // the no-argument form would hand the async code the unwrapped response, bypassing the capture
    return asyncResponse == null ? super.startAsync() : startAsync(this, asyncResponse);
  }

  @Override
  public AsyncContext startAsync(ServletRequest request, ServletResponse response) {
    AsyncContext context = super.startAsync(request, response);
    watch(context);
    if (beforeAsyncComplete == null) {
      return context;
    }
    asyncContext = new EndingAsyncContext(context, beforeAsyncComplete);
    return asyncContext;
  }

  @Override
  public AsyncContext getAsyncContext() {
    AsyncContext context = super.getAsyncContext();
    EndingAsyncContext ending = asyncContext;
    return ending != null && ending.delegate == context ? ending : context;
  }

  /**
   * Watches the request's async cycle if the handler started one by a path that bypassed this
   * wrapper.
   *
   * @return true if the request is in async mode, so the record is finished by the listener
   */
  boolean watchAsyncIfStarted() {
    if (asyncWatched) {
      return true;
    }
    if (!isAsyncStarted()) {
      return false;
    }
    watch(getAsyncContext());
    return true;
  }

  private void watch(AsyncContext context) {
    if (!asyncWatched && asyncListener != null) {
      asyncWatched = true;
      context.addListener(asyncListener);
    }
  }

  private Map<String, String[]> formParameters() {
    if (parameters == null) {
      Map<String, List<String>> collected = new LinkedHashMap<>();
      decode(getQueryString(), StandardCharsets.UTF_8, collected);
      decode(new String(body, StandardCharsets.ISO_8859_1), formCharset(), collected);
      Map<String, String[]> map = new LinkedHashMap<>();
      collected.forEach((name, values) -> map.put(name, values.toArray(new String[0])));
      parameters = Collections.unmodifiableMap(map);
    }
    return parameters;
  }

  private boolean isBufferedForm() {
    if (body == null) {
      return false;
    }
    String type = getContentType();
    return type != null && type.toLowerCase(Locale.ROOT).startsWith(FORM);
  }

  private static void decode(String encoded, Charset charset, Map<String, List<String>> into) {
    if (encoded == null || encoded.isEmpty()) {
      return;
    }
    for (String pair : encoded.split("&")) {
      if (pair.isEmpty()) {
        continue;
      }
      int eq = pair.indexOf('=');
      String name = eq < 0 ? pair : pair.substring(0, eq);
      String value = eq < 0 ? "" : pair.substring(eq + 1);
      into.computeIfAbsent(urlDecode(name, charset), n -> new ArrayList<>())
          .add(urlDecode(value, charset));
    }
  }

  private static String urlDecode(String text, Charset charset) {
    // the body was read as ISO-8859-1 so each byte is one char; re-encode to decode the escapes
    try {
      return URLDecoder.decode(
          new String(text.getBytes(StandardCharsets.ISO_8859_1), charset), charset);
    } catch (IllegalArgumentException e) {
      return text;
    }
  }

  private Charset formCharset() {
    Charset declared = declaredCharset();
    return declared == null ? StandardCharsets.UTF_8 : declared;
  }

  private Charset bodyCharset() {
    Charset declared = declaredCharset();
    if (declared != null) {
      return declared;
    }
    String type = getContentType();
    if (type != null && type.toLowerCase(Locale.ROOT).contains("json")) {
      return StandardCharsets.UTF_8; // RFC 8259: JSON is UTF-8
    }
    String contextDefault = getServletContext() == null
        ? null
        : getServletContext().getRequestCharacterEncoding();
    return contextDefault == null ? StandardCharsets.ISO_8859_1 : Charset.forName(contextDefault);
  }

  private @Nullable Charset declaredCharset() {
    String name = getCharacterEncoding();
    if (name == null) {
      return null;
    }
    try {
      return Charset.forName(name);
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  @Override
  public void setCharacterEncoding(String encoding) throws UnsupportedEncodingException {
    super.setCharacterEncoding(encoding);
    parameters = null;
  }

  /**
   * The buffered body, served again to the handler. It is always ready; with a {@link
   * ReadListener} it keeps the listener contract a non-blocking reader (such as a proxy that hands
   * each chunk on and reads the next when that is done) depends on: {@code onAllDataRead} comes
   * once, only after the listener has taken the last byte and is done with it, never while it may
   * still hold bytes it has not passed on. That is when its {@code onDataAvailable} returns having
   * read everything, or when it next asks for more ({@code isReady} or a {@code read} at the end)
   * from the thread it resumed on.
   */
  private static final class BodyStream extends ServletInputStream {
    private final byte[] body;
    private int position;
    private volatile @Nullable ReadListener listener;
    private volatile @Nullable Thread callbackThread;
    private boolean finishedInCallback;
    private final AtomicBoolean allDataReadSent = new AtomicBoolean();

    BodyStream(byte[] body) {
      this.body = body;
    }

    @Override
    public int read() {
      if (position >= body.length) {
        atEnd();
        return -1;
      }
      int b = body[position++] & 0xFF;
      noteFinished();
      return b;
    }

    @Override
    public int read(byte[] into, int offset, int length) {
      if (length == 0) {
        return 0;
      }
      if (position >= body.length) {
        atEnd();
        return -1;
      }
      int n = Math.min(length, body.length - position);
      System.arraycopy(body, position, into, offset, n);
      position += n;
      noteFinished();
      return n;
    }

    @Override
    public int available() {
      return body.length - position;
    }

    @Override
    public boolean isFinished() {
      return position >= body.length;
    }

    @Override
    public boolean isReady() {
      if (isFinished()) {
        atEnd();
      }
      return true;
    }

    @Override
    public void setReadListener(ReadListener listener) {
      Objects.requireNonNull(listener, "listener");
      if (this.listener != null) {
        throw new IllegalStateException("a ReadListener is already set");
      }
      this.listener = listener;
      if (!isFinished()) {
        callbackThread = Thread.currentThread();
        try {
          listener.onDataAvailable();
        } catch (IOException | RuntimeException e) {
          listener.onError(e);
          return;
        } finally {
          callbackThread = null;
        }
        if (!finishedInCallback) {
          return; // it goes on from another thread and is told when it next asks for more
        }
      }
      sendAllDataRead(listener);
    }

    private void noteFinished() {
      if (listener != null && isFinished() && Thread.currentThread() == callbackThread) {
        finishedInCallback = true;
      }
    }

    /** The listener, outside its callback, asks for more when there is none: it is done. */
    private void atEnd() {
      ReadListener target = listener;
      if (target != null && Thread.currentThread() != callbackThread) {
        sendAllDataRead(target);
      }
    }

    private void sendAllDataRead(ReadListener target) {
      if (allDataReadSent.compareAndSet(false, true)) {
        try {
          target.onAllDataRead();
        } catch (IOException | RuntimeException e) {
          target.onError(e);
        }
      }
    }
  }
}
