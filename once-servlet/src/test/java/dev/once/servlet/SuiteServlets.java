package dev.once.servlet;

import dev.once.suite.Handler;
import dev.once.suite.Reply;
import dev.once.suite.Request;
import dev.once.suite.ServerFactory;
import dev.once.suite.ServletHandler;
import jakarta.servlet.AsyncContext;
import jakarta.servlet.ServletOutputStream;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;

/**
 * The shared HTTP suite's servers in a servlet container: {@link OnceFilter} in front of every
 * path, each of the suite's handlers as a servlet.
 */
final class SuiteServlets {
  private SuiteServlets() {}

  /**
   * @param container Jetty or Tomcat
   * @return a factory of that container's servers, its request threads bounded as asked
   */
  static ServerFactory in(TestServer.Container container) {
    return spec -> {
      TestServer.Builder builder =
          TestServer.with(spec.once(), container).maxThreads(spec.workerThreads());
      spec.routes().forEach((path, handler) -> builder.handle(path, servlet(handler)));
      return builder.start();
    };
  }

  /**
   * A blocking handler answers on the request thread; an async one in async mode, from the thread
   * that completes its stage.
   */
  private static ServletHandler servlet(Handler handler) {
    return (request, response) -> {
      Request call = new Request(request.getMethod(), request.getRequestURI(),
          request.getQueryString(), request.getInputStream().readAllBytes());
      if (handler instanceof Handler.Blocking blocking) {
        write(blocking.handle(call), response);
        return;
      }
      AsyncContext async = request.startAsync();
      ((Handler.Async) handler).handle(call).whenComplete((reply, failure) -> {
        HttpServletResponse asyncResponse = (HttpServletResponse) async.getResponse();
        try {
          if (failure != null) {
            asyncResponse.sendError(500);
          } else {
            write(reply, asyncResponse);
          }
        } catch (IOException e) {
          // the client is gone; the filter has seen the failed write
        } finally {
          async.complete();
        }
      });
    };
  }

  private static void write(Reply reply, HttpServletResponse response) throws IOException {
    response.setStatus(reply.status());
    for (Reply.Header header : reply.headers()) {
      response.addHeader(header.name(), header.value());
    }
    ServletOutputStream out = response.getOutputStream();
    for (byte[] chunk : reply.chunks()) {
      out.write(chunk);
    }
  }
}
