/**
 * The service-provider interface for people who write an idempotency store.
 *
 * <p>A store implements {@link dev.once.spi.IdempotencyStore}: four atomic operations on one record
 * per scoped key ({@code claim}, {@code renew}, {@code complete}, {@code release}), each a single
 * round trip on a remote store, each with a non-blocking form. The record moves through these
 * states:
 *
 * <pre>
 *   (absent) --claim--> IN_PROGRESS(token, fingerprint, leaseUntil)
 *   IN_PROGRESS --renew(token)--> IN_PROGRESS(leaseUntil = now + lease)
 *   IN_PROGRESS --complete(token)--> COMPLETED(fingerprint, response, expiresAt = now + ttl)
 *   IN_PROGRESS --release(token)--> (absent)
 *   IN_PROGRESS --lease passes--> (absent)
 *   COMPLETED --ttl passes--> (absent)
 * </pre>
 *
 * <p>{@code renew}, {@code complete} and {@code release} are fenced by the owner's token: a token
 * whose lease has passed, or whose record was released or taken over, changes nothing. A completed
 * record holds a response to replay, a marker that the response was too large to keep, or a
 * marker that the outcome is unknown (see {@link dev.once.StoredResponse}).
 *
 * <p>The engine turns each {@link dev.once.spi.Claim} into a decision (run the handler, replay,
 * 409,
 * 422). A store proves it keeps this contract by running {@code IdempotencyStoreContract} from the
 * {@code once-core} test jar.
 */
package dev.once.spi;
