package dev.once.jaxrs;

import dev.once.suite.OnceHttpSuite;
import dev.once.suite.ServerFactory;

/** The shared HTTP suite: {@link OnceFeature} on RESTEasy 6.2 and Undertow. */
class OnceFeatureResteasySuiteTest extends OnceHttpSuite {
  @Override
  protected ServerFactory servers() {
    return JaxrsServers.resteasy();
  }
}
