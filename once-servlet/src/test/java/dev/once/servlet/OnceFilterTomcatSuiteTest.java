package dev.once.servlet;

import dev.once.suite.OnceHttpSuite;
import dev.once.suite.ServerFactory;

/** The shared HTTP suite: {@link OnceFilter} in Tomcat 11. */
class OnceFilterTomcatSuiteTest extends OnceHttpSuite {
  @Override
  protected ServerFactory servers() {
    return SuiteServlets.in(TestServer.Container.TOMCAT);
  }
}
