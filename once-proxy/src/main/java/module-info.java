/** once-proxy: an idempotency reverse proxy in front of any HTTP service. */
module dev.once.proxy {
  requires dev.once.servlet;
  requires dev.once.micrometer;
  requires micrometer.registry.prometheus;
  requires jakarta.servlet;
  requires java.logging;
  requires jdk.unsupported;
  requires org.eclipse.jetty.client;
  requires org.eclipse.jetty.ee10.proxy;
  requires org.eclipse.jetty.ee10.servlet;
  requires org.eclipse.jetty.http;
  requires org.eclipse.jetty.io;
  requires org.eclipse.jetty.proxy;
  requires org.eclipse.jetty.server;
  requires org.eclipse.jetty.util;
  requires org.slf4j;

  exports dev.once.proxy;

  uses dev.once.spi.StoreProvider;
}
