package dev.once.spring.reactive;

import dev.once.spring.TestApplications;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.reactor.netty.NettyReactiveWebServerFactory;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Import;
import org.springframework.security.config.Customizer;
import org.springframework.security.config.web.server.ServerHttpSecurity;
import org.springframework.security.core.userdetails.MapReactiveUserDetailsService;
import org.springframework.security.web.server.SecurityWebFilterChain;

/**
 * A WebFlux application with the starter, on Reactor Netty (the test class path also has Tomcat,
 * so the server factory is named), Spring Security's reactive filter chain (HTTP Basic, anonymous
 * requests allowed, so keys of users and of anonymous clients can be compared), and a store of its
 * own that tests can make fail.
 */
@SpringBootApplication
@Import(TestApplications.OwnStore.class)
public class ReactiveTestApplication {

  @Bean
  NettyReactiveWebServerFactory nettyServer() {
    return new NettyReactiveWebServerFactory();
  }

  @Bean
  SecurityWebFilterChain api(ServerHttpSecurity http) {
    return http.csrf(ServerHttpSecurity.CsrfSpec::disable)
        .authorizeExchange(exchanges -> exchanges.anyExchange().permitAll())
        .httpBasic(Customizer.withDefaults())
        .build();
  }

  @Bean
  MapReactiveUserDetailsService users() {
    return new MapReactiveUserDetailsService(TestApplications.aliceAndBob());
  }
}
