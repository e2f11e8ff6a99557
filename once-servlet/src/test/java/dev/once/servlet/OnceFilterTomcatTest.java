package dev.once.servlet;

/** The filter's behaviour in Tomcat 11. */
class OnceFilterTomcatTest extends OnceFilterTest {
  @Override
  TestServer.Container container() {
    return TestServer.Container.TOMCAT;
  }
}
