package dev.once.examples.jaxrs;

import dev.once.MemoryStore;
import dev.once.Once;
import dev.once.jaxrs.Idempotent;
import dev.once.jaxrs.OnceFeature;
import jakarta.inject.Singleton;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.net.URI;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.glassfish.grizzly.http.server.HttpServer;
import org.glassfish.jersey.CommonProperties;
import org.glassfish.jersey.grizzly2.httpserver.GrizzlyHttpServerFactory;
import org.glassfish.jersey.server.ResourceConfig;
import org.glassfish.jersey.server.ServerProperties;

/** A payments service on Jersey 3.1 whose {@code POST /payments} runs once per Idempotency-Key. */
public final class PaymentsServer {
  /** Grizzly announces its listener at INFO; the ready line is the service's own. */
  private static final Logger GRIZZLY = Logger.getLogger("org.glassfish.grizzly");

  private PaymentsServer() {}

  /** POST charges a card, so it must run once per key; GET counts the charges made. */
  @Path("/payments")
  @Produces(MediaType.APPLICATION_JSON)
  @Singleton
  public static final class Payments {
    private final AtomicLong executions = new AtomicLong();

    @POST
    @Idempotent
    public Response pay(String payment) {
      long n = executions.incrementAndGet();
      return Response.created(URI.create("/payments/pay_" + n))
          .entity("{\"id\":\"pay_" + n + "\",\"status\":\"created\",\"executions\":" + n + "}\n")
          .build();
    }

    @GET
    public String executions() {
      return "{\"executions\":" + executions.get() + "}\n";
    }
  }

  /** Starts the service on {@code host:port} (port 0: a free one); the caller stops it. */
  public static HttpServer start(String host, int port) throws Exception {
    Once once = Once.builder(MemoryStore.create())
        .ttl(Duration.ofHours(1))
        .requireKey(true)
        .build();

    ResourceConfig application = new ResourceConfig()
        .register(OnceFeature.annotated(once))
        .register(Payments.class)
        // without JAXB and Jakarta Activation, Jersey warns at start that it cannot offer these
        .property(ServerProperties.WADL_FEATURE_DISABLE, true)
        .property(CommonProperties.PROVIDER_DEFAULT_DISABLE, "DATASOURCE");

    GRIZZLY.setLevel(Level.WARNING);
    HttpServer server = GrizzlyHttpServerFactory.createHttpServer(
        URI.create("http://" + host + ":" + port + "/"), application, false);
    server.start();
    return server;
  }

  public static void main(String[] args) throws Exception {
    String port = System.getenv("PORT");
    HttpServer server = start("127.0.0.1",
        port == null || port.isBlank() ? 8080 : Integer.parseInt(port));
    Runtime.getRuntime().addShutdownHook(new Thread(server::shutdownNow));
    int listening = server.getListeners().iterator().next().getPort();
    System.out.println("once jaxrs example listening on http://127.0.0.1:" + listening);
    Thread.currentThread().join();
  }
}
