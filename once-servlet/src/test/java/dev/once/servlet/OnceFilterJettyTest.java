package dev.once.servlet;

/** The filter's behaviour in Jetty 12. */
class OnceFilterJettyTest extends OnceFilterTest {
  @Override
  TestServer.Container container() {
    return TestServer.Container.JETTY;
  }
}
