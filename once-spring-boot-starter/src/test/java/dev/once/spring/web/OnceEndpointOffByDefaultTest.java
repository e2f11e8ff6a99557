package dev.once.spring.web;

import static org.assertj.core.api.Assertions.assertThat;

import dev.once.spring.AppClient;
import dev.once.spring.OnceEndpoint;
import dev.once.spring.OwnStoreApplicationTest;
import java.net.http.HttpRequest;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.ApplicationContext;

/**
 * The endpoint {@code once} can delete records, so like every such endpoint it is off until an
 * application turns it on: even exposed, without access it is neither made nor served.
 */
@OwnStoreApplicationTest(classes = TestApplication.class, properties = {
    "management.endpoints.web.exposure.include=*"})
class OnceEndpointOffByDefaultTest {
  @LocalServerPort
  int port;
  @Autowired
  ApplicationContext context;

  private final AppClient app = new AppClient(() -> port);

  @Test
  void theEndpointIsNeitherMadeNorServedWithoutAccess() throws Exception {
    assertThat(context.getBeansOfType(OnceEndpoint.class)).isEmpty();
    assertThat(app.get("/actuator/once/k1").statusCode()).isEqualTo(404);
    assertThat(app.send(HttpRequest.newBuilder(app.uri("/actuator/once/k1")).DELETE())
        .statusCode()).isEqualTo(404);
    assertThat(app.get("/actuator/health").statusCode()).isEqualTo(200);
  }
}
