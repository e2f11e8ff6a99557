package dev.once.servlet;

import jakarta.servlet.ServletOutputStream;
import jakarta.servlet.WriteListener;
import java.io.IOException;

/**
 * The response's output stream, copying every byte the client is sent into the capture. Bytes are
 * copied before they are passed on, so that when they are the last ones (the declared length is
 * reached, or the stream is closed) the record is finished before the client can see the end. A
 * write to a client that hung up is reported to the response (see {@link CapturingResponse}) and
 * does not reach the handler while its answer can still be kept.
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
    if (response.isClientGone()) {
      response.checkStillKeeping();
      return;
    }
    try {
      delegate.write(b);
    } catch (IOException e) {
      response.clientFailed(e);
    }
  }

  @Override
  public void write(byte[] bytes, int offset, int length) throws IOException {
    capture.write(bytes, offset, length);
    response.bodyWritten();
    if (response.isClientGone()) {
      response.checkStillKeeping();
      return;
    }
    try {
      delegate.write(bytes, offset, length);
    } catch (IOException e) {
      response.clientFailed(e);
    }
  }

  @Override
  public void flush() throws IOException {
    if (response.isClientGone()) {
      return;
    }
    try {
      delegate.flush();
    } catch (IOException e) {
      response.clientFailed(e);
    }
  }

  @Override
  public void close() throws IOException {
    response.ending();
    if (response.isClientGone()) {
      return;
    }
    try {
      delegate.close();
    } catch (IOException e) {
      response.clientFailed(e);
    }
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
