package dev.once.jaxrs;

import dev.once.suite.OnceHttpSuite;
import dev.once.suite.ServerFactory;

/** The shared HTTP suite: {@link OnceFeature} on Jersey 3.1 and its Grizzly HTTP server. */
class OnceFeatureJerseySuiteTest extends OnceHttpSuite {
  @Override
  protected ServerFactory servers() {
    return JaxrsServers.jersey();
  }
}
