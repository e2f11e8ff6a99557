package dev.once.webflux;

import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.springframework.core.ResolvableType;
import org.springframework.http.MediaType;
import org.springframework.http.codec.FormHttpMessageReader;
import org.springframework.http.codec.multipart.DefaultPartHttpMessageReader;
import org.springframework.http.codec.multipart.MultipartHttpMessageReader;
import org.springframework.http.codec.multipart.Part;
import org.springframework.http.server.reactive.ServerHttpRequest;
import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.util.LinkedMultiValueMap;
import org.springframework.util.MultiValueMap;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.ServerWebExchangeDecorator;
import reactor.core.publisher.Mono;

/**
 * The exchange the handler of a keyed request sees: its request serves the body the filter read,
 * its response is the one the filter keeps. Form data and multipart data are parsed from that body
 * too (the framework's own parse the request's original body, which the filter consumed), with
 * every part in memory, since the whole body already is.
 */
final class KeyedExchange extends ServerWebExchangeDecorator {
  private static final ResolvableType FORM =
      ResolvableType.forClassWithGenerics(MultiValueMap.class, String.class, String.class);
  private static final ResolvableType PARTS =
      ResolvableType.forClassWithGenerics(MultiValueMap.class, String.class, Part.class);
  private static final FormHttpMessageReader FORM_READER = formReader();
  private static final MultipartHttpMessageReader MULTIPART_READER = multipartReader();

  private final KeyedRequest request;
  private final ServerHttpResponse response;
  private final Mono<MultiValueMap<String, String>> formData;
  private final Mono<MultiValueMap<String, Part>> multipartData;

  KeyedExchange(ServerWebExchange exchange, KeyedRequest request, ServerHttpResponse response) {
    super(exchange);
    this.request = request;
    this.response = response;
    if (request.isBodyRead()) {
      MediaType type = contentType(request);
      formData = type != null && MediaType.APPLICATION_FORM_URLENCODED.isCompatibleWith(type)
          ? FORM_READER.readMono(FORM, request, Map.of())
              .switchIfEmpty(Mono.fromSupplier(LinkedMultiValueMap::new)).cache()
          : Mono.just(new LinkedMultiValueMap<>());
      multipartData = type != null && MediaType.MULTIPART_FORM_DATA.isCompatibleWith(type)
          ? MULTIPART_READER.readMono(PARTS, request, Map.of())
              .switchIfEmpty(Mono.fromSupplier(LinkedMultiValueMap::new)).cache()
          : Mono.just(new LinkedMultiValueMap<>());
    } else {
      formData = exchange.getFormData();
      multipartData = exchange.getMultipartData();
    }
  }

  @Override
  public ServerHttpRequest getRequest() {
    return request;
  }

  @Override
  public ServerHttpResponse getResponse() {
    return response;
  }

  @Override
  public Mono<MultiValueMap<String, String>> getFormData() {
    return formData;
  }

  @Override
  public Mono<MultiValueMap<String, Part>> getMultipartData() {
    return multipartData;
  }

  private static @Nullable MediaType contentType(ServerHttpRequest request) {
    try {
      return request.getHeaders().getContentType();
    } catch (RuntimeException e) {
      return null; // an invalid Content-Type is no form
    }
  }

  private static FormHttpMessageReader formReader() {
    FormHttpMessageReader reader = new FormHttpMessageReader();
    reader.setMaxInMemorySize(-1); // the body is in memory already, bounded by maxBodyBytes
    return reader;
  }

  private static MultipartHttpMessageReader multipartReader() {
    DefaultPartHttpMessageReader parts = new DefaultPartHttpMessageReader();
    parts.setMaxInMemorySize(-1); // every part in memory: no temporary file left to clean up
    return new MultipartHttpMessageReader(parts);
  }
}
