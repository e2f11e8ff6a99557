package dev.once.jaxrs;

import dev.once.suite.Handler;
import dev.once.suite.Reply;
import dev.once.suite.Request;
import jakarta.annotation.Priority;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.HttpMethod;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Priorities;
import jakarta.ws.rs.container.AsyncResponse;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.container.ContainerRequestFilter;
import jakarta.ws.rs.container.PreMatching;
import jakarta.ws.rs.container.Suspended;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.StreamingOutput;
import jakarta.ws.rs.core.UriInfo;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import java.net.URI;
import java.util.Map;
import java.util.concurrent.CompletionStage;

/**
 * The shared suite's handlers as Jakarta REST resources, the same on every runtime: a resource
 * method per handler shape, reached whatever the request's method. A blocking handler is a
 * synchronous resource method; an async one returns a {@code CompletionStage}, or resumes an
 * {@code AsyncResponse}, as the runtime's test asks.
 */
final class SuiteResources {
  /** The request header that carries the method as the client sent it to the resource. */
  static final String METHOD_SENT = "X-Suite-Method-Sent";

  private SuiteResources() {}

  /** The three shapes of resource method, each a method designator of its own. */
  @Target(ElementType.METHOD)
  @Retention(RetentionPolicy.RUNTIME)
  @HttpMethod("SUITE_BLOCKING")
  @interface Blocking {}

  @Target(ElementType.METHOD)
  @Retention(RetentionPolicy.RUNTIME)
  @HttpMethod("SUITE_STAGE")
  @interface Stage {}

  @Target(ElementType.METHOD)
  @Retention(RetentionPolicy.RUNTIME)
  @HttpMethod("SUITE_SUSPENDED")
  @interface Suspending {}

  /**
   * A route answers any method: a request to a route's path is given the designator of its
   * handler's shape, after {@code once} has seen its method (this filter's priority is the
   * application's, after {@link OnceFeature#REQUEST_PRIORITY}), and the method as sent goes on in
   * a header.
   */
  @PreMatching
  @Priority(Priorities.USER)
  static final class AnyMethod implements ContainerRequestFilter {
    private final Map<String, Handler> routes;
    private final boolean asyncResponse;

    AnyMethod(Map<String, Handler> routes, boolean asyncResponse) {
      this.routes = routes;
      this.asyncResponse = asyncResponse;
    }

    @Override
    public void filter(ContainerRequestContext context) {
      Handler handler = routes.get(context.getUriInfo().getRequestUri().getRawPath());
      if (handler == null) {
        return;
      }
      context.getHeaders().putSingle(METHOD_SENT, context.getMethod());
      context.setMethod(handler instanceof Handler.Blocking ? "SUITE_BLOCKING"
          : asyncResponse ? "SUITE_SUSPENDED" : "SUITE_STAGE");
    }
  }

  /** Every route. */
  @Path("{path: .*}")
  public static final class Routes {
    private final Map<String, Handler> routes;

    Routes(Map<String, Handler> routes) {
      this.routes = routes;
    }

    @Blocking
    public Response blocking(@HeaderParam(METHOD_SENT) String method, @Context UriInfo uri,
        byte[] body) throws Exception {
      Request request = request(method, uri, body);
      return write(((Handler.Blocking) routes.get(request.path())).handle(request));
    }

    @Stage
    public CompletionStage<Response> stage(@HeaderParam(METHOD_SENT) String method,
        @Context UriInfo uri, byte[] body) {
      Request request = request(method, uri, body);
      return ((Handler.Async) routes.get(request.path())).handle(request)
          .thenApply(Routes::write);
    }

    @Suspending
    public void suspended(@HeaderParam(METHOD_SENT) String method, @Context UriInfo uri,
        byte[] body, @Suspended AsyncResponse response) {
      Request request = request(method, uri, body);
      ((Handler.Async) routes.get(request.path())).handle(request)
          .whenComplete((reply, failure) -> {
            if (failure != null) {
              response.resume(failure);
            } else {
              response.resume(write(reply));
            }
          });
    }

    private static Request request(String method, UriInfo uri, byte[] body) {
      URI sent = uri.getRequestUri();
      return new Request(method, sent.getRawPath(), sent.getRawQuery(), body);
    }

    /** The reply's headers added in order, its body written chunk by chunk. */
    private static Response write(Reply reply) {
      Response.ResponseBuilder response = Response.status(reply.status());
      for (Reply.Header header : reply.headers()) {
        response.header(header.name(), header.value());
      }
      if (!reply.chunks().isEmpty()) {
        response.entity((StreamingOutput) out -> {
          for (byte[] chunk : reply.chunks()) {
            out.write(chunk);
          }
        });
      }
      return response.build();
    }
  }
}
