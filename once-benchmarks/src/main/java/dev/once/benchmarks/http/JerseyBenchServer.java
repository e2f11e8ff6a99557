package dev.once.benchmarks.http;

import dev.once.Once;
import dev.once.jaxrs.OnceFeature;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.core.Response;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.glassfish.grizzly.http.server.HttpServer;
import org.glassfish.jersey.CommonProperties;
import org.glassfish.jersey.grizzly2.httpserver.GrizzlyHttpServerFactory;
import org.glassfish.jersey.server.ResourceConfig;
import org.glassfish.jersey.server.ServerProperties;

/**
 * Jersey 3.1 on its Grizzly HTTP server, one server per mode on its own loopback port, each an
 * application of the same resource at {@code /<mode>/payments}: bare without {@code once}, and
 * with {@link OnceFeature#everyRequest} on the mode's engine. One server per mode because a
 * Jersey application has one set of providers; they run in one JVM, so they share its JIT, and the
 * harness loads one at a time.
 */
final class JerseyBenchServer implements ModeServer {
  /** Grizzly and Jersey announce each server at INFO. */
  private static final Logger GLASSFISH = Logger.getLogger("org.glassfish");

  private final Map<String, HttpServer> servers;

  private JerseyBenchServer(Map<String, HttpServer> servers) {
    this.servers = servers;
  }

  /**
   * Starts a bare server and one per filtered mode.
   *
   * @param filtered the engine of each filtered mode, by mode name
   * @return the running servers
   */
  static JerseyBenchServer start(Map<String, Once> filtered) {
    GLASSFISH.setLevel(Level.WARNING);
    Map<String, HttpServer> servers = new LinkedHashMap<>();
    JerseyBenchServer started = new JerseyBenchServer(servers);
    try {
      servers.put(BenchServer.BARE, start(new ResourceConfig()));
      for (Map.Entry<String, Once> mode : filtered.entrySet()) {
        servers.put(mode.getKey(),
            start(new ResourceConfig().register(OnceFeature.everyRequest(mode.getValue()))));
      }
      return started;
    } catch (IOException | RuntimeException e) {
      started.close();
      throw new IllegalStateException("a Jersey server did not start", e);
    }
  }

  private static HttpServer start(ResourceConfig application) throws IOException {
    application.register(Payments.class)
        .property(ServerProperties.WADL_FEATURE_DISABLE, true)
        .property(CommonProperties.PROVIDER_DEFAULT_DISABLE, "DATASOURCE");
    HttpServer server = GrizzlyHttpServerFactory.createHttpServer(
        URI.create("http://127.0.0.1:0/"), application, false);
    // Grizzly closes a keep-alive connection after 256 requests by default; Jetty never does
    server.getListeners().forEach(listener -> listener.getKeepAlive().setMaxRequestsCount(-1));
    server.start();
    return server;
  }

  @Override
  public URI uri(String mode) {
    int port = servers.get(mode).getListeners().iterator().next().getPort();
    return URI.create("http://127.0.0.1:" + port + "/" + mode + "/payments");
  }

  @Override
  public void close() {
    servers.values().forEach(HttpServer::shutdownNow);
  }

  /** The trivial handler: reads the body, answers 201 with a small JSON document. */
  @Path("{mode}/payments")
  public static final class Payments {
    @POST
    public Response pay(InputStream body) throws IOException {
      body.transferTo(OutputStream.nullOutputStream());
      return Response.status(Response.Status.CREATED)
          .type("application/json")
          .entity(BenchServer.CREATED)
          .build();
    }
  }
}
