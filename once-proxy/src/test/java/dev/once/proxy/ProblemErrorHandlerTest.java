package dev.once.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.once.suite.Http;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The proxy's error handlers, installed as {@link ProxyServer} installs them, in front of code
 * that fails with a telltale message: the answer is a problem with the status's own sentence, never
 * the exception's text (Jetty's handler put {@code java.lang.ArithmeticException: long overflow}
 * in the detail).
 */
class ProblemErrorHandlerTest {
  private static final String TELLTALE = "long overflow at the secret place db.internal:5432";

  private Server server;
  private int port;

  @BeforeEach
  void start() throws Exception {
    server = new Server();
    ServerConnector connector = new ServerConnector(server);
    connector.setHost("127.0.0.1");
    connector.setPort(0);
    server.addConnector(connector);
    server.setErrorHandler(new ProblemErrorHandler());
    ServletContextHandler context = new ServletContextHandler();
    context.setContextPath("/");
    context.setErrorHandler(new ProblemErrorHandler.Servlet());
    context.addServlet(new ServletHolder(new HttpServlet() {
      private static final long serialVersionUID = 1L;

      @Override
      protected void service(HttpServletRequest request, HttpServletResponse response) {
        throw new ArithmeticException(TELLTALE);
      }
    }), "/throws");
    context.addServlet(new ServletHolder(new HttpServlet() {
      private static final long serialVersionUID = 1L;

      @Override
      protected void service(HttpServletRequest request, HttpServletResponse response)
          throws java.io.IOException {
        String status = request.getParameter("status");
        response.sendError(status == null ? 503 : Integer.parseInt(status), TELLTALE);
      }
    }), "/send-error");
    server.setHandler(new Handler.Wrapper(context) {
      @Override
      public boolean handle(Request request, Response response, Callback callback)
          throws Exception {
        if (request.getHttpURI().getPath().equals("/core-throws")) {
          throw new IllegalStateException(TELLTALE);
        }
        return super.handle(request, response, callback);
      }
    });
    server.start();
    port = connector.getLocalPort();
  }

  @AfterEach
  void stop() throws Exception {
    server.stop();
  }

  private HttpResponse<String> get(String path) throws Exception {
    return Http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)));
  }

  private static void assertProblemWithoutTheText(HttpResponse<String> response, int status,
      String detail) {
    assertThat(response.statusCode()).isEqualTo(status);
    assertThat(response.headers().firstValue("Content-Type")).hasValue("application/problem+json");
    assertThat(response.headers().firstValue("Cache-Control")).hasValue("no-store");
    assertThat(response.body()).contains("\"type\":\"about:blank\"", "\"detail\":\"" + detail)
        .doesNotContain("overflow", "secret", "Exception", "java.", "\tat ");
  }

  @Test
  void aServletThatThrowsIsA500WithoutTheExceptionsText() throws Exception {
    assertProblemWithoutTheText(get("/throws"), 500, "the proxy failed while handling the request");
  }

  @Test
  void aHandlerThatThrowsBeforeTheServletsIsA500WithoutTheExceptionsText() throws Exception {
    assertProblemWithoutTheText(get("/core-throws"), 500,
        "the proxy failed while handling the request");
  }

  @Test
  void anErrorSentWithAMessageIsAnsweredWithTheStatussSentenceNotTheMessage() throws Exception {
    assertProblemWithoutTheText(get("/send-error"), 503, "the proxy could not handle the request");
  }

  @Test
  void aRequestJettyCannotParseIsA400ProblemWithoutTheParsersAccount() throws Exception {
    String answer = Http.raw(port, "GET /throws HTTP/1.1\r\nHost: localhost\r\nX-Bad: a\u0001b\r\n"
        + "Connection: close\r\n\r\n");

    assertThat(answer).startsWith("HTTP/1.1 400 ")
        .contains("Content-Type: application/problem+json")
        .contains("\"detail\":\"the request is not valid HTTP")
        .doesNotContainIgnoringCase("illegal character");
  }

  @Test
  void aRequestTimeoutClosesTheConnectionAsEveryProblem408Does() throws Exception {
    String answer = Http.raw(port, "GET /send-error?status=408 HTTP/1.1\r\nHost: localhost\r\n"
        + "\r\n");

    assertThat(answer).startsWith("HTTP/1.1 408 ")
        .contains("Content-Type: application/problem+json", "Cache-Control: no-store",
            "Connection: close")
        .contains("\"detail\":\"the request did not arrive in time; it was not forwarded\"");
  }
}
