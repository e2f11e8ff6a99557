package dev.once.servlet;

/** How the filter reads keyed bodies, in Tomcat 11. */
class OnceFilterBodyTomcatTest extends OnceFilterBodyTest {
  @Override
  TestServer.Container container() {
    return TestServer.Container.TOMCAT;
  }
}
