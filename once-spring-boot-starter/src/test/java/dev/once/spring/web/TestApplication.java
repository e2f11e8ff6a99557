package dev.once.spring.web;

import dev.once.spring.TestApplications;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Import;
import org.springframework.security.core.userdetails.UserDetailsService;
import org.springframework.security.provisioning.InMemoryUserDetailsManager;

/**
 * An application with the starter, Spring Security (HTTP Basic, anonymous requests allowed, so
 * keys of users and of anonymous clients can be compared), the actuator, and a store of its own
 * that tests can make fail.
 */
@SpringBootApplication
@Import({TestApplications.ServletSecurity.class, TestApplications.OwnStore.class})
public class TestApplication {

  @Bean
  UserDetailsService users() {
    return new InMemoryUserDetailsManager(TestApplications.aliceAndBob());
  }
}
