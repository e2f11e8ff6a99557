package dev.once.servlet;

import dev.once.Once;
import dev.once.suite.JettyServer;
import dev.once.suite.RunningServer;
import dev.once.suite.ServletHandler;
import jakarta.servlet.DispatcherType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.catalina.Context;
import org.apache.catalina.connector.Connector;
import org.apache.catalina.startup.Tomcat;
import org.apache.tomcat.util.descriptor.web.FilterDef;
import org.apache.tomcat.util.descriptor.web.FilterMap;

/**
 * Starts a real servlet container, Jetty 12 or Tomcat 11, with {@link OnceFilter} in front of the
 * test's servlets.
 */
final class TestServer {
  /** The containers the filter is tested in. */
  enum Container {
    JETTY,
    TOMCAT
  }

  private TestServer() {}

  /** @return a builder of a Jetty server */
  static Builder with(Once once) {
    return new Builder(once, Container.JETTY);
  }

  static Builder with(Once once, Container container) {
    return new Builder(once, container);
  }

  static final class Builder {
    private final Once once;
    private final Container container;
    private final Map<String, ServletHandler> handlers = new LinkedHashMap<>();
    private int maxThreads;
    private OnceFilter.BodyReading bodyReading = OnceFilter.BodyReading.BLOCKING;
    private long idleTimeoutMillis;
    private EnumSet<DispatcherType> dispatcherTypes;

    private Builder(Once once, Container container) {
      this.once = once;
      this.container = container;
    }

    Builder handle(String path, ServletHandler handler) {
      handlers.put(path, handler);
      return this;
    }

    /** Bounds the container's request threads, to show what holds one and what does not. */
    Builder maxThreads(int maxThreads) {
      this.maxThreads = maxThreads;
      return this;
    }

    /**
     * How the filter reads keyed bodies; non-blocking registers it for the {@code ASYNC}
     * dispatcher type too, as it must be.
     */
    Builder bodyReading(OnceFilter.BodyReading bodyReading) {
      this.bodyReading = bodyReading;
      return this;
    }

    /** Sets the container's idle timeout, which bounds each blocking read. */
    Builder idleTimeout(long millis) {
      this.idleTimeoutMillis = millis;
      return this;
    }

    /** Registers the filter for these dispatcher types only (a misconfiguration, say). */
    Builder dispatcherTypes(EnumSet<DispatcherType> types) {
      this.dispatcherTypes = types;
      return this;
    }

    private EnumSet<DispatcherType> dispatcherTypes() {
      if (dispatcherTypes != null) {
        return dispatcherTypes;
      }
      return bodyReading == OnceFilter.BodyReading.NON_BLOCKING
          ? EnumSet.of(DispatcherType.REQUEST, DispatcherType.ASYNC)
          : EnumSet.of(DispatcherType.REQUEST);
    }

    RunningServer start() throws Exception {
      return container == Container.JETTY ? startJetty() : startTomcat();
    }

    private RunningServer startTomcat() throws Exception {
      Path base = Files.createTempDirectory("once-tomcat");
      Tomcat tomcat = new Tomcat();
      tomcat.setBaseDir(base.toString());
      Connector connector = new Connector();
      connector.setPort(0);
      connector.setProperty("address", "127.0.0.1");
      if (maxThreads > 0) {
        connector.setProperty("maxThreads", Integer.toString(maxThreads));
        connector.setProperty("minSpareThreads", "2");
        connector.setProperty("maxConnections", "2000");
      }
      if (idleTimeoutMillis > 0) {
        connector.setProperty("connectionTimeout", Long.toString(idleTimeoutMillis));
      }
      tomcat.getService().addConnector(connector);
      tomcat.setConnector(connector);
      Context context = tomcat.addContext("", base.toString());
      FilterDef filter = new FilterDef();
      filter.setFilterName("once");
      filter.setFilter(new OnceFilter(once, bodyReading));
      filter.setAsyncSupported("true");
      context.addFilterDef(filter);
      FilterMap mapping = new FilterMap();
      mapping.setFilterName("once");
      mapping.addURLPattern("/*");
      for (DispatcherType type : dispatcherTypes()) {
        mapping.setDispatcher(type.name());
      }
      context.addFilterMap(mapping);
      int[] index = {0};
      handlers.forEach((path, handler) -> {
        String name = "servlet" + index[0]++;
        Tomcat.addServlet(context, name, handler.asServlet()).setAsyncSupported(true);
        context.addServletMappingDecoded(path, name);
      });
      tomcat.start();
      return RunningServer.of(connector.getLocalPort(), () -> {
        tomcat.stop();
        tomcat.destroy();
        deleteTree(base);
      });
    }

    /** Tomcat's base directory, which it leaves behind: a test run made hundreds. */
    private static void deleteTree(Path root) throws java.io.IOException {
      try (java.util.stream.Stream<Path> paths = Files.walk(root)) {
        paths.sorted(java.util.Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
      }
    }

    private RunningServer startJetty() throws Exception {
      return JettyServer.start(new OnceFilter(once, bodyReading), dispatcherTypes(), handlers,
          maxThreads, idleTimeoutMillis);
    }
  }
}
