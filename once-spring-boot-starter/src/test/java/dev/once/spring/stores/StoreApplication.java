package dev.once.spring.stores;

import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.context.annotation.Bean;
import org.springframework.http.HttpStatus;
import org.springframework.security.config.annotation.web.builders.HttpSecurity;
import org.springframework.security.config.annotation.web.configurers.AbstractHttpConfigurer;
import org.springframework.security.web.SecurityFilterChain;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.ResponseStatus;
import org.springframework.web.bind.annotation.RestController;

/**
 * An application with the starter and no store of its own: the store is the one the starter
 * configures from the application's Redis or database. Anonymous requests are allowed, so every
 * client shares the global key scope.
 */
@SpringBootApplication
public class StoreApplication {

  @Bean
  SecurityFilterChain api(HttpSecurity http) throws Exception {
    return http.csrf(AbstractHttpConfigurer::disable)
        .authorizeHttpRequests(requests -> requests.anyRequest().permitAll())
        .build();
  }

  /** One endpoint under the default URL patterns, counting its runs. */
  @RestController
  public static class ChargesController {
    final AtomicInteger charges = new AtomicInteger();

    @PostMapping("/charges")
    @ResponseStatus(HttpStatus.CREATED)
    Map<String, Object> charge(@RequestBody Map<String, Object> request) {
      return Map.of("charge", charges.incrementAndGet(), "amount", request.get("amount"));
    }
  }
}
