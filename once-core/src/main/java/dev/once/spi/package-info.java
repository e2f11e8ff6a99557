/**
 * The service-provider interface for people who write an idempotency store.
 *
 * <p>A store implements {@link dev.once.spi.IdempotencyStore}: three atomic operations on one record
 * per scoped key ({@code claim}, {@code complete}, {@code release}), each a single round trip on a
 * remote store. The record moves through these states:
 *
 * <pre>
 *   (absent) --claim--> IN_PROGRESS(token, fingerprint, leaseUntil)
 *   IN_PROGRESS --complete(token)--> COMPLETED(fingerprint, response, expiresAt = now + ttl)
 *   IN_PROGRESS --release(token)--> (absent)
 *   IN_PROGRESS --lease passes--> (absent)
 *   COMPLETED --ttl passes--> (absent)
 * </pre>
 *
 * <p>The engine turns each {@link dev.once.spi.Claim} into a decision (run the handler, replay, 409,
 * 422). A store proves it keeps this contract by running {@code IdempotencyStoreContract} from the
 * {@code once-core} test jar.
 */
package dev.once.spi;
