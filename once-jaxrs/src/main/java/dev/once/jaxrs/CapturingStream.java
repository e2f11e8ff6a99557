package dev.once.jaxrs;

import java.io.IOException;
import java.io.OutputStream;

/**
 * The entity stream of a keyed response, copying every byte the client is sent into the capture.
 * Bytes are copied before they are passed on, so that when they are the last ones (the declared
 * {@code Content-Length} is reached, or a writer closes the stream) the record is finished before
 * the client can see the end. A write to a client that hung up is reported (see {@link
 * KeyedResponse}) and does not reach the writer while its answer can still be kept.
 */
final class CapturingStream extends OutputStream {
  private final OutputStream delegate;
  private final KeyedResponse response;
  private final long declaredLength;
  private boolean passedAny;

  CapturingStream(OutputStream delegate, KeyedResponse response, long declaredLength) {
    this.delegate = delegate;
    this.response = response;
    this.declaredLength = declaredLength;
  }

  /** @return true once any byte was passed on towards the client */
  boolean passedAny() {
    return passedAny;
  }

  @Override
  public void write(int b) throws IOException {
    response.capture().write(b);
    written();
    if (response.isClientGone()) {
      response.checkStillKeeping();
      return;
    }
    passedAny = true;
    try {
      delegate.write(b);
    } catch (IOException e) {
      response.clientFailed(e);
    }
  }

  @Override
  public void write(byte[] bytes, int offset, int length) throws IOException {
    response.capture().write(bytes, offset, length);
    written();
    if (response.isClientGone()) {
      response.checkStillKeeping();
      return;
    }
    passedAny = true;
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
    ended();
    if (response.isClientGone()) {
      return;
    }
    try {
      delegate.close();
    } catch (IOException e) {
      response.clientFailed(e);
    }
  }

  /**
   * If the body now has exactly its declared length, the bytes about to be passed on end the
   * response: the record is finished first. A body that goes past it is the writer's error, which
   * the runtime reports; it ends nothing here.
   */
  private void written() {
    if (declaredLength >= 0 && response.capture().total() == declaredLength) {
      ended();
    }
  }

  /** The body is whole: finishes the record, and waits for it, before the end goes on. */
  void ended() {
    KeyedResponse.await(response.exchange().bodyEnded(response));
  }
}
