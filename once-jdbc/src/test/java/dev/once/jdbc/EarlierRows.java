package dev.once.jdbc;

import dev.once.Fingerprint;
import dev.once.StoredResponse;
import dev.once.StoredResponse.Header;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.List;

/**
 * The {@code headers} column as the versions before this one wrote it (formats 1 and 2, byte for
 * byte, from before the header list was encoded by core's {@code ResponseCodec}), and what it
 * holds, and the table they created. {@link HeaderCodecTest} reads the values and writes them
 * again; {@link JdbcStoreTest} reads rows that hold them through a store, and {@link SchemaTest}
 * upgrades the table: instances of both versions can share a table, and an upgrade loses no
 * record.
 */
final class EarlierRows {
  private static final HexFormat HEX = HexFormat.of();

  static final Fingerprint FINGERPRINT = Fingerprint.fromBytes(HEX.parseHex(
      "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"));
  static final StoredResponse CREATED = StoredResponse.of(201, List.of(
      new Header("X-Repeated", "one"), new Header("X-Repeated", ""),
      new Header("Location", "/\u00e9/\u4e16")), "{\"id\":1}".getBytes(StandardCharsets.UTF_8));
  static final StoredResponse NOT_KEPT =
      StoredResponse.notReplayable(200, List.of(new Header("X-A", "b")));

  /** Format 1: the headers of {@link #CREATED}. */
  static final byte[] CREATED_HEADERS = HEX.parseHex("01030a582d5265706561746564036f6e650a582d"
      + "526570656174656400084c6f636174696f6e072fc3a92fe4b896");
  /** Format 1: the headers of {@link #NOT_KEPT}. */
  static final byte[] NOT_KEPT_HEADERS = HEX.parseHex("010103582d410162");
  /** Format 1: no headers. */
  static final byte[] NO_HEADERS = HEX.parseHex("0100");
  /** Format 2: the marker of an unknown outcome. */
  static final byte[] OUTCOME_UNKNOWN_HEADERS = HEX.parseHex("020100");

  /** The DDL earlier versions shipped, before the table had {@code created_at}. */
  static final String TABLE_WITHOUT_CREATED_AT = """
      CREATE TABLE IF NOT EXISTS once_records (
        key         text        NOT NULL PRIMARY KEY,
        state       text        NOT NULL CHECK (state IN ('in_progress', 'completed')),
        token       uuid        NOT NULL,
        fingerprint bytea,
        status      smallint,
        headers     bytea,
        body        bytea,
        replayable  boolean,
        expires_at  timestamptz NOT NULL
      );
      CREATE INDEX IF NOT EXISTS once_records_expires_at ON once_records (expires_at);
      """;

  private EarlierRows() {}
}
