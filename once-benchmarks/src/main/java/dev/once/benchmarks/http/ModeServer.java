package dev.once.benchmarks.http;

import java.net.URI;

/** A server of the harness: the same trivial POST handler under one path per mode. */
interface ModeServer extends AutoCloseable {
  /** @return the URL of a mode's handler */
  URI uri(String mode);
}
