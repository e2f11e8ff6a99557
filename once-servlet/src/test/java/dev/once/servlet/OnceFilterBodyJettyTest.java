package dev.once.servlet;

/** How the filter reads keyed bodies, in Jetty 12. */
class OnceFilterBodyJettyTest extends OnceFilterBodyTest {
  @Override
  TestServer.Container container() {
    return TestServer.Container.JETTY;
  }
}
