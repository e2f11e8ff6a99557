package dev.once.jaxrs;

import dev.once.suite.RunningServer;
import dev.once.suite.ServerFactory;
import io.undertow.Undertow;
import jakarta.ws.rs.core.Application;
import java.net.InetSocketAddress;
import java.net.URI;
import java.util.Set;
import java.util.function.Function;
import org.glassfish.grizzly.http.server.HttpServer;
import org.glassfish.grizzly.http.server.NetworkListener;
import org.glassfish.grizzly.threadpool.ThreadPoolConfig;
import org.glassfish.jersey.grizzly2.httpserver.GrizzlyHttpServerFactory;
import org.glassfish.jersey.server.ResourceConfig;
import org.glassfish.jersey.server.ServerProperties;
import org.jboss.resteasy.plugins.server.undertow.UndertowJaxrsServer;

/**
 * Real Jakarta REST servers on 127.0.0.1: Jersey on its Grizzly HTTP server, RESTEasy on
 * Undertow, each with an application of the given components.
 */
final class JaxrsServers {
  private JaxrsServers() {}

  /**
   * The shared suite's servers on Jersey: {@link OnceFeature#everyRequest} in front of the suite's
   * resources, async handlers returning a {@code CompletionStage}.
   */
  static ServerFactory jersey() {
    return spec -> jersey(spec.workerThreads(), OnceFeature.everyRequest(spec.once()),
        new SuiteResources.AnyMethod(spec.routes(), false),
        new SuiteResources.Routes(spec.routes()));
  }

  /**
   * The shared suite's servers on RESTEasy: {@link OnceFeature#everyRequest} in front of the
   * suite's resources, async handlers resuming an {@code AsyncResponse}.
   */
  static ServerFactory resteasy() {
    return spec -> resteasy(spec.workerThreads(), OnceFeature.everyRequest(spec.once()),
        new SuiteResources.AnyMethod(spec.routes(), true),
        new SuiteResources.Routes(spec.routes()));
  }

  /** The runtimes, for tests run on each. */
  enum Runtime {
    JERSEY(components -> started(() -> jersey(0, components))),
    RESTEASY(components -> started(() -> resteasy(0, components)));

    private final Function<Object[], RunningServer> starter;

    Runtime(Function<Object[], RunningServer> starter) {
      this.starter = starter;
    }

    RunningServer start(Object... components) {
      return starter.apply(components);
    }
  }

  private interface Starter {
    RunningServer start() throws Exception;
  }

  private static RunningServer started(Starter starter) {
    try {
      return starter.start();
    } catch (Exception e) {
      throw new IllegalStateException("the server did not start", e);
    }
  }

  static RunningServer jersey(int workerThreads, Object... components) throws Exception {
    ResourceConfig config = new ResourceConfig();
    config.property(ServerProperties.WADL_FEATURE_DISABLE, true);
    for (Object component : components) {
      config.register(component);
    }
    HttpServer server = GrizzlyHttpServerFactory.createHttpServer(
        URI.create("http://127.0.0.1:0/"), config, false);
    NetworkListener listener = server.getListeners().iterator().next();
    if (workerThreads > 0) {
      listener.getTransport().setWorkerThreadPoolConfig(ThreadPoolConfig.defaultConfig()
          .setCorePoolSize(workerThreads).setMaxPoolSize(workerThreads));
    }
    server.start();
    return new Started(listener.getPort(), server::shutdownNow);
  }

  static RunningServer resteasy(int workerThreads, Object... components) {
    Application application = new Application() {
      @Override
      public Set<Object> getSingletons() {
        return Set.of(components);
      }
    };
    PortedServer server = new PortedServer();
    server.deploy(application);
    Undertow.Builder builder = Undertow.builder().addHttpListener(0, "127.0.0.1");
    if (workerThreads > 0) {
      builder.setWorkerThreads(workerThreads);
    }
    server.start(builder);
    return new Started(server.port(), server::stop);
  }

  /** A started server: its port, and how it stops. */
  private record Started(int port, Runnable stop) implements RunningServer {
    @Override
    public void close() {
      stop.run();
    }
  }

  /** An Undertow server that tells the port it was given. */
  private static final class PortedServer extends UndertowJaxrsServer {
    int port() {
      return ((InetSocketAddress) server.getListenerInfo().get(0).getAddress()).getPort();
    }
  }
}
