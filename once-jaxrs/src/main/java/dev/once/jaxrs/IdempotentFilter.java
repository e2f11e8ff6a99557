package dev.once.jaxrs;

import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.container.ContainerRequestFilter;
import java.io.IOException;

/** The request filter of {@link OnceFeature#annotated}: bound by name to {@link Idempotent}. */
@Idempotent
final class IdempotentFilter implements ContainerRequestFilter {
  private final Gate gate;

  IdempotentFilter(Gate gate) {
    this.gate = gate;
  }

  @Override
  public void filter(ContainerRequestContext context) throws IOException {
    gate.filter(context, false);
  }
}
