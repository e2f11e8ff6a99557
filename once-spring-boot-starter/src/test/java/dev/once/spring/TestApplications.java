package dev.once.spring;

import dev.once.MemoryStore;
import dev.once.testing.FailingStore;
import java.util.List;
import org.springframework.context.annotation.Bean;
import org.springframework.security.config.Customizer;
import org.springframework.security.config.annotation.web.builders.HttpSecurity;
import org.springframework.security.config.annotation.web.configurers.AbstractHttpConfigurer;
import org.springframework.security.core.userdetails.User;
import org.springframework.security.core.userdetails.UserDetails;
import org.springframework.security.web.SecurityFilterChain;

/**
 * What the test applications share. The nested classes are imported by the applications that want
 * them ({@code @Import}); none is a {@code @Configuration}, so no component scan picks one up.
 */
public final class TestApplications {
  private TestApplications() {}

  /**
   * @return alice and bob (passwords {@code alice-password} and {@code bob-password}), whose keys
   *     are scoped apart
   */
  public static List<UserDetails> aliceAndBob() {
    return List.of(
        User.withUsername("alice").password("{noop}alice-password").roles("USER").build(),
        User.withUsername("bob").password("{noop}bob-password").roles("USER").build());
  }

  /** A store of the application's own that tests can make fail. */
  public static class OwnStore {
    @Bean
    FailingStore idempotencyStore() {
      return new FailingStore(MemoryStore.create());
    }
  }

  /**
   * Spring Security in a servlet application: no CSRF tokens, every request allowed, HTTP Basic
   * for the clients that send it, so keys of users and of anonymous clients can be compared.
   */
  public static class ServletSecurity {
    @Bean
    SecurityFilterChain api(HttpSecurity http) throws Exception {
      return http.csrf(AbstractHttpConfigurer::disable)
          .authorizeHttpRequests(requests -> requests.anyRequest().permitAll())
          .httpBasic(Customizer.withDefaults())
          .build();
    }
  }
}
