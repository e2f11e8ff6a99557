package dev.once.redis;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.Key;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A self-signed certificate for 127.0.0.1 and localhost, made by the JDK's own {@code keytool} (so
 * nothing needs installing), written as the PEM files redis-server reads.
 */
final class TestCertificate implements AutoCloseable {
  private static final String PASSWORD = "changeit";

  private final Path directory;

  private TestCertificate(Path directory) {
    this.directory = directory;
  }

  static TestCertificate create() {
    try {
      Path directory = Files.createTempDirectory("once-redis-tls");
      Path keystore = directory.resolve("server.p12");
      Path keytool = Path.of(System.getProperty("java.home"), "bin", "keytool");
      Process process = new ProcessBuilder(List.of(keytool.toString(), "-genkeypair",
          "-alias", "redis", "-keyalg", "RSA", "-keysize", "2048", "-validity", "2",
          "-dname", "CN=localhost", "-ext", "SAN=ip:127.0.0.1,dns:localhost",
          "-storetype", "PKCS12", "-keystore", keystore.toString(),
          "-storepass", PASSWORD, "-keypass", PASSWORD))
          .redirectErrorStream(true)
          .start();
      String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!process.waitFor(60, TimeUnit.SECONDS) || process.exitValue() != 0) {
        throw new IllegalStateException("keytool failed: " + output);
      }
      KeyStore store = KeyStore.getInstance("PKCS12");
      try (InputStream in = Files.newInputStream(keystore)) {
        store.load(in, PASSWORD.toCharArray());
      }
      Key key = store.getKey("redis", PASSWORD.toCharArray());
      Certificate certificate = store.getCertificate("redis");
      Files.writeString(directory.resolve("key.pem"), pem("PRIVATE KEY", key.getEncoded()));
      Files.writeString(directory.resolve("cert.pem"),
          pem("CERTIFICATE", certificate.getEncoded()));
      return new TestCertificate(directory);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  Path certificatePem() {
    return directory.resolve("cert.pem");
  }

  Path privateKeyPem() {
    return directory.resolve("key.pem");
  }

  private static String pem(String type, byte[] der) {
    return "-----BEGIN " + type + "-----\n"
        + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der)
        + "\n-----END " + type + "-----\n";
  }

  @Override
  public void close() {
    TestRedis.deleteRecursively(directory);
  }
}
