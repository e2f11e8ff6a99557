package dev.once.jaxrs;

import dev.once.Exchange;
import dev.once.Once;
import dev.once.adapter.TeeOutput;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.container.ContainerResponseContext;
import jakarta.ws.rs.container.ContainerResponseFilter;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.ext.Providers;
import jakarta.ws.rs.ext.WriterInterceptor;
import jakarta.ws.rs.ext.WriterInterceptorContext;
import java.io.IOException;
import java.io.OutputStream;
import org.jspecify.annotations.Nullable;

/**
 * The response side of the adapter, a response filter and the outermost writer interceptor.
 *
 * <p>For a request the engine let run: the filter drops an {@code Idempotent-Replayed} header the
 * resource set (only a replay says it is one) and, when the response has no entity, finishes the
 * record there ({@code handlerReturned}), before the runtime sends the response; when it has one,
 * the interceptor copies the entity's bytes as they are written and finishes the record once the
 * last of them is written ({@code bodyEnded}), before the runtime ends the response. A writer that
 * fails finishes it as failed, before or after anything reached the client. Synchronous resource
 * methods, {@code AsyncResponse} and {@code CompletionStage} results take the same path, on the
 * thread that writes the response. A resource method that throws is answered by the runtime's
 * exception mappers (the default one's 500 included), whose response takes it too.
 *
 * <p>For an answer of the adapter's own (a replay, a problem): the filter puts its headers back as
 * built, after the application's filters, and the interceptor writes its body as it is.
 */
final class ResponseStage implements ContainerResponseFilter, WriterInterceptor {
  private final Parking parking;
  /** The application's providers, for {@link JerseyFailures}: injected by the runtime. */
  @Context
  private @Nullable Providers providers;

  ResponseStage(Parking parking) {
    this.parking = parking;
  }

  /** @return the application's providers, or null before the runtime injected them */
  @Nullable Providers providers() {
    return providers;
  }

  @Override
  public void filter(ContainerRequestContext request, ContainerResponseContext response) {
    Object answer = request.getProperty(Gate.ANSWER);
    if (answer instanceof Answer) {
      ((Answer) answer).reapply(response.getHeaders());
      return;
    }
    Object parked = request.getProperty(Gate.PARKED);
    if (parked instanceof String) {
      parking.drop((String) parked); // answered before the parked-request resource took it
    }
    Object keyed = request.getProperty(Gate.KEYED);
    if (!(keyed instanceof KeyedResponse)) {
      return;
    }
    KeyedResponse captured = (KeyedResponse) keyed;
    // only a replay says it is one
    response.getHeaders().keySet().removeIf(Once.REPLAYED_HEADER::equalsIgnoreCase);
    captured.respondedWith(response);
    if (!response.hasEntity()) {
      KeyedResponse.await(captured.exchange().handlerReturned(captured));
    }
  }

  @Override
  public void aroundWriteTo(WriterInterceptorContext context) throws IOException {
    Object answer = context.getProperty(Gate.ANSWER);
    if (answer instanceof Answer) {
      ((Answer) answer).writeBody(context.getOutputStream());
      return;
    }
    Object keyed = context.getProperty(Gate.KEYED);
    if (!(keyed instanceof KeyedResponse)) {
      context.proceed();
      return;
    }
    KeyedResponse captured = (KeyedResponse) keyed;
    Exchange exchange = captured.exchange();
    if (exchange.isFinished()) {
      context.proceed(); // a second write (an error response after a failed one) is not kept
      return;
    }
    captured.writtenAs(context.getMediaType());
    OutputStream wire = context.getOutputStream();
    TeeOutput.Stream capturing = captured.stream(wire,
        declaredLength(context.getHeaders().getFirst(HttpHeaders.CONTENT_LENGTH)));
    context.setOutputStream(capturing);
    try {
      context.proceed();
    } catch (IOException | RuntimeException | Error e) {
      KeyedResponse.await(capturing.passedAny()
          ? exchange.failedAfterCommit(e, captured)
          : exchange.failedBeforeCommit(e));
      throw e;
    } finally {
      context.setOutputStream(wire);
    }
    captured.ended();
  }

  private static long declaredLength(Object value) {
    if (value == null) {
      return -1;
    }
    try {
      long length = Long.parseLong(value.toString().trim());
      return length < 0 ? -1 : length;
    } catch (NumberFormatException e) {
      return -1;
    }
  }
}
