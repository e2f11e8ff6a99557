package dev.once.servlet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.once.MemoryStore;
import dev.once.Once;
import dev.once.RequestTooLargeException;
import jakarta.servlet.ReadListener;
import jakarta.servlet.ServletInputStream;
import jakarta.servlet.http.HttpServletRequest;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Proxy;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;

/**
 * Fuzzes how the filter reads a keyed request's body ({@link OnceServletRequest#body}) from any
 * stream: a Content-Length that is absent, true, or a lie in either direction; bytes arriving in
 * chunks of any size; a stream that fails part way; any limit. The answer is the body, exactly, or
 * {@link RequestTooLargeException}, or the stream's {@link IOException}; never more than the limit
 * is kept, and the handler is then served exactly the bytes that were read, as bytes, as text and
 * as form parameters.
 *
 * <p>Input: from its end the integers below; from its start the bytes the body repeats to its
 * length (so bodies past libFuzzer's input length are fuzzed too). Seeds in {@code
 * RequestBodyFuzzTestInputs/bodies}; docs/FUZZING.md says how to run it.
 */
class RequestBodyFuzzTest {
  private static final String[] CONTENT_TYPES = {null, "application/json",
      "text/plain; charset=UTF-8", "application/x-www-form-urlencoded",
      "application/x-www-form-urlencoded; charset=ISO-8859-1", "text/plain; charset=bogus"};
  private static final Once ENGINE = Once.builder(MemoryStore.create()).build();

  @FuzzTest
  void bodies(FuzzedDataProvider data) throws IOException {
    int length = data.consumeInt(0, 3) == 0 ? data.consumeInt(0, 200_000) : data.consumeInt(0, 300);
    long maxBytes = switch (data.consumeInt(0, 3)) {
      case 0 -> Once.Builder.MAX_BYTES_LIMIT;
      case 1 -> length + data.consumeInt(-2, 2);
      default -> data.consumeLong(0, 70_000);
    };
    long declared = switch (data.consumeInt(0, 3)) {
      case 0 -> -1;
      case 1 -> length;
      case 2 -> length + data.consumeInt(-100, 100);
      default -> data.consumeLong(-3, 1L << 40);
    };
    int chunk = data.consumeInt(1, 70_000);
    int failAt = data.consumeBoolean() ? data.consumeInt(0, length) : -1;
    String contentType = CONTENT_TYPES[data.consumeInt(0, CONTENT_TYPES.length - 1)];
    byte[] pattern = data.consumeRemainingAsBytes();
    byte[] sent = new byte[length];
    for (int i = 0; i < length && pattern.length > 0; i++) {
      sent[i] = pattern[i % pattern.length];
    }
    maxBytes = Math.max(0, maxBytes);

    ChunkedStream stream = new ChunkedStream(sent, chunk, failAt);
    OnceServletRequest request =
        new OnceServletRequest(request(stream, declared, contentType), ENGINE);
    byte[] body;
    try {
      body = request.body(maxBytes);
    } catch (RequestTooLargeException e) {
      assertThat(e.limit()).isEqualTo(maxBytes);
      assertThat(declared > maxBytes || length > maxBytes).isTrue();
      // what was read to find out: one byte past the limit, or the first scratch buffer
      assertThat((long) stream.position).isLessThanOrEqualTo(Math.max(maxBytes + 1, 1024));
      return;
    } catch (IOException e) {
      assertThat(e).isSameAs(stream.failure);
      return;
    }
    assertThat(declared).isLessThanOrEqualTo(maxBytes);
    assertThat(failAt).isEqualTo(-1);
    assertThat(body).isEqualTo(sent);
    assertThat(request.body(maxBytes)).isSameAs(body);
    assertThat(request.getContentLengthLong()).isEqualTo(body.length);
    assertServed(request, body, contentType);
  }

  private static void assertServed(OnceServletRequest request, byte[] body, String contentType)
      throws IOException {
    if (contentType != null && contentType.startsWith("application/x-www-form-urlencoded")) {
      assertThat(request.getParameterMap()).isNotNull();
    }
    if (contentType != null && contentType.startsWith("text/plain")) {
      try (BufferedReader reader = request.getReader()) {
        Charset charset = contentType.endsWith("UTF-8")
            ? StandardCharsets.UTF_8
            : StandardCharsets.ISO_8859_1;
        StringBuilder text = new StringBuilder();
        char[] chars = new char[1000];
        for (int n; (n = reader.read(chars)) >= 0; ) {
          text.append(chars, 0, n);
        }
        assertThat(text.toString()).isEqualTo(new String(body, charset));
      }
      return;
    }
    ServletInputStream in = request.getInputStream();
    assertThat(in.available()).isEqualTo(body.length);
    byte[] read = new byte[body.length];
    int at = 0;
    while (at < read.length) {
      if (at % 3 == 0) {
        read[at++] = (byte) in.read();
      } else {
        at += in.read(read, at, Math.min(read.length - at, 1 + at % 8191));
      }
    }
    assertThat(read).isEqualTo(body);
    assertThat(in.read()).isEqualTo(-1);
    assertThat(in.isFinished()).isTrue();
    assertThatThrownBy(request::getReader).isInstanceOf(IllegalStateException.class);
  }

  private static HttpServletRequest request(InputStream body, long declared, String type) {
    String charset = type == null || !type.contains("charset=")
        ? null
        : type.substring(type.indexOf("charset=") + 8);
    return (HttpServletRequest) Proxy.newProxyInstance(
        RequestBodyFuzzTest.class.getClassLoader(),
        new Class<?>[] {HttpServletRequest.class},
        (proxy, method, args) -> switch (method.getName()) {
          case "getInputStream" -> body;
          case "getContentLengthLong" -> declared;
          case "getContentLength" -> declared > Integer.MAX_VALUE ? -1 : (int) declared;
          case "getContentType" -> type;
          case "getCharacterEncoding" -> charset;
          case "getMethod" -> "POST";
          case "getRequestURI" -> "/fuzz";
          case "hashCode" -> System.identityHashCode(proxy);
          case "equals" -> proxy == args[0];
          default -> method.getReturnType() == boolean.class ? Boolean.FALSE : null;
        });
  }

  /** A body arriving at most {@code chunk} bytes a read, failing at {@code failAt} if set. */
  private static final class ChunkedStream extends ServletInputStream {
    private final byte[] bytes;
    private final int chunk;
    private final int failAt;
    final IOException failure = new IOException("the connection was reset");
    int position;

    ChunkedStream(byte[] bytes, int chunk, int failAt) {
      this.bytes = bytes;
      this.chunk = chunk;
      this.failAt = failAt;
    }

    @Override
    public int read() throws IOException {
      byte[] one = new byte[1];
      return read(one, 0, 1) < 0 ? -1 : one[0] & 0xFF;
    }

    @Override
    public int read(byte[] into, int offset, int length) throws IOException {
      if (position == failAt) {
        throw failure;
      }
      if (length == 0) {
        return 0;
      }
      if (position >= bytes.length) {
        return -1;
      }
      int end = failAt >= position ? failAt : bytes.length;
      int n = Math.max(1, Math.min(Math.min(length, chunk), end - position));
      System.arraycopy(bytes, position, into, offset, n);
      position += n;
      return n;
    }

    @Override
    public boolean isFinished() {
      return position >= bytes.length;
    }

    @Override
    public boolean isReady() {
      return true;
    }

    @Override
    public void setReadListener(ReadListener listener) {
      throw new UnsupportedOperationException();
    }
  }
}
