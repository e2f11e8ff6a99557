package dev.once.jaxrs;

import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.container.ContainerRequestFilter;
import jakarta.ws.rs.container.PreMatching;
import java.io.IOException;

/** The request filter of {@link OnceFeature#everyRequest}: before matching, every request. */
@PreMatching
final class EveryRequestFilter implements ContainerRequestFilter {
  private final Gate gate;

  EveryRequestFilter(Gate gate) {
    this.gate = gate;
  }

  @Override
  public void filter(ContainerRequestContext context) throws IOException {
    gate.filter(context, true);
  }
}
