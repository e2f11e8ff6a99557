package dev.once.benchmarks.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class JavaLoadGeneratorTest {

  private static InputStream stream(String text) {
    return new ByteArrayInputStream(text.getBytes(StandardCharsets.ISO_8859_1));
  }

  @Test
  void readsResponsesWithContentLengthBackToBack() throws IOException {
    InputStream in = stream("HTTP/1.1 201 Created\r\nContent-Length: 5\r\n\r\nhello"
        + "HTTP/1.1 409 Conflict\r\ncontent-length: 2\r\nRetry-After: 1\r\n\r\n{}");
    assertThat(JavaLoadGenerator.readResponse(in)).isEqualTo(201);
    assertThat(JavaLoadGenerator.readResponse(in)).isEqualTo(409);
    assertThat(in.read()).isEqualTo(-1);
  }

  @Test
  void readsChunkedResponsesToTheEnd() throws IOException {
    InputStream in = stream("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        + "3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\n\r\n"
        + "HTTP/1.1 204 No Content\r\n\r\n");
    assertThat(JavaLoadGenerator.readResponse(in)).isEqualTo(200);
    assertThat(JavaLoadGenerator.readResponse(in)).isEqualTo(204);
  }

  @Test
  void aServerClosingTheConnectionOrCuttingTheBodyIsAnError() {
    assertThatThrownBy(() -> JavaLoadGenerator.readResponse(
        stream("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("closed the connection");
    assertThatThrownBy(() -> JavaLoadGenerator.readResponse(
        stream("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")))
        .isInstanceOf(EOFException.class);
    assertThatThrownBy(() -> JavaLoadGenerator.readResponse(stream("SSH-2.0\r\n")))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("not an HTTP/1.1 response");
  }

  @Test
  void percentilesAreNearestRankInMicroseconds() {
    long[] nanos = new long[100];
    for (int i = 0; i < 100; i++) {
      nanos[i] = (i + 1) * 1000L;
    }
    assertThat(JavaLoadGenerator.percentileMicros(nanos, 50)).isEqualTo(50.0);
    assertThat(JavaLoadGenerator.percentileMicros(nanos, 99)).isEqualTo(99.0);
    assertThat(JavaLoadGenerator.percentileMicros(new long[0], 50)).isNaN();
  }
}
