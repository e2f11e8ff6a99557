package dev.once.servlet;

import jakarta.servlet.ServletOutputStream;
import jakarta.servlet.WriteListener;
import java.io.IOException;

/**
 * The response's output stream, copying every byte the client is sent into the capture. Bytes are
 * copied before they are passed on, so that when they are the last ones (the declared length is
 * reached, or the stream is closed) the record is finished before the client can see the end.
 */
final class TeeOutputStream extends ServletOutputStream {
  final ServletOutputStream delegate;
  private final ResponseCapture capture;
  private final CapturingResponse response;

  TeeOutputStream(ServletOutputStream delegate, ResponseCapture capture,
      CapturingResponse response) {
    this.delegate = delegate;
    this.capture = capture;
    this.response = response;
  }

  @Override
  public void write(int b) throws IOException {
    capture.write(b);
    response.bodyWritten();
    delegate.write(b);
  }

  @Override
  public void write(byte[] bytes, int offset, int length) throws IOException {
    capture.write(bytes, offset, length);
    response.bodyWritten();
    delegate.write(bytes, offset, length);
  }

  @Override
  public void flush() throws IOException {
    delegate.flush();
  }

  @Override
  public void close() throws IOException {
    response.ending();
    delegate.close();
  }

  @Override
  public boolean isReady() {
    return delegate.isReady();
  }

  @Override
  public void setWriteListener(WriteListener listener) {
    delegate.setWriteListener(listener);
  }
}
